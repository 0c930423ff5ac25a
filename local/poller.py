"""A stand-in for Lambda's SQS poller: what an SQS event source mapping does, minus the Lambda runtime.

moto cannot run Lambda code without Docker, so this plays the mapping: receive up to the mapping's batch
size, build the event exactly as Lambda does (`Records` with messageId, receiptHandle, body, attributes,
messageAttributes, md5OfBody, eventSource, eventSourceARN, awsRegion), call the handler, delete what
succeeded and hand back what failed. "Hand back" makes the message visible again at once instead of after
the queue's visibility timeout, so SQS's redrive to the DLQ after maxReceiveCount happens in seconds, just
as it would in AWS after the timeouts elapse (moto moves a message on the receive after its last allowed one).

Partial batch responses follow the Lambda rules for `ReportBatchItemFailures`: listed ids fail, the rest
succeed; a raised exception, an unparseable response or an id that is not in the batch fails the whole batch.
Without `ReportBatchItemFailures` only an exception fails the batch.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

SqsBatchHandler = Callable[[dict[str, Any], Any], Any]

# Lambda's poller receives every system and message attribute and passes them on in each record.
ALL_ATTRIBUTES = ["All"]
SQS_MAX_RECEIVE = 10  # ReceiveMessage's cap; larger batch sizes take several receives


@dataclass(frozen=True)
class EventSourceMapping:
    """The parts of an SQS event source mapping the poller honours."""

    queue_url: str
    queue_arn: str
    batch_size: int
    report_batch_item_failures: bool


@dataclass(frozen=True)
class LambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_seconds: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local/poller"
    started_at: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        elapsed = time.monotonic() - self.started_at
        return max(0, int((self.timeout_seconds - elapsed) * 1000))


@dataclass
class PollReport:
    """What the poller did, summed over every invocation."""

    invocations: int = 0
    records: int = 0
    succeeded: int = 0
    failed: int = 0  # records handed back to the queue (to be retried, or redriven to the DLQ)
    handler_errors: list[str] = field(default_factory=list)  # exceptions that failed a whole batch


class QueueNotDrained(RuntimeError):
    """The deadline passed with messages still in the queue."""


class SqsPoller:
    """Receives, invokes and acknowledges for one mapping; `drain` runs until the queue is empty."""

    def __init__(
        self,
        *,
        sqs_client: Any,
        mapping: EventSourceMapping,
        handler: SqsBatchHandler,
        context_factory: Callable[[], Any],
        region: str,
    ) -> None:
        self._sqs = sqs_client
        self._mapping = mapping
        self.mapping = mapping
        self._handler = handler
        self._context_factory = context_factory
        self._region = region
        self.report = PollReport()

    def poll_once(self) -> int:
        """One receive-invoke-acknowledge round; returns how many records the handler got (0: none visible)."""
        messages = self._receive_batch()
        if not messages:
            return 0
        event = {"Records": [self._record(message) for message in messages]}
        failed_ids = self._invoke(event)
        for message in messages:
            if message["MessageId"] in failed_ids:
                self._sqs.change_message_visibility(
                    QueueUrl=self._mapping.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
            else:
                self._sqs.delete_message(QueueUrl=self._mapping.queue_url, ReceiptHandle=message["ReceiptHandle"])
        self.report.invocations += 1
        self.report.records += len(messages)
        self.report.failed += len(failed_ids)
        self.report.succeeded += len(messages) - len(failed_ids)
        return len(messages)

    def drain(self, *, deadline_seconds: float = 60.0) -> PollReport:
        """Poll until no message is visible or in flight; raise QueueNotDrained after the deadline.

        Returns what this drain did (a fresh report per call)."""
        self.report = PollReport()
        deadline = time.monotonic() + deadline_seconds
        while time.monotonic() < deadline:
            if self.poll_once() == 0 and self._queue_is_empty():
                return self.report
        raise QueueNotDrained(
            f"{self._mapping.queue_url} still has messages after {deadline_seconds}s; so far: {self.report}"
        )

    def _queue_is_empty(self) -> bool:
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=self._mapping.queue_url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        return all(int(count) == 0 for count in attributes.values())

    def _receive_batch(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        while len(messages) < self._mapping.batch_size:
            received = self._sqs.receive_message(
                QueueUrl=self._mapping.queue_url,
                MaxNumberOfMessages=min(SQS_MAX_RECEIVE, self._mapping.batch_size - len(messages)),
                MessageSystemAttributeNames=ALL_ATTRIBUTES,
                MessageAttributeNames=ALL_ATTRIBUTES,
                WaitTimeSeconds=0,
            ).get("Messages", [])
            if not received:
                break
            messages.extend(received)
        return messages

    def _record(self, message: Mapping[str, Any]) -> dict[str, Any]:
        """One record of the event, in the shape Lambda gives it to the function."""
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": dict(message.get("Attributes", {})),
            "messageAttributes": {
                name: _lambda_message_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": self._mapping.queue_arn,
            "awsRegion": self._region,
        }

    def _invoke(self, event: dict[str, Any]) -> set[str]:
        """Call the handler; return the message ids that failed."""
        batch_ids = {record["messageId"] for record in event["Records"]}
        try:
            response = self._handler(event, self._context_factory())
        except Exception as error:  # the whole batch fails, as in Lambda; keep the reason for the report
            self.report.handler_errors.append(f"{type(error).__name__}: {error}")
            return batch_ids
        if not self._mapping.report_batch_item_failures:
            return set()
        return _failed_ids(response, batch_ids)


def _failed_ids(response: Any, batch_ids: set[str]) -> set[str]:
    """Lambda's reading of a partial batch response: anything it cannot trust fails the whole batch."""
    if response is None:
        return set()
    if not isinstance(response, Mapping):
        return batch_ids
    failures = response.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return batch_ids
    failed: set[str] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if not identifier or identifier not in batch_ids:
            return batch_ids
        failed.add(identifier)
    return failed


def _lambda_message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    """SQS API attribute (StringValue, DataType) -> Lambda event attribute (stringValue, dataType)."""
    return {
        "stringValue": value.get("StringValue"),
        "binaryValue": value.get("BinaryValue"),
        "stringListValues": list(value.get("StringListValues", [])),
        "binaryListValues": list(value.get("BinaryListValues", [])),
        "dataType": value["DataType"],
    }
