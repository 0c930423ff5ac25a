"""`thumbnails redrive`: move dead-lettered messages back to where they can be processed again.

- ingest DLQ -> ingest queue, backfill DLQ -> backfill queue: SQS's own message-move task (StartMessageMoveTask,
  progress from ListMessageMoveTasks) where the service offers it; moto does not, so there (and if the task
  cannot be started because the API is missing) the messages are copied instead.
- events DLQ -> ingest queue: always copied. It holds EventBridge deliveries that never reached the ingest queue;
  a move task only returns messages to the queue they were dead-lettered from, and this one has none.

Copying is receive -> SendMessageBatch -> delete of exactly the entries SQS confirmed as sent: a message is
never deleted before its copy exists. A crash in between leaves a duplicate, which the function tolerates
(every write is conditional and idempotent); never a loss.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from .aws import Deployment

# --queue value -> (the DLQ's output, the destination queue's output, may a move task do it)
ROUTES = {
    "ingest": ("IngestDeadLetterQueueUrl", "IngestQueueUrl", True),
    "events": ("EventsDeadLetterQueueUrl", "IngestQueueUrl", False),
    "backfill": ("BackfillDeadLetterQueueUrl", "BackfillQueueUrl", True),
}
RECEIVE_VISIBILITY_SECONDS = 120  # what is received but not yet copied reappears after this
MOVE_TASK_POLL_SECONDS = 2.0
UNSUPPORTED_CODES = frozenset({"NotImplemented", "UnsupportedOperation", "InvalidAction", "UnknownOperationException"})


@dataclass
class RedriveResult:
    queue: str
    method: str  # "move-task" | "copy" | "none"
    found: int = 0
    moved: int = 0
    failed: int = 0
    task_handle: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "found": self.found,
            "moved": self.moved,
            "failed": self.failed,
            "taskHandle": self.task_handle,
            "notes": self.notes,
        }


def queue_url(deployment: Deployment, output: str) -> str:
    return deployment.output(output)


def approximate_count(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    return int(attributes.get("ApproximateNumberOfMessages", 0))


def queue_arn(sqs: Any, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def redrive(
    deployment: Deployment,
    name: str,
    *,
    method: str = "auto",
    on_moved: Callable[[int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> RedriveResult:
    """Move what the named DLQ holds back to its destination; counts in the result."""
    dead_letter_output, destination_output, move_task_allowed = ROUTES[name]
    sqs = deployment.client("sqs")
    source = queue_url(deployment, dead_letter_output)
    destination = queue_url(deployment, destination_output)
    result = RedriveResult(queue=name, method="none", found=approximate_count(sqs, source))
    if result.found == 0:
        return result
    if method in ("auto", "move-task") and move_task_allowed:
        try:
            return _move_task(sqs, source, destination, result, on_moved=on_moved, sleep=sleep)
        except NotImplementedError:
            if method == "move-task":
                raise
            result.notes.append("StartMessageMoveTask is not available here; copied instead")
        except ClientError as error:
            if method == "move-task" or error.response.get("Error", {}).get("Code") not in UNSUPPORTED_CODES:
                raise
            result.notes.append("StartMessageMoveTask is not available here; copied instead")
    return _copy(sqs, source, destination, result, on_moved=on_moved)


def _move_task(
    sqs: Any,
    source: str,
    destination: str,
    result: RedriveResult,
    *,
    on_moved: Callable[[int], None] | None,
    sleep: Callable[[float], None],
) -> RedriveResult:
    source_arn = queue_arn(sqs, source)
    started = sqs.start_message_move_task(SourceArn=source_arn, DestinationArn=queue_arn(sqs, destination))
    result.method = "move-task"
    result.task_handle = started["TaskHandle"]
    reported = 0
    while True:
        tasks = sqs.list_message_move_tasks(SourceArn=source_arn, MaxResults=1).get("Results", [])
        task = tasks[0] if tasks else {}
        moved = int(task.get("ApproximateNumberOfMessagesMoved", 0))
        if on_moved is not None and moved > reported:
            on_moved(moved - reported)
        reported = max(reported, moved)
        status = task.get("Status", "COMPLETED")
        if status not in ("RUNNING", "CANCELLING"):
            result.moved = moved
            if status != "COMPLETED":
                result.failed = max(0, result.found - moved)
                result.notes.append(f"move task ended {status}: {task.get('FailureReason', 'no reason given')}")
            return result
        sleep(MOVE_TASK_POLL_SECONDS)


def _copy(
    sqs: Any, source: str, destination: str, result: RedriveResult, *, on_moved: Callable[[int], None] | None
) -> RedriveResult:
    result.method = "copy"
    while True:
        messages = sqs.receive_message(
            QueueUrl=source,
            MaxNumberOfMessages=10,
            VisibilityTimeout=RECEIVE_VISIBILITY_SECONDS,
            WaitTimeSeconds=0,
        ).get("Messages", [])
        if not messages:
            return result
        by_id = {str(index): message for index, message in enumerate(messages)}
        response = sqs.send_message_batch(
            QueueUrl=destination,
            Entries=[{"Id": entry_id, "MessageBody": message["Body"]} for entry_id, message in by_id.items()],
        )
        sent = [entry["Id"] for entry in response.get("Successful", [])]
        result.failed += len(response.get("Failed", []))
        if sent:
            deleted = sqs.delete_message_batch(
                QueueUrl=source,
                Entries=[{"Id": entry_id, "ReceiptHandle": by_id[entry_id]["ReceiptHandle"]} for entry_id in sent],
            )
            # A copy whose original could not be deleted is a duplicate later, never a loss; say so.
            undeleted = len(deleted.get("Failed", []))
            if undeleted:
                result.notes.append(f"{undeleted} message(s) copied but not deleted: they will be copied again")
        result.moved += len(sent)
        if on_moved is not None:
            on_moved(len(sent))
        if response.get("Failed"):
            # Stop rather than spin: what failed to send stays in the DLQ (visible again after the timeout).
            result.notes.append("SQS refused some copies; they stay in the dead-letter queue")
            return result
