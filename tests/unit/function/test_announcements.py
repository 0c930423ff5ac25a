"""What the service announces once its work is done, against moto S3, EventBridge, SQS and CloudFront.

One event per manifest written, on the configured bus, after the work (a deletion's after its thumbnails are
gone); none for a skipped record; a failed publish is transient, so the retry announces again. With a CDN, a
set that replaces a complete set is invalidated first.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tests.builders import (
    ORIGINALS_BUCKET,
    THUMBNAILS_BUCKET,
    function_settings,
    image_bytes,
    lambda_context,
    object_created_body,
    object_deleted_body,
    sqs_event,
    sqs_record,
)
from tests.queues import take_json_bodies
from thumbnailer import handler
from thumbnailer.backfill import BackfillMode, backfill_message
from thumbnailer.contract import EVENT_SOURCE
from thumbnailer.imaging.rejections import ImageRejected, RejectReason
from thumbnailer.outcomes import Completed, Rejected, Removed, Skipped, TransientError
from thumbnailer.service import ThumbnailService

from .conftest import SESSION, FakeEngine
from .test_cdn import a_distribution, invalidated_paths
from .test_service import GENERATED_AT, body_for, manifest_of, put_manifest, thumbnail_keys, upload

BUS = "thumbnail-pipeline-bus"


@dataclass
class Bus:
    """The pipeline's bus in moto, with a rule sending every pipeline event to a capture queue."""

    events: Any
    sqs: Any
    queue_url: str
    calls: list[str] = field(default_factory=list)  # the order of PutEvents and CreateInvalidation calls

    def received(self) -> list[dict[str, Any]]:
        """Every event delivered so far (taken off the capture queue)."""
        return take_json_bodies(self.sqs, self.queue_url)


@pytest.fixture
def bus(s3: Any) -> Bus:
    """(`s3` keeps moto running.)"""
    events = SESSION.client("events")
    sqs = SESSION.client("sqs")
    events.create_event_bus(Name=BUS)
    queue_url = sqs.create_queue(QueueName="captured-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="capture", EventBusName=BUS, EventPattern=json.dumps({"source": [EVENT_SOURCE]}))
    events.put_targets(Rule="capture", EventBusName=BUS, Targets=[{"Id": "capture", "Arn": queue_arn}])
    captured = Bus(events=events, sqs=sqs, queue_url=queue_url)
    events.meta.events.register("before-call.events.PutEvents", lambda **_: captured.calls.append("PutEvents"))
    return captured


def announcing_service(s3: Any, bus: Bus, engine: Any = None) -> ThumbnailService:
    return ThumbnailService(
        function_settings(event_bus_name=BUS),
        s3,
        engine or FakeEngine(),
        clock=lambda: GENERATED_AT,
        events_client=bus.events,
    )


def detail_of(event: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in event["detail"].items() if name not in ("thumbnailsBucket", "manifestKey")}


# --- one event per manifest written ---------------------------------------------------------------


def test_a_completed_set_is_announced_as_ready_with_the_manifest_as_written(s3: Any, bus: Bus) -> None:
    # GIVEN an uploaded image
    put = upload(s3, "photos/cat.jpg")

    # WHEN its event is processed
    outcome = announcing_service(s3, bus).process(body_for("photos/cat.jpg", put))

    # THEN one "Thumbnails Ready" event carries the manifest exactly as written, and where it is
    assert isinstance(outcome, Completed)
    (event,) = bus.received()
    assert (event["source"], event["detail-type"]) == (EVENT_SOURCE, "Thumbnails Ready")
    assert detail_of(event) == manifest_of(s3, "photos/cat.jpg")
    assert event["detail"]["thumbnailsBucket"] == THUMBNAILS_BUCKET
    assert event["detail"]["manifestKey"] == "photos/cat.jpg/manifest.json"


def test_a_backfilled_set_is_announced_as_ready_like_an_upload(s3: Any, bus: Bus) -> None:
    # GIVEN an original that was in the bucket before the pipeline (no manifest)
    upload(s3, "old/cat.jpg")

    # WHEN a backfill message for it is processed
    body = backfill_message(bucket=ORIGINALS_BUCKET, key="old/cat.jpg", mode=BackfillMode.MISSING)
    outcome = announcing_service(s3, bus).process(body)

    # THEN downstream services hear of the new set as they do of a live upload's
    assert isinstance(outcome, Completed)
    (event,) = bus.received()
    assert event["detail-type"] == "Thumbnails Ready"
    assert detail_of(event) == manifest_of(s3, "old/cat.jpg")


def test_a_rejected_source_is_announced_as_rejected_with_its_reason(s3: Any, bus: Bus) -> None:
    # GIVEN an upload the engine refuses
    put = upload(s3, "notes.jpg")
    engine = FakeEngine(rejects=ImageRejected(RejectReason.NOT_AN_IMAGE, "not an image format"))

    # WHEN its event is processed
    outcome = announcing_service(s3, bus, engine).process(body_for("notes.jpg", put))

    # THEN "Thumbnails Rejected" carries the rejected manifest
    assert isinstance(outcome, Rejected)
    (event,) = bus.received()
    assert event["detail-type"] == "Thumbnails Rejected"
    assert detail_of(event) == manifest_of(s3, "notes.jpg")
    assert (event["detail"]["status"], event["detail"]["reason"]) == ("rejected", "not_an_image")


def test_a_removed_set_is_announced_once_its_thumbnails_are_gone(s3: Any, bus: Bus) -> None:
    # GIVEN a processed original, then deleted
    service = announcing_service(s3, bus)
    service.process(body_for("a.jpg", upload(s3, "a.jpg"), sequencer="01"))
    bus.received()
    s3.delete_object(Bucket=ORIGINALS_BUCKET, Key="a.jpg")
    left_at_publish: list[list[str]] = []
    bus.events.meta.events.register(
        "before-call.events.PutEvents", lambda **_: left_at_publish.append(thumbnail_keys(s3))
    )

    # WHEN its deletion is processed
    outcome = service.process(object_deleted_body(key="a.jpg", sequencer="02"))

    # THEN "Thumbnails Removed" carries the tombstone, and was sent when only the tombstone was left
    assert isinstance(outcome, Removed)
    (event,) = bus.received()
    assert event["detail-type"] == "Thumbnails Removed"
    assert detail_of(event) == manifest_of(s3, "a.jpg")
    assert left_at_publish == [["a.jpg/manifest.json"]]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(object_created_body(key="notes/readme.txt"), id="filtered key"),
        pytest.param("not json", id="malformed message, no manifest"),
        pytest.param(object_created_body(bucket="elsewhere", key="a.jpg"), id="other bucket, no manifest"),
    ],
)
def test_nothing_is_announced_when_no_manifest_was_written(s3: Any, bus: Bus, body: str) -> None:
    announcing_service(s3, bus).process(body)

    assert bus.received() == []
    assert bus.calls == []


def test_an_upload_superseded_by_a_newer_one_announces_nothing(s3: Any, bus: Bus) -> None:
    # GIVEN the manifest of a newer upload of the key
    put = upload(s3, "a.jpg")
    put_manifest(s3, "a.jpg", sequencer="09", etag="newer")

    # WHEN the older upload's event arrives late
    outcome = announcing_service(s3, bus).process(body_for("a.jpg", put, sequencer="01"))

    # THEN it is skipped, and the bus hears nothing
    assert outcome == Skipped(reason="superseded", key="a.jpg")
    assert bus.received() == []


def test_a_failed_publish_is_transient_and_the_retry_announces_again(s3: Any, bus: Bus) -> None:
    # GIVEN EventBridge accepts the call but fails the entry, once
    put = upload(s3, "a.jpg")
    body = body_for("a.jpg", put)
    service = announcing_service(s3, bus)
    stubber = Stubber(bus.events)
    stubber.add_response(
        "put_events", {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "x"}]}
    )

    # WHEN the record is processed
    with stubber, pytest.raises(TransientError) as raised:
        service.process(body)

    # THEN it is reported for a retry although its manifest is written, and nothing was delivered
    assert raised.value.reason == "InternalFailure"
    assert manifest_of(s3, "a.jpg")["status"] == "complete"
    assert bus.received() == []

    # AND WHEN SQS delivers it again, the set is announced: at least once
    assert isinstance(service.process(body), Completed)
    assert [event["detail-type"] for event in bus.received()] == ["Thumbnails Ready"]


def test_without_a_bus_no_events_client_is_ever_used(s3: Any) -> None:
    # GIVEN settings without an event bus, and an events "client" that fails if touched
    service = ThumbnailService(function_settings(), s3, FakeEngine(), events_client=object())  # type: ignore[arg-type]

    # WHEN an upload is processed / THEN it completes without announcing anything
    assert isinstance(service.process(body_for("a.jpg", upload(s3, "a.jpg"))), Completed)


# --- the CDN -----------------------------------------------------------------------------------------


@pytest.fixture
def distribution(bus: Bus) -> str:
    cloudfront = SESSION.client("cloudfront")
    return a_distribution(cloudfront)


def cdn_service(
    s3: Any, bus: Bus, distribution_id: str, engine: Any = None, cloudfront: Any = None
) -> ThumbnailService:
    cloudfront = cloudfront or SESSION.client("cloudfront")
    cloudfront.meta.events.register(
        "before-call.cloudfront.CreateInvalidation", lambda **_: bus.calls.append("CreateInvalidation")
    )
    return ThumbnailService(
        function_settings(event_bus_name=BUS, distribution_id=distribution_id),
        s3,
        engine or FakeEngine(),
        clock=lambda: GENERATED_AT,
        events_client=bus.events,
        cloudfront_client=cloudfront,
    )


def test_a_first_set_invalidates_nothing(s3: Any, bus: Bus, distribution: str) -> None:
    cdn_service(s3, bus, distribution).process(body_for("a.jpg", upload(s3, "a.jpg"), sequencer="01"))

    assert invalidated_paths(SESSION.client("cloudfront"), distribution) == []
    assert bus.calls == ["PutEvents"]


def test_a_set_replacing_a_complete_set_is_invalidated_before_it_is_announced(
    s3: Any, bus: Bus, distribution: str
) -> None:
    # GIVEN a key with a complete set
    service = cdn_service(s3, bus, distribution)
    service.process(body_for("photos/cat 1.jpg", upload(s3, "photos/cat 1.jpg"), sequencer="01"))
    bus.calls.clear()

    # WHEN a newer upload of the key is processed
    service.process(body_for("photos/cat 1.jpg", upload(s3, "photos/cat 1.jpg", b"new"), sequencer="02"))

    # THEN the old set's paths were invalidated, once, and then the new set announced
    assert invalidated_paths(SESSION.client("cloudfront"), distribution) == [["/photos/cat%201.jpg/*"]]
    assert bus.calls == ["CreateInvalidation", "PutEvents"]


def test_a_set_replacing_a_rejected_manifest_invalidates_nothing(s3: Any, bus: Bus, distribution: str) -> None:
    # GIVEN a key whose first upload was rejected (no thumbnails were ever served)
    refusing = FakeEngine(rejects=ImageRejected(RejectReason.CORRUPT, "corrupt"))
    cdn_service(s3, bus, distribution, refusing).process(body_for("a.jpg", upload(s3, "a.jpg"), sequencer="01"))

    # WHEN a good upload replaces it
    cdn_service(s3, bus, distribution).process(body_for("a.jpg", upload(s3, "a.jpg", b"good"), sequencer="02"))

    # THEN there was nothing to invalidate
    assert manifest_of(s3, "a.jpg")["status"] == "complete"
    assert invalidated_paths(SESSION.client("cloudfront"), distribution) == []


def test_a_deleted_original_is_invalidated_once_its_thumbnails_are_gone(s3: Any, bus: Bus, distribution: str) -> None:
    # GIVEN a processed original, then deleted
    cloudfront = SESSION.client("cloudfront")
    service = cdn_service(s3, bus, distribution, cloudfront=cloudfront)
    service.process(body_for("a.jpg", upload(s3, "a.jpg"), sequencer="01"))
    s3.delete_object(Bucket=ORIGINALS_BUCKET, Key="a.jpg")
    left_at_invalidation: list[list[str]] = []
    cloudfront.meta.events.register(
        "before-call.cloudfront.CreateInvalidation", lambda **_: left_at_invalidation.append(thumbnail_keys(s3))
    )

    # WHEN the deletion is processed
    service.process(object_deleted_body(key="a.jpg", sequencer="02"))

    # THEN the CDN is told to forget the set only after S3 no longer has it (it could not fetch it again)
    assert invalidated_paths(SESSION.client("cloudfront"), distribution) == [["/a.jpg/*"]]
    assert left_at_invalidation == [["a.jpg/manifest.json"]]


def test_a_deletion_retried_after_a_failed_invalidation_invalidates_again(s3: Any, bus: Bus, distribution: str) -> None:
    # GIVEN a processed original, deleted, whose deletion failed at the invalidation (CloudFront refused once)
    cdn_service(s3, bus, distribution).process(body_for("a.jpg", upload(s3, "a.jpg"), sequencer="01"))
    s3.delete_object(Bucket=ORIGINALS_BUCKET, Key="a.jpg")
    deletion = object_deleted_body(key="a.jpg", sequencer="02")
    refusing = SESSION.client("cloudfront")
    stubber = Stubber(refusing)
    stubber.add_client_error("create_invalidation", service_error_code="ServiceUnavailable", http_status_code=503)
    with stubber, pytest.raises(TransientError):
        cdn_service(s3, bus, distribution, cloudfront=refusing).process(deletion)
    assert manifest_of(s3, "a.jpg")["status"] == "deleted"  # the tombstone was written, the set removed

    # WHEN SQS delivers the deletion again (it now replaces its own tombstone, not a complete manifest)
    outcome = cdn_service(s3, bus, distribution).process(deletion)

    # THEN the set is invalidated this time, and the removal announced
    assert isinstance(outcome, Removed)
    assert invalidated_paths(SESSION.client("cloudfront"), distribution) == [["/a.jpg/*"]]
    assert [event["detail-type"] for event in bus.received()][-1:] == ["Thumbnails Removed"]


def test_a_failed_invalidation_is_transient_and_nothing_is_announced(s3: Any, bus: Bus, distribution: str) -> None:
    # GIVEN a complete set, and a distribution id CloudFront does not know (a refused invalidation)
    cdn_service(s3, bus, distribution).process(body_for("a.jpg", upload(s3, "a.jpg"), sequencer="01"))
    bus.received()

    # WHEN a newer upload replaces the set
    with pytest.raises(TransientError) as raised:
        cdn_service(s3, bus, "EUNKNOWN").process(body_for("a.jpg", upload(s3, "a.jpg", b"new"), sequencer="02"))

    # THEN the record is retried, and the bus heard nothing of a set the CDN may still serve stale
    assert raised.value.reason == "NoSuchDistribution"
    assert bus.received() == []


# --- the Lambda entry point ------------------------------------------------------------------------


@pytest.fixture
def fresh_default_service() -> Iterator[None]:
    handler.default_service.cache_clear()
    yield
    handler.default_service.cache_clear()


def test_the_entry_point_announces_on_the_bus_its_environment_names(
    s3: Any, bus: Bus, monkeypatch: pytest.MonkeyPatch, fresh_default_service: None
) -> None:
    # GIVEN the deployed environment naming the bus, and boto3.client recorded
    for name, value in function_settings(event_bus_name=BUS).to_environment().items():
        monkeypatch.setenv(name, value)
    created: list[tuple[str, Any]] = []
    real_client = boto3.client

    def recording(service_name: str, **kwargs: Any) -> Any:
        created.append((service_name, kwargs.get("config")))
        return real_client(service_name, **kwargs)

    monkeypatch.setattr(boto3, "client", recording)
    put = s3.put_object(Bucket=ORIGINALS_BUCKET, Key="cat.jpg", Body=image_bytes("JPEG"))
    body = object_created_body(key="cat.jpg", etag=put["ETag"].strip('"'))

    # WHEN Lambda invokes the handler
    response = handler.lambda_handler(sqs_event(sqs_record(body)), lambda_context())

    # THEN the set is announced; the EventBridge client was made at the first publish, under the S3 time budget
    assert response == {"batchItemFailures": []}
    assert [event["detail-type"] for event in bus.received()] == ["Thumbnails Ready"]
    assert [name for name, _ in created] == ["s3", "events"]
    assert created[0][1] is created[1][1]
