"""Downstream events through the deployed template: a consumer's rule on the pipeline's bus receives one event per
manifest written, and a publish that fails is retried until it succeeds.

The consumer is what the README shows: a rule on the bus named by the `EventBusName` output, matching the
pipeline's source and its three detail types, with an SQS queue as its target.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from moto import mock_aws

from local.moto_cloud import StackAssembly
from local.pipeline import LocalPipeline
from local.samples import NOT_AN_IMAGE, landscape_photo
from tests.e2e.test_pipeline_e2e import assert_clean_run, delete_every_version
from tests.queues import take_json_bodies
from thumbnailer.contract import DETAIL_TYPES, EVENT_SOURCE

pytestmark = pytest.mark.slow

# What the README tells a consumer to match.
CONSUMER_PATTERN = {"source": [EVENT_SOURCE], "detail-type": sorted(DETAIL_TYPES.values())}


@dataclass
class Consumer:
    """A rule on the pipeline's bus sending every matching event to an SQS queue."""

    sqs: Any
    queue_url: str

    def events(self) -> list[dict[str, Any]]:
        """Every event delivered so far, taken off the queue."""
        return take_json_bodies(self.sqs, self.queue_url)


def subscribe(pipeline: LocalPipeline, name: str) -> Consumer:
    sqs = pipeline.session.client("sqs")
    events = pipeline.session.client("events")
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=name, EventBusName=pipeline.event_bus, EventPattern=json.dumps(CONSUMER_PATTERN))
    events.put_targets(Rule=name, EventBusName=pipeline.event_bus, Targets=[{"Id": name, "Arn": queue_arn}])
    return Consumer(sqs=sqs, queue_url=queue_url)


@pytest.fixture(scope="module")
def pipeline(pipeline_assembly: StackAssembly) -> Iterator[LocalPipeline]:
    with mock_aws():
        yield LocalPipeline.deploy(pipeline_assembly, session=boto3.Session())


@pytest.fixture(scope="module")
def consumer(pipeline: LocalPipeline) -> Consumer:
    return subscribe(pipeline, "thumbnail-consumer")


def the_detail_is_the_manifest(pipeline: LocalPipeline, event: dict[str, Any], key: str) -> None:
    detail = dict(event["detail"])
    assert (detail.pop("thumbnailsBucket"), detail.pop("manifestKey")) == (
        pipeline.thumbnails_bucket,
        f"{key}/manifest.json",
    )
    assert detail == pipeline.manifest(key)


def test_an_image_is_announced_as_ready_with_its_manifest(pipeline: LocalPipeline, consumer: Consumer) -> None:
    # GIVEN a consumer's rule on the pipeline's bus, and an uploaded photo
    key = "ready/photo.jpg"
    pipeline.upload(key, landscape_photo(width=640, height=480))

    # WHEN the pipeline runs
    assert_clean_run(pipeline, pipeline.run())

    # THEN the consumer received one "Thumbnails Ready" event carrying the manifest as written
    (event,) = consumer.events()
    assert (event["source"], event["detail-type"]) == (EVENT_SOURCE, "Thumbnails Ready")
    the_detail_is_the_manifest(pipeline, event, key)
    assert event["detail"]["status"] == "complete"


def test_a_non_image_is_announced_as_rejected(pipeline: LocalPipeline, consumer: Consumer) -> None:
    key = "rejected/notes.jpg"
    pipeline.upload(key, NOT_AN_IMAGE)

    assert_clean_run(pipeline, pipeline.run())

    (event,) = consumer.events()
    assert event["detail-type"] == "Thumbnails Rejected"
    the_detail_is_the_manifest(pipeline, event, key)
    assert event["detail"]["reason"] == "not_an_image"


def test_a_deleted_original_is_announced_as_removed(pipeline: LocalPipeline, consumer: Consumer) -> None:
    # GIVEN a processed original
    key = "removed/photo.jpg"
    pipeline.upload(key, landscape_photo(width=320, height=240))
    assert_clean_run(pipeline, pipeline.run())
    consumer.events()

    # WHEN it is deleted for good and the pipeline runs
    delete_every_version(pipeline, key)
    assert_clean_run(pipeline, pipeline.run())

    # THEN "Thumbnails Removed" carries the tombstone
    (event,) = consumer.events()
    assert event["detail-type"] == "Thumbnails Removed"
    the_detail_is_the_manifest(pipeline, event, key)
    assert event["detail"]["status"] == "deleted"


class _RawBody(io.BytesIO):
    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.getvalue()


@dataclass
class FailedEntries:
    """Answers the first `times` PutEvents with HTTP 200 and FailedEntryCount 1, as EventBridge may.

    The request is pointed at a host moto does not serve first, so moto does not deliver it anyway: the entry
    really failed."""

    times: int
    answered: int = 0

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
        if self.answered >= self.times:
            return None
        self.answered += 1
        request.url = "https://injected-fault.invalid/"
        body = {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "injected"}]}
        return AWSResponse(
            request.url, 200, {"Content-Type": "application/x-amz-json-1.1"}, _RawBody(json.dumps(body).encode())
        )


def test_a_failed_publish_leaves_the_record_to_be_retried_and_the_retry_announces(
    pipeline: LocalPipeline, consumer: Consumer
) -> None:
    # GIVEN EventBridge fails the function's first entry (a 200 answer with FailedEntryCount 1)
    key = "retried/photo.jpg"
    fault = FailedEntries(times=1)
    pipeline.function_events.meta.events.register_first("before-send.events.PutEvents", fault)
    try:
        pipeline.upload(key, landscape_photo(width=320, height=240))

        # WHEN the pipeline runs
        report = pipeline.run()
    finally:
        pipeline.function_events.meta.events.unregister("before-send.events.PutEvents", fault)

    # THEN the record failed once and was received again (not acknowledged), and its retry announced the set
    assert fault.answered == 1
    assert (report.records, report.failed, report.succeeded) == (2, 1, 1)
    (event,) = consumer.events()
    assert event["detail-type"] == "Thumbnails Ready"
    the_detail_is_the_manifest(pipeline, event, key)
    assert pipeline.queue_messages("IngestDeadLetterQueueUrl") == []
