"""The decision flow for one message, against moto S3: what is written, what is refused, what is retried."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_lambda_powertools import Logger, Metrics
from botocore.exceptions import EndpointConnectionError

from tests.assertions import assert_variants_match_manifest
from tests.builders import (
    ORIGINALS_BUCKET,
    THUMBNAILS_BUCKET,
    function_environ,
    image_bytes,
    lambda_context,
    object_created_body,
    sqs_event,
    sqs_record,
)
from tests.faults import inject_s3_fault
from thumbnailer.contract import Settings
from thumbnailer.handler import handle_batch
from thumbnailer.imaging.rejections import ImageRejected, RejectReason
from thumbnailer.outcomes import Completed, Rejected, Skipped, TransientError
from thumbnailer.service import ThumbnailService

from .conftest import FakeEngine, S3Call

GENERATED_AT = datetime(2026, 11, 27, 17, 0, 0, tzinfo=UTC)
DEFAULT_VARIANTS = ("square-128.jpg", "w256.jpg", "w512.jpg", "w1024.webp")


def service_for(s3: Any, settings: Settings, engine: Any = None) -> ThumbnailService:
    if engine is None:
        return ThumbnailService(settings, s3, clock=lambda: GENERATED_AT)  # the real imaging engine
    return ThumbnailService(settings, s3, engine, clock=lambda: GENERATED_AT)


def upload(s3: Any, key: str, data: bytes = b"original bytes") -> dict[str, Any]:
    return s3.put_object(Bucket=ORIGINALS_BUCKET, Key=key, Body=data)


def body_for(key: str, put: dict[str, Any], **overrides: Any) -> str:
    """The event S3 would send for that upload (real-AWS shape unless overridden)."""
    fields: dict[str, Any] = {
        "key": key,
        "size": overrides.pop("size", None),
        "etag": put["ETag"].strip('"'),
        "version_id": put.get("VersionId"),
    }
    return object_created_body(**{**fields, **overrides})


def thumbnail_keys(s3: Any) -> list[str]:
    listed = s3.list_objects_v2(Bucket=THUMBNAILS_BUCKET)
    return sorted(item["Key"] for item in listed.get("Contents", []))


def manifest_of(s3: Any, key: str) -> dict[str, Any]:
    return json.loads(s3.get_object(Bucket=THUMBNAILS_BUCKET, Key=f"{key}/manifest.json")["Body"].read())


def put_manifest(s3: Any, key: str, **source: Any) -> None:
    body = {"schemaVersion": 1, "status": "complete", "source": {"key": key, **source}, "variants": []}
    s3.put_object(Bucket=THUMBNAILS_BUCKET, Key=f"{key}/manifest.json", Body=json.dumps(body).encode())


# --- complete sets ---------------------------------------------------------------------------------


def test_an_image_gets_every_preset_and_then_a_manifest(s3: Any, settings: Settings) -> None:
    # GIVEN a real 800x600 JPEG in the originals bucket
    put = upload(s3, "photos/cat.jpg", image_bytes("JPEG", width=800, height=600))

    # WHEN its event is processed with the real engine
    outcome = service_for(s3, settings).process(body_for("photos/cat.jpg", put, sequencer="00A1"))

    # THEN every preset is written under the original's key, and the manifest describes them
    expected = [f"photos/cat.jpg/{name}" for name in DEFAULT_VARIANTS]
    assert outcome == Completed(key="photos/cat.jpg", variant_keys=tuple(expected))
    manifest = assert_variants_match_manifest(s3, bucket=THUMBNAILS_BUCKET, original_key="photos/cat.jpg")
    assert [variant["key"] for variant in manifest["variants"]] == expected
    assert manifest["schemaVersion"] == 1
    assert manifest["status"] == "complete"
    assert manifest["generatedAt"] == "2026-11-27T17:00:00Z"
    assert manifest["source"] == {
        "bucket": ORIGINALS_BUCKET,
        "key": "photos/cat.jpg",
        "etag": put["ETag"].strip('"'),
        "versionId": None,
        "sequencer": "00A1",
        "size": len(image_bytes("JPEG", width=800, height=600)),
        "format": "jpeg",
        "width": 800,
        "height": 600,
        "animated": False,
        "frames": 1,
    }
    sizes = {variant["preset"]: (variant["width"], variant["height"]) for variant in manifest["variants"]}
    assert sizes == {"square-128": (128, 128), "w256": (256, 192), "w512": (512, 384), "w1024": (800, 600)}


def test_variants_carry_content_type_cache_control_and_source_metadata(
    s3: Any, settings: Settings, fake_engine: FakeEngine
) -> None:
    put = upload(s3, "a.png")

    service_for(s3, settings, fake_engine).process(body_for("a.png", put, sequencer="00B2"))

    jpeg = s3.head_object(Bucket=THUMBNAILS_BUCKET, Key="a.png/w256.jpg")
    webp = s3.head_object(Bucket=THUMBNAILS_BUCKET, Key="a.png/w1024.webp")
    assert (jpeg["ContentType"], webp["ContentType"]) == ("image/jpeg", "image/webp")
    assert jpeg["CacheControl"] == "public, max-age=86400, s-maxage=31536000"
    assert jpeg["Metadata"] == {"source-etag": put["ETag"].strip('"'), "source-sequencer": "00B2"}
    manifest = s3.head_object(Bucket=THUMBNAILS_BUCKET, Key="a.png/manifest.json")
    assert manifest["ContentType"] == "application/json"
    assert manifest["CacheControl"] == "no-cache"


def test_the_manifest_is_written_after_every_variant(
    s3: Any, settings: Settings, fake_engine: FakeEngine, s3_calls: list[S3Call]
) -> None:
    put = upload(s3, "a.jpg")

    service_for(s3, settings, fake_engine).process(body_for("a.jpg", put))

    puts = [call.key for call in s3_calls if call.operation == "PutObject" and call.bucket == THUMBNAILS_BUCKET]
    assert puts == [*(f"a.jpg/{name}" for name in DEFAULT_VARIANTS), "a.jpg/manifest.json"]


def test_the_source_is_read_by_version_and_etag(
    s3: Any, settings: Settings, fake_engine: FakeEngine, s3_calls: list[S3Call]
) -> None:
    # GIVEN a versioned bucket where the key was overwritten after the event's upload
    s3.put_bucket_versioning(Bucket=ORIGINALS_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    first = upload(s3, "a.jpg", b"first upload")
    upload(s3, "a.jpg", b"second upload")

    # WHEN the first upload's event is processed
    outcome = service_for(s3, settings, fake_engine).process(body_for("a.jpg", first))

    # THEN the first upload's bytes were rendered, fetched by version id and etag
    assert isinstance(outcome, Completed)
    assert fake_engine.calls == [b"first upload"]
    get = next(call for call in s3_calls if call.operation == "GetObject" and call.bucket == ORIGINALS_BUCKET)
    assert get.params["VersionId"] == first["VersionId"]
    assert get.params["IfMatch"] == first["ETag"]
    assert manifest_of(s3, "a.jpg")["source"]["versionId"] == first["VersionId"]


@pytest.mark.parametrize(
    ("stored_key", "event_key"),
    [
        ("photos/red flower.jpg", "photos/red+flower.jpg"),  # URL-encoded in the event
        ("photos/red flower.jpg", "photos/red flower.jpg"),  # raw, as moto sends it
        ("c++.jpg", "c%2B%2B.jpg"),
        ("c++.jpg", "c++.jpg"),  # raw plus: the decoded spelling misses, the raw one is found
        ("100%.jpg", "100%25.jpg"),
        ("café ☕.jpg", "caf%C3%A9+%E2%98%95.jpg"),
    ],
)
def test_the_object_is_found_whether_the_key_arrived_raw_or_url_encoded(
    s3: Any, settings: Settings, fake_engine: FakeEngine, stored_key: str, event_key: str
) -> None:
    put = upload(s3, stored_key)

    outcome = service_for(s3, settings, fake_engine).process(body_for(event_key, put))

    assert isinstance(outcome, Completed)
    assert outcome.key == stored_key
    assert manifest_of(s3, stored_key)["source"]["key"] == stored_key


def test_a_moto_shaped_event_is_processed(s3: Any, settings: Settings, fake_engine: FakeEngine) -> None:
    put = upload(s3, "a.jpg")

    outcome = service_for(s3, settings, fake_engine).process(body_for("a.jpg", put, shape="moto"))

    assert isinstance(outcome, Completed)


def test_an_older_manifest_is_replaced(s3: Any, settings: Settings, fake_engine: FakeEngine) -> None:
    put = upload(s3, "a.jpg")
    put_manifest(s3, "a.jpg", sequencer="0055AED6DCD90281E5", etag="old")

    outcome = service_for(s3, settings, fake_engine).process(body_for("a.jpg", put, sequencer="0055AED6DCD90281F0"))

    assert isinstance(outcome, Completed)
    assert manifest_of(s3, "a.jpg")["source"]["sequencer"] == "0055AED6DCD90281F0"


# --- skipped -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("prefix", "key"), [("", "notes/readme.txt"), ("uploads/", "other/a.jpg")])
def test_a_key_outside_the_filter_is_skipped_without_any_s3_call(
    s3: Any, fake_engine: FakeEngine, s3_calls: list[S3Call], prefix: str, key: str
) -> None:
    settings = Settings.from_environment(function_environ(key_prefix=prefix))
    put = upload(s3, key)
    s3_calls.clear()

    outcome = service_for(s3, settings, fake_engine).process(body_for(key, put))

    assert outcome == Skipped(reason="key_filtered", key=key)
    assert s3_calls == []
    assert fake_engine.calls == []


def test_an_upper_case_suffix_passes_the_filter(s3: Any, settings: Settings, fake_engine: FakeEngine) -> None:
    put = upload(s3, "IMG_0001.JPG")

    assert isinstance(service_for(s3, settings, fake_engine).process(body_for("IMG_0001.JPG", put)), Completed)


@pytest.mark.parametrize(
    ("in_place", "in_event"),
    [("0055AED6DCD90281F0", "0055AED6DCD90281E5"), ("0100", "FF")],  # the second needs padding to compare
)
def test_an_event_older_than_the_manifest_in_place_is_superseded(
    s3: Any, settings: Settings, fake_engine: FakeEngine, in_place: str, in_event: str
) -> None:
    # GIVEN a manifest from a newer upload of the key
    put = upload(s3, "a.jpg")
    put_manifest(s3, "a.jpg", sequencer=in_place, etag="newer")

    # WHEN a late event for an older upload arrives
    outcome = service_for(s3, settings, fake_engine).process(body_for("a.jpg", put, sequencer=in_event))

    # THEN nothing is rendered or replaced
    assert outcome == Skipped(reason="superseded", key="a.jpg")
    assert fake_engine.calls == []
    assert manifest_of(s3, "a.jpg")["source"]["etag"] == "newer"
    assert thumbnail_keys(s3) == ["a.jpg/manifest.json"]


def test_a_newer_manifest_written_meanwhile_is_not_overwritten(
    s3: Any, settings: Settings, fake_engine: FakeEngine
) -> None:
    # GIVEN another invocation writes a newer manifest just before this one writes its own
    put = upload(s3, "a.jpg")

    def newer_writer_wins(params: dict[str, Any], **_: Any) -> None:
        if params["Key"] == "a.jpg/manifest.json" and "racer" not in params.get("Metadata", {}):
            s3.put_object(
                Bucket=THUMBNAILS_BUCKET,
                Key="a.jpg/manifest.json",
                Body=json.dumps({"source": {"sequencer": "FFFF", "etag": "newer"}}).encode(),
                Metadata={"racer": "yes"},
            )

    s3.meta.events.register("provide-client-params.s3.PutObject", newer_writer_wins)

    # WHEN this (older) event completes
    outcome = service_for(s3, settings, fake_engine).process(body_for("a.jpg", put, sequencer="00AA"))

    # THEN the conditional write notices, and the newer manifest stays
    assert outcome == Skipped(reason="superseded", key="a.jpg")
    assert manifest_of(s3, "a.jpg")["source"] == {"sequencer": "FFFF", "etag": "newer"}


# --- rejected ----------------------------------------------------------------------------------------


def test_an_image_the_engine_refuses_gets_a_rejected_manifest(s3: Any, settings: Settings) -> None:
    # GIVEN bytes that are not an image, under an image's name
    put = upload(s3, "fake.jpg", b"%PDF-1.7 definitely not a jpeg")

    # WHEN processed with the real engine
    outcome = service_for(s3, settings).process(body_for("fake.jpg", put))

    # THEN the refusal is permanent, typed, and recorded where consumers look
    assert isinstance(outcome, Rejected)
    assert outcome.reason in set(RejectReason)
    assert outcome.manifest_written is True
    manifest = manifest_of(s3, "fake.jpg")
    assert manifest["status"] == "rejected"
    assert manifest["reason"] == outcome.reason
    assert manifest["variants"] == []
    assert manifest["source"]["size"] == len(b"%PDF-1.7 definitely not a jpeg")
    assert thumbnail_keys(s3) == ["fake.jpg/manifest.json"]


def test_a_rejection_reason_and_detail_from_the_engine_are_kept(s3: Any, settings: Settings) -> None:
    engine = FakeEngine(rejects=ImageRejected(RejectReason.TOO_MANY_PIXELS, "60000000 pixels, limit 50000000"))
    put = upload(s3, "big.png")

    outcome = service_for(s3, settings, engine).process(body_for("big.png", put))

    assert outcome == Rejected(
        reason="too_many_pixels", detail="60000000 pixels, limit 50000000", key="big.png", manifest_written=True
    )
    assert manifest_of(s3, "big.png")["detail"] == "60000000 pixels, limit 50000000"


def test_a_source_too_large_by_the_event_is_refused_before_any_get(
    s3: Any, fake_engine: FakeEngine, s3_calls: list[S3Call]
) -> None:
    settings = Settings.from_environment(function_environ(max_source_bytes=10))
    put = upload(s3, "huge.jpg", b"more than ten bytes")
    s3_calls.clear()

    outcome = service_for(s3, settings, fake_engine).process(body_for("huge.jpg", put, size=19))

    assert isinstance(outcome, Rejected)
    assert (outcome.reason, outcome.manifest_written) == ("too_large", True)
    assert [call for call in s3_calls if call.bucket == ORIGINALS_BUCKET] == []
    assert manifest_of(s3, "huge.jpg")["reason"] == "too_large"


def test_a_source_too_large_by_its_content_length_is_refused_before_reading(s3: Any, fake_engine: FakeEngine) -> None:
    # GIVEN an event without a size (or with a wrong one)
    settings = Settings.from_environment(function_environ(max_source_bytes=10))
    put = upload(s3, "huge.jpg", b"more than ten bytes")

    outcome = service_for(s3, settings, fake_engine).process(body_for("huge.jpg", put, size=None))

    assert isinstance(outcome, Rejected)
    assert outcome.reason == "too_large"
    assert fake_engine.calls == []
    assert manifest_of(s3, "huge.jpg")["source"]["size"] == 19


def test_a_deleted_source_gets_a_source_missing_manifest(s3: Any, settings: Settings, fake_engine: FakeEngine) -> None:
    put = upload(s3, "gone.jpg")
    s3.delete_object(Bucket=ORIGINALS_BUCKET, Key="gone.jpg")

    outcome = service_for(s3, settings, fake_engine).process(body_for("gone.jpg", put))

    assert isinstance(outcome, Rejected)
    assert (outcome.reason, outcome.manifest_written) == ("source_missing", True)
    manifest = manifest_of(s3, "gone.jpg")
    assert (manifest["status"], manifest["reason"]) == ("rejected", "source_missing")


def test_an_overwritten_source_is_missing_for_the_old_event(
    s3: Any, settings: Settings, fake_engine: FakeEngine
) -> None:
    # GIVEN an unversioned key overwritten after the event's upload: its ETag no longer matches
    old = upload(s3, "a.jpg", b"old bytes")
    upload(s3, "a.jpg", b"new bytes")

    outcome = service_for(s3, settings, fake_engine).process(body_for("a.jpg", old))

    assert isinstance(outcome, Rejected)
    assert outcome.reason == "source_missing"
    assert fake_engine.calls == []


def test_a_missing_source_never_replaces_the_manifest_of_another_upload(
    s3: Any, settings: Settings, fake_engine: FakeEngine
) -> None:
    # GIVEN the key was overwritten and the new upload already processed, with the same sequencer (as moto sends)
    old = upload(s3, "a.jpg", b"old bytes")
    new = upload(s3, "a.jpg", b"new bytes")
    service = service_for(s3, settings, fake_engine)
    assert isinstance(service.process(body_for("a.jpg", new, shape="moto")), Completed)

    # WHEN the old upload's event arrives late
    outcome = service.process(body_for("a.jpg", old, shape="moto"))

    # THEN the complete manifest of the new upload stays
    assert outcome == Skipped(reason="superseded", key="a.jpg")
    assert manifest_of(s3, "a.jpg")["status"] == "complete"


def test_an_ambiguous_missing_key_writes_nothing(s3: Any, settings: Settings, fake_engine: FakeEngine) -> None:
    # GIVEN an event whose key has two spellings, neither of which exists
    outcome = service_for(s3, settings, fake_engine).process(object_created_body(key="a+b.jpg"))

    # THEN it is refused, but no manifest is guessed into existence
    assert isinstance(outcome, Rejected)
    assert (outcome.reason, outcome.manifest_written) == ("source_missing", False)
    assert thumbnail_keys(s3) == []


def test_an_event_for_another_bucket_is_refused(s3: Any, settings: Settings, fake_engine: FakeEngine) -> None:
    outcome = service_for(s3, settings, fake_engine).process(object_created_body(bucket="someone-elses"))

    assert isinstance(outcome, Rejected)
    assert outcome.reason == "wrong_bucket"
    assert thumbnail_keys(s3) == []


def test_a_malformed_message_is_refused(s3: Any, settings: Settings, fake_engine: FakeEngine) -> None:
    outcome = service_for(s3, settings, fake_engine).process("{not json")

    assert isinstance(outcome, Rejected)
    assert (outcome.reason, outcome.key) == ("malformed_message", None)


HOSTILE_BODIES = {
    "50k nested arrays": "[" * 50_000,
    "an integer past the digit limit": '{"detail": 1' + "1" * 5000 + "}",
    "a key with a lone surrogate": object_created_body(key="photos/\ud800.jpg"),
    "a non-ASCII version id": object_created_body(version_id="v\u00e9"),
}


@pytest.mark.parametrize("body", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
def test_a_hostile_body_is_refused_as_malformed_and_acknowledged(
    s3: Any, settings: Settings, fake_engine: FakeEngine, s3_calls: list[S3Call], body: str
) -> None:
    # WHEN a body that can never be an event is processed, alone in a batch
    service = service_for(s3, settings, fake_engine)
    outcome = service.process(body)
    metrics = Metrics(namespace="ThumbnailPipelineTest", service="thumbnailer")
    try:
        batch = sqs_event(sqs_record(body))
        response = handle_batch(batch, lambda_context(), service, logger=Logger(stream=io.StringIO()), metrics=metrics)
    finally:
        metrics.clear_metrics()  # Powertools shares one metric set between instances

    # THEN it is refused as malformed without touching S3, and the batch acknowledges it: never retried
    assert isinstance(outcome, Rejected)
    assert (outcome.reason, outcome.key) == ("malformed_message", None)
    assert s3_calls == []
    assert response == {"batchItemFailures": []}


def test_a_hostile_manifest_in_place_is_replaced(s3: Any, settings: Settings, fake_engine: FakeEngine) -> None:
    # GIVEN the manifest key holds content no JSON parser can finish
    put = upload(s3, "a.jpg")
    s3.put_object(Bucket=THUMBNAILS_BUCKET, Key="a.jpg/manifest.json", Body=b"[" * 50_000)

    # WHEN an upload's event is processed
    outcome = service_for(s3, settings, fake_engine).process(body_for("a.jpg", put))

    # THEN the content counts as no manifest at all: the set is completed over it
    assert isinstance(outcome, Completed)
    assert manifest_of(s3, "a.jpg")["status"] == "complete"


def test_a_key_whose_outputs_would_be_too_long_is_refused_without_writing(
    s3: Any, settings: Settings, fake_engine: FakeEngine, s3_calls: list[S3Call]
) -> None:
    # GIVEN a 1020-byte key: valid in S3, but "<key>/manifest.json" would not be
    key = "k" * 1016 + ".jpg"

    outcome = service_for(s3, settings, fake_engine).process(object_created_body(key=key))

    assert isinstance(outcome, Rejected)
    assert (outcome.reason, outcome.manifest_written) == ("key_too_long", False)
    assert s3_calls == []


# --- transient: retried, and no half-written set looks complete ---------------------------------------


def test_s3_write_failures_are_transient_and_leave_no_manifest(
    s3: Any, settings: Settings, fake_engine: FakeEngine
) -> None:
    # GIVEN S3 answers every PutObject with 503 SlowDown
    put = upload(s3, "a.jpg")
    fault = inject_s3_fault(s3, "PutObject", 503, "SlowDown")

    # WHEN the event is processed
    with pytest.raises(TransientError) as raised:
        service_for(s3, settings, fake_engine).process(body_for("a.jpg", put))

    # THEN botocore retried, the error is transient, and nothing claims the set is complete
    assert raised.value.reason == "SlowDown"
    assert len(fault.answered) == 2  # the test client's max_attempts
    assert thumbnail_keys(s3) == []


def test_a_failed_manifest_write_leaves_the_variants_but_no_manifest(
    s3: Any, settings: Settings, fake_engine: FakeEngine
) -> None:
    put = upload(s3, "a.jpg")
    inject_s3_fault(s3, "PutObject", 500, "InternalError", key_suffix="/manifest.json")

    with pytest.raises(TransientError):
        service_for(s3, settings, fake_engine).process(body_for("a.jpg", put))

    assert thumbnail_keys(s3) == sorted(f"a.jpg/{name}" for name in DEFAULT_VARIANTS)


def test_access_denied_is_transient_so_a_misconfiguration_drops_nothing(
    s3: Any, settings: Settings, fake_engine: FakeEngine
) -> None:
    put = upload(s3, "a.jpg")
    inject_s3_fault(s3, "GetObject", 403, "AccessDenied")

    with pytest.raises(TransientError) as raised:
        service_for(s3, settings, fake_engine).process(body_for("a.jpg", put))

    assert raised.value.reason == "AccessDenied"


def test_a_broken_connection_is_transient(s3: Any, settings: Settings, fake_engine: FakeEngine) -> None:
    put = upload(s3, "a.jpg")
    inject_s3_fault(s3, "GetObject", exception=EndpointConnectionError(endpoint_url="https://s3.example"))

    with pytest.raises(TransientError) as raised:
        service_for(s3, settings, fake_engine).process(body_for("a.jpg", put))

    assert raised.value.reason == "EndpointConnectionError"
    assert fake_engine.calls == []


def test_an_unexpected_engine_failure_propagates(s3: Any, settings: Settings) -> None:
    # GIVEN an engine with a bug: not an ImageRejected
    def broken_engine(*_: Any) -> Any:
        raise ZeroDivisionError("bug")

    put = upload(s3, "a.jpg")

    # THEN it is not mistaken for a permanent refusal: it propagates (and the record is retried)
    with pytest.raises(ZeroDivisionError):
        service_for(s3, settings, broken_engine).process(body_for("a.jpg", put))
    assert thumbnail_keys(s3) == []
