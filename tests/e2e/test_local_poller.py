"""The e2e results are only as good as the poller's imitation of Lambda's SQS event source mapping."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.poller import EventSourceMapping, LambdaContext, SqsPoller

MAX_RECEIVE_COUNT = 3
LAMBDA_RECORD_KEYS = {
    "messageId",
    "receiptHandle",
    "body",
    "attributes",
    "messageAttributes",
    "md5OfBody",
    "eventSource",
    "eventSourceARN",
    "awsRegion",
}


@pytest.fixture
def sqs() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sqs")


@pytest.fixture
def queues(sqs: Any) -> dict[str, str]:
    dead_letters = sqs.create_queue(QueueName="dead-letters")["QueueUrl"]
    dead_letters_arn = sqs.get_queue_attributes(QueueUrl=dead_letters, AttributeNames=["QueueArn"])["Attributes"]
    redrive = {"deadLetterTargetArn": dead_letters_arn["QueueArn"], "maxReceiveCount": MAX_RECEIVE_COUNT}
    ingest = sqs.create_queue(QueueName="ingest", Attributes={"RedrivePolicy": json.dumps(redrive)})["QueueUrl"]
    return {"ingest": ingest, "dead_letters": dead_letters}


def make_poller(sqs: Any, queue_url: str, handler: Any, *, batch_size: int = 10) -> SqsPoller:
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return SqsPoller(
        sqs_client=sqs,
        mapping=EventSourceMapping(
            queue_url=queue_url, queue_arn=arn, batch_size=batch_size, report_batch_item_failures=True
        ),
        handler=handler,
        context_factory=lambda: LambdaContext(
            function_name="fn",
            invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:fn",
            memory_limit_in_mb=128,
            timeout_seconds=60,
        ),
        region="us-east-1",
    )


def visible_bodies(sqs: Any, queue_url: str) -> list[str]:
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return sorted(message["Body"] for message in messages)


def test_listed_failures_go_back_to_the_queue_and_the_rest_is_deleted(sqs: Any, queues: dict[str, str]) -> None:
    # GIVEN three messages and a handler that reports the "bad" one as failed
    for body in ("good-1", "bad", "good-2"):
        sqs.send_message(QueueUrl=queues["ingest"], MessageBody=body)
    events: list[dict[str, Any]] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        events.append(event)
        failed = [record["messageId"] for record in event["Records"] if record["body"] == "bad"]
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}

    # WHEN one batch is polled
    delivered = make_poller(sqs, queues["ingest"], handler).poll_once()

    # THEN the handler got a Lambda-shaped event, and only the failed message is visible again
    assert delivered == 3
    record = events[0]["Records"][0]
    assert set(record) == LAMBDA_RECORD_KEYS
    assert (record["eventSource"], record["awsRegion"], record["attributes"]["ApproximateReceiveCount"]) == (
        "aws:sqs",
        "us-east-1",
        "1",
    )
    assert visible_bodies(sqs, queues["ingest"]) == ["bad"]


def test_an_unknown_item_identifier_fails_the_whole_batch(sqs: Any, queues: dict[str, str]) -> None:
    # GIVEN a handler whose partial response names a message that is not in the batch
    for body in ("one", "two"):
        sqs.send_message(QueueUrl=queues["ingest"], MessageBody=body)

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]}

    # WHEN one batch is polled
    make_poller(sqs, queues["ingest"], handler).poll_once()

    # THEN Lambda's rule applies: the response cannot be trusted, every record is retried
    assert visible_bodies(sqs, queues["ingest"]) == ["one", "two"]


def test_a_handler_that_always_raises_ends_in_the_dead_letter_queue(sqs: Any, queues: dict[str, str]) -> None:
    # GIVEN a message and a handler that always raises
    sqs.send_message(QueueUrl=queues["ingest"], MessageBody="poison")
    calls: list[str] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        calls.append(event["Records"][0]["attributes"]["ApproximateReceiveCount"])
        raise RuntimeError("boom")

    # WHEN the queue is drained
    report = make_poller(sqs, queues["ingest"], handler).drain(deadline_seconds=30)

    # THEN it was delivered maxReceiveCount times, then redriven to the DLQ with its body intact
    assert calls == [str(count) for count in range(1, MAX_RECEIVE_COUNT + 1)]
    assert (report.failed, len(report.handler_errors)) == (MAX_RECEIVE_COUNT, MAX_RECEIVE_COUNT)
    assert visible_bodies(sqs, queues["dead_letters"]) == ["poison"]
