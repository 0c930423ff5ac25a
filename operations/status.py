"""`thumbnails status`: queues, manifests by status, stale sets, originals without a manifest, drain time."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from thumbnailer.manifest import COMPLETE, DELETED, REJECTED

from .aws import Deployment
from .deployed import DeployedFunction, list_keys, manifest_original

# Which stack output holds each queue, by the name status and redrive use.
QUEUE_OUTPUTS = {
    "ingest": "IngestQueueUrl",
    "backfill": "BackfillQueueUrl",
    "ingestDlq": "IngestDeadLetterQueueUrl",
    "eventsDlq": "EventsDeadLetterQueueUrl",
    "backfillDlq": "BackfillDeadLetterQueueUrl",
}
# An assumption, for the drain estimate only: one image through one instance, S3 calls included (README,
# Performance: 30-335 ms of CPU per image for the default presets, plus one GET and five PUTs).
DEFAULT_SECONDS_PER_IMAGE = 0.5
READ_THREADS = 16

Progress = Callable[[str, int], None]  # (phase, items done since the last call)


def queue_depths(deployment: Deployment) -> dict[str, dict[str, Any]]:
    sqs = deployment.client("sqs")
    cloudwatch = deployment.client("cloudwatch")
    depths: dict[str, dict[str, Any]] = {}
    for name, output in QUEUE_OUTPUTS.items():
        url = deployment.outputs.get(output)
        if not url:
            continue
        attributes = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=[
                "QueueArn",
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        depths[name] = {
            "url": url,
            "arn": attributes["QueueArn"],
            "visible": int(attributes.get("ApproximateNumberOfMessages", 0)),
            "inFlight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
            "delayed": int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
            "oldestAgeSeconds": _oldest_age(cloudwatch, url.rsplit("/", 1)[-1]),
        }
    return depths


def _oldest_age(cloudwatch: Any, queue_name: str) -> float | None:
    """SQS publishes the age of the oldest message to CloudWatch only (every minute); None when no datapoint."""
    now = datetime.now(UTC)
    datapoints = cloudwatch.get_metric_statistics(
        Namespace="AWS/SQS",
        MetricName="ApproximateAgeOfOldestMessage",
        Dimensions=[{"Name": "QueueName", "Value": queue_name}],
        StartTime=now - timedelta(minutes=10),
        EndTime=now,
        Period=60,
        Statistics=["Maximum"],
    ).get("Datapoints", [])
    if not datapoints:
        return None
    return float(max(datapoints, key=lambda point: point["Timestamp"])["Maximum"])


def read_manifest(s3: Any, bucket: str, key: str) -> dict[str, Any]:
    try:
        document = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except s3.exceptions.NoSuchKey:
        return {}
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def collect_status(
    deployment: Deployment,
    *,
    prefix: str = "",
    seconds_per_image: float = DEFAULT_SECONDS_PER_IMAGE,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Everything `status` reports, as the JSON document `--json` prints."""
    progress = progress or (lambda phase, done: None)
    function = DeployedFunction.read(deployment)
    s3 = deployment.client("s3")
    originals_bucket = deployment.output("OriginalsBucketName")
    thumbnails_bucket = deployment.output("ThumbnailsBucketName")

    originals = [
        key
        for key in list_keys(s3, originals_bucket, prefix, on_page=lambda count: progress("originals", count))
        if function.settings.config.accepts_key(key)
    ]
    manifest_keys = {
        original: key
        for key in list_keys(s3, thumbnails_bucket, prefix, on_page=lambda count: progress("thumbnails", count))
        if (original := manifest_original(key)) is not None
    }
    statuses: Counter[str] = Counter()
    stale = 0

    def read(key: str) -> dict[str, Any]:
        return read_manifest(s3, thumbnails_bucket, key)

    with ThreadPoolExecutor(max_workers=READ_THREADS) as pool:
        for document in pool.map(read, manifest_keys.values()):
            status = document.get("status")
            statuses[status if status in (COMPLETE, REJECTED, DELETED) else "unreadable"] += 1
            if status == COMPLETE and document.get("fingerprint") != function.fingerprint:
                stale += 1
            progress("manifests", 1)

    queues = queue_depths(deployment)
    missing = sum(1 for key in originals if key not in manifest_keys)
    return {
        "stack": deployment.stack_name,
        "prefix": prefix,
        "fingerprint": function.fingerprint,
        "queues": queues,
        "manifests": {
            "total": len(manifest_keys),
            "complete": statuses[COMPLETE],
            "rejected": statuses[REJECTED],
            "deleted": statuses[DELETED],
            "unreadable": statuses["unreadable"],
            "stale": stale,
        },
        "originals": {"total": len(originals), "missing": missing},
        "drain": drain_estimate(queues, function, seconds_per_image),
    }


def drain_estimate(
    queues: dict[str, dict[str, Any]], function: DeployedFunction, seconds_per_image: float
) -> dict[str, Any]:
    """Seconds to empty the ingest and backfill queues at each mapping's maximum concurrency."""
    estimate: dict[str, Any] = {"secondsPerImage": seconds_per_image}
    for name in ("ingest", "backfill"):
        queue = queues.get(name)
        if queue is None:
            continue
        concurrency = function.concurrency.get(queue["arn"])
        waiting = queue["visible"] + queue["inFlight"] + queue["delayed"]
        estimate[name] = {
            "messages": waiting,
            "maxConcurrency": concurrency,
            "seconds": None if not concurrency else round(waiting * seconds_per_image / concurrency, 1),
        }
    return estimate
