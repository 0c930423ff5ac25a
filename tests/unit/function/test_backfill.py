"""Backfill messages: what each mode renders or skips, and what a backfill never overwrites or deletes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.assertions import assert_variants_match_manifest
from tests.builders import ORIGINALS_BUCKET, THUMBNAILS_BUCKET, function_settings, image_bytes, object_created_body
from thumbnailer.backfill import (
    BACKFILL_KIND,
    BackfillMode,
    backfill_message,
    is_backfill_message,
    parse_backfill,
)
from thumbnailer.contract import Settings
from thumbnailer.fingerprint import presets_fingerprint
from thumbnailer.outcomes import Completed, MessageRejectReason, Rejected, Skipped, SkipReason
from thumbnailer.service import ThumbnailService

from .conftest import FakeEngine

GENERATED_AT = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
TWO_PRESETS = [
    {"name": "small", "width": 64, "mode": "fit", "format": "jpeg", "quality": 80},
    {"name": "large", "width": 256, "mode": "fit", "format": "webp", "quality": 80},
]
ONE_PRESET = TWO_PRESETS[:1]


@pytest.fixture
def versioned(s3: Any) -> Any:
    s3.put_bucket_versioning(Bucket=ORIGINALS_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return s3


def service(s3: Any, settings: Settings, engine: Any = None) -> ThumbnailService:
    if engine is None:
        return ThumbnailService(settings, s3, clock=lambda: GENERATED_AT)
    return ThumbnailService(settings, s3, engine, clock=lambda: GENERATED_AT)


def manifest_of(s3: Any, key: str) -> dict[str, Any]:
    return json.loads(s3.get_object(Bucket=THUMBNAILS_BUCKET, Key=f"{key}/manifest.json")["Body"].read())


def keys_in(s3: Any, bucket: str = THUMBNAILS_BUCKET) -> set[str]:
    return {item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}


def backfill(key: str, mode: str = "missing", bucket: str = ORIGINALS_BUCKET) -> str:
    return backfill_message(bucket=bucket, key=key, mode=mode)


# --- the message ------------------------------------------------------------------------------------


def test_the_builder_and_the_parser_agree_on_every_mode_and_odd_keys() -> None:
    for mode in BackfillMode:
        for key in ("photos/cat.jpg", 'odd "key"\\ with ünïcode.png', "a+b%20c.jpg"):
            # GIVEN a message built for that key and mode
            body = backfill_message(bucket="originals", key=key, mode=mode)
            # WHEN it is parsed
            request = parse_backfill(body)
            # THEN it names the same bucket, key and mode, and is recognised as a backfill message
            assert (request.bucket, request.key, request.mode) == ("originals", key, mode)
            assert is_backfill_message(body)
            assert json.loads(body)["kind"] == BACKFILL_KIND


def test_an_s3_event_is_not_a_backfill_message_even_when_its_key_says_so() -> None:
    # GIVEN an event whose key contains the backfill kind
    body = object_created_body(key=f"{BACKFILL_KIND}.jpg")
    # WHEN / THEN it is an event, not a backfill message
    assert not is_backfill_message(body)


@pytest.mark.parametrize(
    "document",
    [
        {"kind": BACKFILL_KIND, "version": 1, "bucket": "originals", "key": "a.jpg", "mode": "sometimes"},
        {"kind": BACKFILL_KIND, "version": 2, "bucket": "originals", "key": "a.jpg", "mode": "all"},
        {"kind": BACKFILL_KIND, "version": 1, "bucket": "originals", "key": "", "mode": "all"},
        {"kind": BACKFILL_KIND, "version": 1, "bucket": "originals", "mode": "all"},
    ],
)
def test_a_malformed_backfill_message_is_rejected_once(s3: Any, settings: Settings, document: dict[str, Any]) -> None:
    # WHEN a message of the backfill kind with a bad field is processed
    outcome = service(s3, settings, FakeEngine()).process(json.dumps(document))
    # THEN it is refused as malformed (acknowledged, not retried), and nothing is written
    assert isinstance(outcome, Rejected)
    assert outcome.reason == MessageRejectReason.MALFORMED_MESSAGE
    assert keys_in(s3) == set()


def test_a_backfill_for_another_bucket_is_refused(s3: Any, settings: Settings) -> None:
    outcome = service(s3, settings, FakeEngine()).process(backfill("a.jpg", bucket="someone-elses"))
    assert isinstance(outcome, Rejected)
    assert outcome.reason == MessageRejectReason.WRONG_BUCKET


# --- the modes ----------------------------------------------------------------------------------------


def test_missing_renders_an_original_without_a_manifest_then_skips_it(versioned: Any, settings: Settings) -> None:
    # GIVEN an original that never got thumbnails (uploaded before the pipeline existed)
    put = versioned.put_object(Bucket=ORIGINALS_BUCKET, Key="old/cat.jpg", Body=image_bytes(width=640, height=480))
    worker = service(versioned, settings)

    # WHEN a backfill message in mode "missing" is processed twice
    first = worker.process(backfill("old/cat.jpg"))
    second = worker.process(backfill("old/cat.jpg"))

    # THEN the first makes the whole set, recording the current object and the deployed fingerprint
    assert isinstance(first, Completed)
    manifest = assert_variants_match_manifest(versioned, bucket=THUMBNAILS_BUCKET, original_key="old/cat.jpg")
    assert manifest["status"] == "complete"
    assert manifest["source"]["etag"] == put["ETag"].strip('"')
    assert manifest["source"]["versionId"] == put["VersionId"]
    assert manifest["source"]["sequencer"] is None
    assert manifest["fingerprint"] == presets_fingerprint(settings.config.presets)
    # AND the second finds the set up to date
    assert second == Skipped(reason=SkipReason.UP_TO_DATE, key="old/cat.jpg")


def test_missing_skips_a_rejected_manifest_of_the_current_object(versioned: Any, settings: Settings) -> None:
    # GIVEN an original that is not an image, already rejected
    versioned.put_object(Bucket=ORIGINALS_BUCKET, Key="notes.jpg", Body=b"plain text")
    worker = service(versioned, settings)
    assert isinstance(worker.process(backfill("notes.jpg", "all")), Rejected)
    # WHEN it is backfilled in mode missing
    outcome = worker.process(backfill("notes.jpg"))
    # THEN it is skipped: the rejection answers it
    assert outcome == Skipped(reason=SkipReason.UP_TO_DATE, key="notes.jpg")


def test_missing_renders_again_when_the_manifest_describes_an_older_object(versioned: Any, settings: Settings) -> None:
    # GIVEN a set made for the first upload, and a second upload whose event was lost
    versioned.put_object(Bucket=ORIGINALS_BUCKET, Key="a.jpg", Body=image_bytes(colour=(1, 2, 3)))
    worker = service(versioned, settings, FakeEngine())
    assert isinstance(worker.process(backfill("a.jpg")), Completed)
    second = versioned.put_object(Bucket=ORIGINALS_BUCKET, Key="a.jpg", Body=image_bytes(colour=(9, 9, 9)))

    # WHEN it is backfilled in mode missing
    outcome = worker.process(backfill("a.jpg"))

    # THEN the current object is rendered and the manifest names it
    assert isinstance(outcome, Completed)
    assert manifest_of(versioned, "a.jpg")["source"]["versionId"] == second["VersionId"]


def test_stale_rerenders_a_set_of_other_presets_and_removes_the_dropped_preset(s3: Any) -> None:
    # GIVEN a set made with two presets
    s3.put_object(Bucket=ORIGINALS_BUCKET, Key="p/cat.jpg", Body=image_bytes(width=640, height=480))
    before = function_settings(presets=TWO_PRESETS)
    assert isinstance(service(s3, before).process(backfill("p/cat.jpg")), Completed)
    # AND another original's outputs living under the same prefix (an original named "p/cat.jpg/large.webp")
    s3.put_object(Bucket=THUMBNAILS_BUCKET, Key="p/cat.jpg/large.webp/small.jpg", Body=b"another original's")
    assert "p/cat.jpg/large.webp" in manifest_of(s3, "p/cat.jpg")["variants"][1]["key"]

    # WHEN the "large" preset is dropped and the key is backfilled in mode stale, twice
    after = function_settings(presets=ONE_PRESET)
    worker = service(s3, after)
    first = worker.process(backfill("p/cat.jpg", "stale"))
    second = worker.process(backfill("p/cat.jpg", "stale"))

    # THEN the set is re-rendered with the new fingerprint, the dropped variant is gone, the other original's
    # object is untouched, and the second message finds nothing stale
    assert isinstance(first, Completed)
    manifest = assert_variants_match_manifest(s3, bucket=THUMBNAILS_BUCKET, original_key="p/cat.jpg")
    assert [variant["preset"] for variant in manifest["variants"]] == ["small"]
    assert manifest["fingerprint"] == presets_fingerprint(after.config.presets)
    assert keys_in(s3) == {"p/cat.jpg/small.jpg", "p/cat.jpg/manifest.json", "p/cat.jpg/large.webp/small.jpg"}
    assert second == Skipped(reason=SkipReason.UP_TO_DATE, key="p/cat.jpg")


def test_stale_keeps_the_sequencer_of_the_manifest_it_replaces(s3: Any) -> None:
    # GIVEN a set made from an S3 event (with a sequencer)
    put = s3.put_object(Bucket=ORIGINALS_BUCKET, Key="e.jpg", Body=image_bytes())
    event = object_created_body(key="e.jpg", etag=put["ETag"].strip('"'), size=None, sequencer="00AA")
    assert isinstance(service(s3, function_settings(presets=TWO_PRESETS), FakeEngine()).process(event), Completed)
    # WHEN it is re-rendered with other presets
    outcome = service(s3, function_settings(presets=ONE_PRESET), FakeEngine()).process(backfill("e.jpg", "stale"))
    # THEN the new manifest still orders the key's events
    assert isinstance(outcome, Completed)
    assert manifest_of(s3, "e.jpg")["source"]["sequencer"] == "00AA"


def test_all_never_skips(s3: Any, settings: Settings) -> None:
    s3.put_object(Bucket=ORIGINALS_BUCKET, Key="x.jpg", Body=image_bytes())
    engine = FakeEngine()
    worker = service(s3, settings, engine)
    outcomes = [worker.process(backfill("x.jpg", "all")) for _ in range(2)]
    assert all(isinstance(outcome, Completed) for outcome in outcomes)
    assert len(engine.calls) == 2


def test_a_key_that_no_longer_exists_is_skipped_not_an_error(s3: Any, settings: Settings) -> None:
    outcome = service(s3, settings, FakeEngine()).process(backfill("gone.jpg"))
    assert outcome == Skipped(reason=SkipReason.SOURCE_GONE, key="gone.jpg")
    assert keys_in(s3) == set()


def test_an_url_encoded_key_from_an_inventory_finds_its_object(s3: Any, settings: Settings) -> None:
    s3.put_object(Bucket=ORIGINALS_BUCKET, Key="red flower.jpg", Body=image_bytes())
    outcome = service(s3, settings, FakeEngine()).process(backfill("red+flower.jpg"))
    assert outcome == Completed(key="red flower.jpg", variant_keys=outcome.variant_keys)


# --- never over a newer upload or a deletion --------------------------------------------------------------


class SideEffectEngine(FakeEngine):
    """Renders like FakeEngine after running `during_render` (what happens elsewhere meanwhile)."""

    def __init__(self, during_render: Any) -> None:
        super().__init__()
        self.during_render = during_render

    def __call__(self, data: bytes, presets: Any, limits: Any) -> Any:
        self.during_render()
        return super().__call__(data, presets, limits)


def test_a_manifest_written_by_a_newer_upload_while_rendering_is_kept(versioned: Any, settings: Settings) -> None:
    # GIVEN an original without thumbnails, and a newer upload whose event completes while the backfill renders
    versioned.put_object(Bucket=ORIGINALS_BUCKET, Key="race.jpg", Body=image_bytes(colour=(1, 1, 1)))

    def newer_upload_completes() -> None:
        newer = versioned.put_object(Bucket=ORIGINALS_BUCKET, Key="race.jpg", Body=image_bytes(colour=(2, 2, 2)))
        event = object_created_body(
            key="race.jpg", etag=newer["ETag"].strip('"'), version_id=newer["VersionId"], size=None
        )
        assert isinstance(service(versioned, settings, FakeEngine()).process(event), Completed)

    # WHEN the backfill runs
    outcome = service(versioned, settings, SideEffectEngine(newer_upload_completes)).process(backfill("race.jpg"))

    # THEN it yields: the newer upload's manifest and variants stay
    assert outcome == Skipped(reason=SkipReason.SUPERSEDED, key="race.jpg")
    current = versioned.head_object(Bucket=ORIGINALS_BUCKET, Key="race.jpg")
    manifest = manifest_of(versioned, "race.jpg")
    assert manifest["source"]["versionId"] == current["VersionId"]
    for variant in manifest["variants"]:
        head = versioned.head_object(Bucket=THUMBNAILS_BUCKET, Key=variant["key"])
        assert head["Metadata"]["source-version-id"] == current["VersionId"]


def test_a_deletion_while_rendering_leaves_its_tombstone_and_no_thumbnails(versioned: Any, settings: Settings) -> None:
    # GIVEN an original, deleted (tombstone written, thumbnails swept) while the backfill renders it
    put = versioned.put_object(Bucket=ORIGINALS_BUCKET, Key="del.jpg", Body=image_bytes())
    tombstone = {"schemaVersion": 1, "status": "deleted", "source": {"key": "del.jpg"}, "variants": []}

    def deleted_meanwhile() -> None:
        versioned.put_object(Bucket=THUMBNAILS_BUCKET, Key="del.jpg/manifest.json", Body=json.dumps(tombstone))

    # WHEN the backfill runs
    outcome = service(versioned, settings, SideEffectEngine(deleted_meanwhile)).process(backfill("del.jpg"))

    # THEN the tombstone stays and what the backfill wrote is removed again
    assert outcome == Skipped(reason=SkipReason.SUPERSEDED, key="del.jpg")
    assert manifest_of(versioned, "del.jpg")["status"] == "deleted"
    assert keys_in(versioned) == {"del.jpg/manifest.json"}
    assert put["VersionId"]


def test_a_variant_of_a_newer_object_is_never_overwritten(versioned: Any, settings: Settings) -> None:
    # GIVEN a complete set for the first upload; then a newer upload whose processing has written one variant
    versioned.put_object(Bucket=ORIGINALS_BUCKET, Key="v.jpg", Body=image_bytes(colour=(1, 1, 1)))
    first_worker = service(versioned, settings, FakeEngine())
    assert isinstance(first_worker.process(backfill("v.jpg")), Completed)
    variant = manifest_of(versioned, "v.jpg")["variants"][0]["key"]

    def newer_upload_writes_a_variant() -> None:
        newer = versioned.put_object(Bucket=ORIGINALS_BUCKET, Key="v.jpg", Body=image_bytes(colour=(2, 2, 2)))
        versioned.put_object(
            Bucket=THUMBNAILS_BUCKET,
            Key=variant,
            Body=b"newer pixels",
            Metadata={"source-version-id": newer["VersionId"], "source-etag": newer["ETag"].strip('"')},
        )

    # WHEN a backfill in mode all renders the first upload meanwhile
    engine = SideEffectEngine(newer_upload_writes_a_variant)
    outcome = service(versioned, settings, engine).process(backfill("v.jpg", "all"))

    # THEN it stops without touching the newer variant
    assert outcome == Skipped(reason=SkipReason.SUPERSEDED, key="v.jpg")
    assert versioned.get_object(Bucket=THUMBNAILS_BUCKET, Key=variant)["Body"].read() == b"newer pixels"


# --- live uploads after a preset change ---------------------------------------------------------------------


def test_a_reupload_after_a_preset_change_removes_the_dropped_presets_variant(s3: Any) -> None:
    # GIVEN a set made with two presets
    put = s3.put_object(Bucket=ORIGINALS_BUCKET, Key="r.jpg", Body=image_bytes())
    body = object_created_body(key="r.jpg", etag=put["ETag"].strip('"'), size=None)
    assert isinstance(service(s3, function_settings(presets=TWO_PRESETS), FakeEngine()).process(body), Completed)

    # WHEN the key is uploaded again after "large" was dropped
    again = s3.put_object(Bucket=ORIGINALS_BUCKET, Key="r.jpg", Body=image_bytes(colour=(5, 5, 5)))
    body = object_created_body(key="r.jpg", etag=again["ETag"].strip('"'), size=None, sequencer="0055AED6DCD90281E6")
    outcome = service(s3, function_settings(presets=ONE_PRESET), FakeEngine()).process(body)

    # THEN only the configured preset's variant and the manifest remain
    assert isinstance(outcome, Completed)
    assert keys_in(s3) == {"r.jpg/small.jpg", "r.jpg/manifest.json"}


# --- the fingerprint ----------------------------------------------------------------------------------------


def test_the_fingerprint_ignores_order_and_spelling_but_not_settings_or_the_engine() -> None:
    presets = function_settings(presets=TWO_PRESETS).config.presets
    reordered = function_settings(presets=list(reversed(TWO_PRESETS))).config.presets
    spelled_out = function_settings(
        presets=[{**TWO_PRESETS[0], "progressive": False, "background": "#FFFFFF"}, TWO_PRESETS[1]]
    ).config.presets
    changed = function_settings(presets=[{**TWO_PRESETS[0], "quality": 81}, TWO_PRESETS[1]]).config.presets

    assert presets_fingerprint(presets) == presets_fingerprint(reordered) == presets_fingerprint(spelled_out)
    assert presets_fingerprint(presets) != presets_fingerprint(changed)
    assert presets_fingerprint(presets) != presets_fingerprint(presets, engine_version=2)
