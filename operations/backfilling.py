"""`thumbnails backfill`: list what a backfill covers, then start (or resume) the state machine and follow its map
run, or, with --local, enqueue the same messages from this machine."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from thumbnailer.backfill import BackfillMode, backfill_message

from .aws import Deployment
from .deployed import DeployedFunction, list_keys

SQS_BATCH = 10
SEND_ATTEMPTS = 3
SEND_THREADS = 8  # SendMessageBatch calls in flight: SQS takes them in parallel
POLL_SECONDS = 5.0
REDRIVABLE = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})


@dataclass(frozen=True)
class Listing:
    listed: int  # every key under the prefix (what the state machine sends)
    accepted: list[str]  # those the deployed key filter accepts (what --local sends)


def list_originals(
    deployment: Deployment, function: DeployedFunction, prefix: str, *, on_page: Callable[[int], None] | None = None
) -> Listing:
    s3 = deployment.client("s3")
    listed = 0
    accepted = []
    for key in list_keys(s3, deployment.output("OriginalsBucketName"), prefix, on_page=on_page):
        listed += 1
        if function.settings.config.accepts_key(key):
            accepted.append(key)
    return Listing(listed=listed, accepted=accepted)


@dataclass
class LocalResult:
    sent: int = 0
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return round(self.sent / self.seconds, 1) if self.seconds else 0.0


def enqueue_local(
    deployment: Deployment,
    keys: Sequence[str],
    mode: BackfillMode,
    *,
    on_sent: Callable[[int], None] | None = None,
    threads: int = SEND_THREADS,
) -> LocalResult:
    """Send one backfill message per key to the backfill queue, in batches of 10 (several batches in flight);
    entries SQS reports as failed are sent again (up to SEND_ATTEMPTS), and the keys still failing are returned.
    Re-running is safe: the function skips what is already done."""
    sqs = deployment.client("sqs")
    queue_url = deployment.output("BackfillQueueUrl")
    bucket = deployment.output("OriginalsBucketName")

    def send(batch: Sequence[str]) -> tuple[int, list[str]]:
        pending = {str(index): key for index, key in enumerate(batch)}
        sent_total = 0
        for _ in range(SEND_ATTEMPTS):
            entries = [
                {"Id": entry_id, "MessageBody": backfill_message(bucket=bucket, key=key, mode=mode)}
                for entry_id, key in pending.items()
            ]
            response = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
            sent = {entry["Id"] for entry in response.get("Successful", [])}
            sent_total += len(sent)
            if on_sent is not None:
                on_sent(len(sent))
            pending = {entry_id: key for entry_id, key in pending.items() if entry_id not in sent}
            if not pending:
                break
        return sent_total, list(pending.values())

    result = LocalResult()
    started = time.perf_counter()
    batches = [keys[start : start + SQS_BATCH] for start in range(0, len(keys), SQS_BATCH)]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for sent, failed in pool.map(send, batches):
            result.sent += sent
            result.failed.extend(failed)
    result.seconds = time.perf_counter() - started
    return result


def execution_input(prefix: str, mode: BackfillMode, inventory_manifest_key: str | None) -> dict[str, Any]:
    document: dict[str, Any] = {"mode": str(mode), "prefix": prefix}
    if inventory_manifest_key:
        document["inventory"] = {"manifestKey": inventory_manifest_key}
    return document


def start_or_resume(deployment: Deployment, document: dict[str, Any]) -> tuple[str, str]:
    """(execution ARN, what was done: "attached" | "redriven" | "started").

    Re-running the same backfill resumes it: a running execution with the same input is followed, a failed one is
    redriven (Step Functions re-runs only the failed child executions of its map run), else a new one starts."""
    stepfunctions = deployment.client("stepfunctions")
    machine = deployment.output("BackfillStateMachineArn")
    latest = _latest_with_input(stepfunctions, machine, document)
    if latest is not None and latest["status"] == "RUNNING":
        return latest["executionArn"], "attached"
    if latest is not None and latest["status"] in REDRIVABLE:
        try:
            stepfunctions.redrive_execution(executionArn=latest["executionArn"])
        except (ClientError, NotImplementedError):
            # Not redrivable (older than 14 days, or not a redrivable failure): a new run, which skips done items.
            return _start(stepfunctions, machine, document), "started"
        return latest["executionArn"], "redriven"
    return _start(stepfunctions, machine, document), "started"


def _start(stepfunctions: Any, machine: str, document: dict[str, Any]) -> str:
    return str(stepfunctions.start_execution(stateMachineArn=machine, input=json.dumps(document))["executionArn"])


def _latest_with_input(stepfunctions: Any, machine: str, document: dict[str, Any]) -> dict[str, Any] | None:
    executions = stepfunctions.list_executions(stateMachineArn=machine, maxResults=20).get("executions", [])
    for execution in sorted(executions, key=lambda item: item["startDate"], reverse=True):
        described = stepfunctions.describe_execution(executionArn=execution["executionArn"])
        try:
            same = json.loads(described.get("input", "{}")) == document
        except ValueError:
            same = False
        if same:
            return {"executionArn": execution["executionArn"], "status": described["status"]}
    return None


@dataclass
class MapRunProgress:
    status: str  # the execution's
    total: int = 0
    succeeded: int = 0
    failed: int = 0
    pending: int = 0
    running: int = 0
    map_run_arn: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "mapRunArn": self.map_run_arn,
            "items": {
                "total": self.total,
                "succeeded": self.succeeded,
                "failed": self.failed,
                "pending": self.pending,
                "running": self.running,
            },
        }


def map_run_progress(deployment: Deployment, execution_arn: str) -> MapRunProgress:
    """The execution's status and its (latest) map run's item counts."""
    stepfunctions = deployment.client("stepfunctions")
    status = stepfunctions.describe_execution(executionArn=execution_arn)["status"]
    progress = MapRunProgress(status=status)
    runs = stepfunctions.list_map_runs(executionArn=execution_arn).get("mapRuns", [])
    if runs:
        run = max(runs, key=lambda item: item["startDate"])
        counts = stepfunctions.describe_map_run(mapRunArn=run["mapRunArn"])["itemCounts"]
        progress.map_run_arn = run["mapRunArn"]
        progress.total = counts.get("total", 0)
        progress.succeeded = counts.get("succeeded", 0)
        progress.failed = counts.get("failed", 0) + counts.get("timedOut", 0) + counts.get("aborted", 0)
        progress.pending = counts.get("pending", 0)
        progress.running = counts.get("running", 0)
    return progress


def follow(
    deployment: Deployment,
    execution_arn: str,
    *,
    on_progress: Callable[[MapRunProgress], None],
    poll_seconds: float = POLL_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> MapRunProgress:
    """Poll until the execution ends, reporting each observation."""
    while True:
        progress = map_run_progress(deployment, execution_arn)
        on_progress(progress)
        if progress.status != "RUNNING":
            return progress
        sleep(poll_seconds)
