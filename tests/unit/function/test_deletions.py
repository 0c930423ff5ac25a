"""Deleting an original removes its thumbnails, against moto S3: what is deleted, what is kept, what is retried."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.builders import (
    DELETE_MARKER_CREATED,
    MOTO_SEQUENCER,
    ORIGINALS_BUCKET,
    PERMANENTLY_DELETED,
    THUMBNAILS_BUCKET,
    function_environ,
    object_deleted_body,
)
from tests.faults import inject_s3_fault
from thumbnailer.contract import Settings
from thumbnailer.imaging.engine import Rendition
from thumbnailer.imaging.presets import Limits
from thumbnailer.outcomes import Completed, Removed, Skipped, TransientError

from .conftest import SESSION, TEST_CLIENT_CONFIG, FakeEngine, S3Call
from .test_service import (
    DEFAULT_VARIANTS,
    body_for,
    manifest_of,
    put_manifest,
    service_for,
    thumbnail_keys,
    upload,
)

ALL_VARIANTS = tuple(f"a.jpg/{name}" for name in DEFAULT_VARIANTS)


def versioned(s3: Any) -> None:
    s3.put_bucket_versioning(Bucket=ORIGINALS_BUCKET, VersioningConfiguration={"Status": "Enabled"})


def processed(s3: Any, settings: Settings, key: str, data: bytes = b"original bytes", **event: Any) -> dict[str, Any]:
    """Upload an original and process its Object Created event; returns S3's answer to the upload."""
    put = upload(s3, key, data)
    outcome = service_for(s3, settings, FakeEngine()).process(body_for(key, put, **event))
    assert isinstance(outcome, Completed)
    return put


def deleted_body(key: str, **overrides: Any) -> str:
    return object_deleted_body(key=key, **overrides)


def put_thumbnail(s3: Any, key: str, *, sequencer: str, body: bytes = b"pixels") -> None:
    s3.put_object(Bucket=THUMBNAILS_BUCKET, Key=key, Body=body, Metadata={"source-sequencer": sequencer})


# --- removed ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["aws", "moto"])
def test_deleting_a_processed_original_removes_its_thumbnails_and_leaves_a_tombstone(
    s3: Any, settings: Settings, shape: str
) -> None:
    # GIVEN an original with a complete set of thumbnails (moto: both events carry the same sequencer)
    processed(s3, settings, "a.jpg", shape=shape, **({"sequencer": "01"} if shape == "aws" else {}))

    # WHEN the original is deleted and its Object Deleted event processed
    s3.delete_object(Bucket=ORIGINALS_BUCKET, Key="a.jpg")
    body = deleted_body("a.jpg", shape=shape, **({"sequencer": "02"} if shape == "aws" else {}))
    outcome = service_for(s3, settings).process(body)

    # THEN every thumbnail is gone, and the manifest is a tombstone saying so
    assert outcome == Removed(key="a.jpg", variant_keys=ALL_VARIANTS)
    assert thumbnail_keys(s3) == ["a.jpg/manifest.json"]
    manifest = manifest_of(s3, "a.jpg")
    assert manifest["status"] == "deleted"
    assert manifest["variants"] == []
    assert manifest["removedVariants"] == list(ALL_VARIANTS)
    assert manifest["generatedAt"] == "2026-11-27T17:00:00Z"
    assert manifest["source"]["bucket"] == ORIGINALS_BUCKET
    assert manifest["source"]["key"] == "a.jpg"
    assert manifest["source"]["sequencer"] == ("02" if shape == "aws" else MOTO_SEQUENCER)


def test_a_delete_marker_in_a_versioned_bucket_removes_the_thumbnails(s3: Any, settings: Settings) -> None:
    # GIVEN a processed original in a versioned bucket
    versioned(s3)
    processed(s3, settings, "a.jpg", sequencer="01")

    # WHEN a plain DELETE puts a delete marker on top of it (the object stays as a non-current version)
    marker = s3.delete_object(Bucket=ORIGINALS_BUCKET, Key="a.jpg")
    body = deleted_body("a.jpg", version_id=marker["VersionId"], sequencer="02", deletion_type=DELETE_MARKER_CREATED)
    outcome = service_for(s3, settings).process(body)

    # THEN the thumbnails go all the same: the key no longer serves an image
    assert outcome == Removed(key="a.jpg", variant_keys=ALL_VARIANTS)
    assert thumbnail_keys(s3) == ["a.jpg/manifest.json"]
    source = manifest_of(s3, "a.jpg")["source"]
    assert (source["versionId"], source["deletionType"]) == (marker["VersionId"], DELETE_MARKER_CREATED)


def test_deleting_an_unknown_key_writes_only_a_tombstone(s3: Any, settings: Settings) -> None:
    # GIVEN a key that was never processed (its Object Created event may still be on its way)
    outcome = service_for(s3, settings).process(deleted_body("never-seen.jpg", sequencer="02"))

    # THEN there is nothing to delete, but the tombstone is there to stop that late event
    assert outcome == Removed(key="never-seen.jpg", variant_keys=())
    assert thumbnail_keys(s3) == ["never-seen.jpg/manifest.json"]
    assert manifest_of(s3, "never-seen.jpg")["status"] == "deleted"


def test_thumbnails_listed_by_the_manifest_go_even_if_the_presets_changed_since(s3: Any) -> None:
    # GIVEN an original processed with an "old" preset that the configuration no longer has
    old_presets = [{"name": "old", "width": 100, "format": "jpeg"}]
    processed(s3, Settings.from_environment(function_environ(presets=old_presets)), "a.jpg", sequencer="01")
    assert thumbnail_keys(s3) == ["a.jpg/manifest.json", "a.jpg/old.jpg"]

    # WHEN it is deleted under today's presets
    s3.delete_object(Bucket=ORIGINALS_BUCKET, Key="a.jpg")
    settings = Settings.from_environment(function_environ())
    outcome = service_for(s3, settings).process(deleted_body("a.jpg", sequencer="02"))

    # THEN the manifest's list is honoured
    assert outcome == Removed(key="a.jpg", variant_keys=("a.jpg/old.jpg",))
    assert thumbnail_keys(s3) == ["a.jpg/manifest.json"]


def test_a_manifest_cannot_point_the_deletion_at_anything_but_its_own_thumbnails(s3: Any, settings: Settings) -> None:
    # GIVEN a manifest for "a.jpg" naming another original's thumbnail, a nested key and itself
    others = ["b.jpg/w256.jpg", "a.jpg/sub.jpg/w256.jpg", "a.jpg/manifest.json"]
    for key in others[:2]:
        put_thumbnail(s3, key, sequencer="01")
    document = {"status": "complete", "source": {"sequencer": "01"}, "variants": [{"key": key} for key in others]}
    s3.put_object(Bucket=THUMBNAILS_BUCKET, Key="a.jpg/manifest.json", Body=json.dumps(document).encode())

    # WHEN "a.jpg" is deleted
    outcome = service_for(s3, settings).process(deleted_body("a.jpg", sequencer="02"))

    # THEN nothing outside "a.jpg/<preset file>" was touched
    assert outcome == Removed(key="a.jpg", variant_keys=())
    assert thumbnail_keys(s3) == sorted([*others[:2], "a.jpg/manifest.json"])


@pytest.mark.parametrize(("stored_key", "event_key"), [("red flower.jpg", "red+flower.jpg"), ("c++.jpg", "c++.jpg")])
def test_the_deleted_key_is_found_whether_it_arrived_raw_or_url_encoded(
    s3: Any, settings: Settings, stored_key: str, event_key: str
) -> None:
    # GIVEN a processed original whose key has two spellings in an event
    processed(s3, settings, stored_key, sequencer="01")

    # WHEN it is deleted
    s3.delete_object(Bucket=ORIGINALS_BUCKET, Key=stored_key)
    outcome = service_for(s3, settings).process(deleted_body(event_key, sequencer="02"))

    # THEN the spelling that has a manifest is the one cleaned up
    assert isinstance(outcome, Removed)
    assert outcome.key == stored_key
    assert thumbnail_keys(s3) == [f"{stored_key}/manifest.json"]


# --- skipped -----------------------------------------------------------------------------------------


def test_deleting_a_noncurrent_version_keeps_the_current_objects_thumbnails(s3: Any, settings: Settings) -> None:
    # GIVEN a versioned key uploaded twice, both processed
    versioned(s3)
    first = processed(s3, settings, "a.jpg", b"first", sequencer="01")
    processed(s3, settings, "a.jpg", b"second", sequencer="02")

    # WHEN the first (now non-current) version is deleted permanently
    s3.delete_object(Bucket=ORIGINALS_BUCKET, Key="a.jpg", VersionId=first["VersionId"])
    body = deleted_body("a.jpg", version_id=first["VersionId"], sequencer="03", deletion_type=PERMANENTLY_DELETED)
    outcome = service_for(s3, settings).process(body)

    # THEN the key still has an object, so its thumbnails and manifest stay
    assert outcome == Skipped(reason="still_exists", key="a.jpg")
    assert thumbnail_keys(s3) == sorted([*ALL_VARIANTS, "a.jpg/manifest.json"])
    assert manifest_of(s3, "a.jpg")["status"] == "complete"


def test_a_delete_event_older_than_the_manifest_in_place_is_superseded(s3: Any, settings: Settings) -> None:
    # GIVEN a manifest and a thumbnail of an upload newer than the deletion (itself since deleted again)
    put_manifest(s3, "a.jpg", sequencer="05", etag="newer")
    put_thumbnail(s3, "a.jpg/w256.jpg", sequencer="05")

    # WHEN the older deletion's event arrives late
    outcome = service_for(s3, settings).process(deleted_body("a.jpg", sequencer="02"))

    # THEN it changes nothing: the later deletion's own event will clean up
    assert outcome == Skipped(reason="superseded", key="a.jpg")
    assert thumbnail_keys(s3) == ["a.jpg/manifest.json", "a.jpg/w256.jpg"]
    assert manifest_of(s3, "a.jpg")["source"]["etag"] == "newer"


def test_a_deletion_outside_the_key_filter_is_skipped_without_any_s3_call(
    s3: Any, settings: Settings, s3_calls: list[S3Call]
) -> None:
    outcome = service_for(s3, settings).process(deleted_body("notes/readme.txt"))

    assert outcome == Skipped(reason="key_filtered", key="notes/readme.txt")
    assert s3_calls == []


def test_an_ambiguous_key_with_no_manifest_under_either_spelling_writes_nothing(s3: Any, settings: Settings) -> None:
    outcome = service_for(s3, settings).process(deleted_body("a+b.jpg", sequencer="02"))

    assert outcome == Skipped(reason="nothing_to_remove", key="a+b.jpg")
    assert thumbnail_keys(s3) == []


# --- ordering: late events and concurrent uploads --------------------------------------------------


@pytest.mark.parametrize("bucket_versioned", [True, False])
def test_an_older_upload_delivered_after_the_deletion_is_superseded(
    s3: Any, settings: Settings, fake_engine: FakeEngine, bucket_versioned: bool
) -> None:
    # GIVEN an upload deleted before its Object Created event was processed, and the deletion processed
    if bucket_versioned:
        versioned(s3)
    put = upload(s3, "a.jpg")
    s3.delete_object(Bucket=ORIGINALS_BUCKET, Key="a.jpg")
    service = service_for(s3, settings, fake_engine)
    assert isinstance(service.process(deleted_body("a.jpg", sequencer="02")), Removed)

    # WHEN the upload's event arrives (in a versioned bucket its version can still be read)
    outcome = service.process(body_for("a.jpg", put, sequencer="01"))

    # THEN the tombstone wins: no thumbnails of a deleted image appear
    assert outcome == Skipped(reason="superseded", key="a.jpg")
    assert fake_engine.calls == []
    assert thumbnail_keys(s3) == ["a.jpg/manifest.json"]
    assert manifest_of(s3, "a.jpg")["status"] == "deleted"


def test_a_newer_upload_replaces_the_tombstone(s3: Any, settings: Settings) -> None:
    # GIVEN a deleted original
    processed(s3, settings, "a.jpg", sequencer="01")
    s3.delete_object(Bucket=ORIGINALS_BUCKET, Key="a.jpg")
    service_for(s3, settings).process(deleted_body("a.jpg", sequencer="02"))

    # WHEN the key is uploaded again
    processed(s3, settings, "a.jpg", b"again", sequencer="03")

    # THEN it gets a complete set, as any upload
    assert thumbnail_keys(s3) == sorted([*ALL_VARIANTS, "a.jpg/manifest.json"])
    assert manifest_of(s3, "a.jpg")["status"] == "complete"


def test_a_thumbnail_made_from_a_newer_upload_is_kept(s3: Any, settings: Settings) -> None:
    # GIVEN a re-upload being processed at the same time: one thumbnail already rewritten from it
    processed(s3, settings, "a.jpg", sequencer="01")
    s3.delete_object(Bucket=ORIGINALS_BUCKET, Key="a.jpg")
    put_thumbnail(s3, "a.jpg/w256.jpg", sequencer="03", body=b"newer pixels")

    # WHEN the deletion (between the two uploads) is processed
    outcome = service_for(s3, settings).process(deleted_body("a.jpg", sequencer="02"))

    # THEN the newer thumbnail survives for the re-upload's manifest to claim
    assert outcome == Removed(key="a.jpg", variant_keys=tuple(key for key in ALL_VARIANTS if key != "a.jpg/w256.jpg"))
    assert s3.get_object(Bucket=THUMBNAILS_BUCKET, Key="a.jpg/w256.jpg")["Body"].read() == b"newer pixels"


def test_a_thumbnail_rewritten_between_inspection_and_deletion_is_kept(s3: Any, settings: Settings) -> None:
    # GIVEN a processed, deleted original
    processed(s3, settings, "a.jpg", sequencer="01")
    s3.delete_object(Bucket=ORIGINALS_BUCKET, Key="a.jpg")

    def rewrite_just_before_delete(params: dict[str, Any], **_: Any) -> None:
        # another writer replaces the thumbnail after it was inspected, before it is deleted
        if params["Key"] == "a.jpg/w256.jpg":
            s3.put_object(Bucket=THUMBNAILS_BUCKET, Key="a.jpg/w256.jpg", Body=b"rewritten")

    s3.meta.events.register("provide-client-params.s3.DeleteObject", rewrite_just_before_delete)

    # WHEN the deletion is processed
    outcome = service_for(s3, settings).process(deleted_body("a.jpg", sequencer="02"))

    # THEN the conditional delete left the rewritten object alone
    assert isinstance(outcome, Removed)
    assert "a.jpg/w256.jpg" not in outcome.variant_keys
    assert s3.get_object(Bucket=THUMBNAILS_BUCKET, Key="a.jpg/w256.jpg")["Body"].read() == b"rewritten"


def test_an_upload_overtaken_by_its_deletion_while_rendering_removes_what_it_wrote(s3: Any, settings: Settings) -> None:
    # GIVEN the original is deleted, and the deletion processed, while its upload's thumbnails are being rendered
    put = upload(s3, "a.jpg")
    service = service_for(s3, settings, FakeEngine())

    def engine_overtaken_by_the_deletion(data: bytes, presets: Any, limits: Limits) -> Rendition:
        s3.delete_object(Bucket=ORIGINALS_BUCKET, Key="a.jpg")
        assert isinstance(service.process(deleted_body("a.jpg", sequencer="02")), Removed)
        return FakeEngine()(data, presets, limits)

    # WHEN the upload's processing goes on to write its thumbnails and manifest
    outcome = service_for(s3, settings, engine_overtaken_by_the_deletion).process(
        body_for("a.jpg", put, sequencer="01")
    )

    # THEN its manifest loses to the tombstone, and the thumbnails it wrote are deleted again
    assert outcome == Skipped(reason="superseded", key="a.jpg")
    assert thumbnail_keys(s3) == ["a.jpg/manifest.json"]
    assert manifest_of(s3, "a.jpg")["status"] == "deleted"


def test_a_restored_original_gets_its_thumbnails_back(s3: Any, settings: Settings) -> None:
    # GIVEN a versioned original, processed, then deleted with a delete marker, and that processed
    versioned(s3)
    processed(s3, settings, "a.jpg", sequencer="01")
    marker = s3.delete_object(Bucket=ORIGINALS_BUCKET, Key="a.jpg")
    body = deleted_body("a.jpg", version_id=marker["VersionId"], sequencer="02", deletion_type=DELETE_MARKER_CREATED)
    assert isinstance(service_for(s3, settings).process(body), Removed)

    # WHEN the delete marker is removed (the undo S3 offers; it emits no Object Created, only this event)
    s3.delete_object(Bucket=ORIGINALS_BUCKET, Key="a.jpg", VersionId=marker["VersionId"])
    body = deleted_body("a.jpg", version_id=marker["VersionId"], sequencer="03", deletion_type=PERMANENTLY_DELETED)
    outcome = service_for(s3, settings, FakeEngine()).process(body)

    # THEN the original is rendered again, ordered at that event
    assert outcome == Completed(key="a.jpg", variant_keys=ALL_VARIANTS)
    manifest = manifest_of(s3, "a.jpg")
    assert (manifest["status"], manifest["source"]["sequencer"]) == ("complete", "03")
    assert thumbnail_keys(s3) == sorted([*ALL_VARIANTS, "a.jpg/manifest.json"])


# --- transient: retried, and never a complete manifest naming a deleted thumbnail ---------------------


def test_a_failed_thumbnail_delete_is_transient_and_the_retry_finishes_from_the_tombstone(
    s3: Any, settings: Settings
) -> None:
    # GIVEN a processed original, deleted, with S3 failing every DeleteObject
    processed(s3, settings, "a.jpg", sequencer="01")
    s3.delete_object(Bucket=ORIGINALS_BUCKET, Key="a.jpg")
    inject_s3_fault(s3, "DeleteObject", 503, "SlowDown")

    # WHEN the deletion is processed
    with pytest.raises(TransientError) as raised:
        service_for(s3, settings).process(deleted_body("a.jpg", sequencer="02"))

    # THEN it will be retried, and meanwhile the manifest no longer claims a complete set
    assert raised.value.reason == "SlowDown"
    assert manifest_of(s3, "a.jpg")["status"] == "deleted"
    assert thumbnail_keys(s3) == sorted([*ALL_VARIANTS, "a.jpg/manifest.json"])

    # WHEN the message is delivered again, S3 healthy, under presets that have since changed
    healthy_client = SESSION.client("s3", config=TEST_CLIENT_CONFIG)
    other_presets = Settings.from_environment(function_environ(presets=[{"name": "new", "width": 64, "format": "png"}]))
    outcome = service_for(healthy_client, other_presets).process(deleted_body("a.jpg", sequencer="02"))

    # THEN the tombstone's list of what to remove finishes the job
    assert outcome == Removed(key="a.jpg", variant_keys=ALL_VARIANTS)
    assert thumbnail_keys(s3) == ["a.jpg/manifest.json"]


def test_a_failed_tombstone_write_deletes_nothing(s3: Any, settings: Settings) -> None:
    # GIVEN a processed, deleted original, with S3 failing the manifest write
    processed(s3, settings, "a.jpg", sequencer="01")
    s3.delete_object(Bucket=ORIGINALS_BUCKET, Key="a.jpg")
    inject_s3_fault(s3, "PutObject", 500, "InternalError", key_suffix="/manifest.json")

    # WHEN the deletion is processed
    with pytest.raises(TransientError):
        service_for(s3, settings).process(deleted_body("a.jpg", sequencer="02"))

    # THEN the complete set is untouched (the complete manifest still names only thumbnails that exist)
    assert manifest_of(s3, "a.jpg")["status"] == "complete"
    assert thumbnail_keys(s3) == sorted([*ALL_VARIANTS, "a.jpg/manifest.json"])


def test_access_denied_on_the_existence_check_is_transient(s3: Any, settings: Settings) -> None:
    # A 403 on HEAD is not "the object is gone": deleting thumbnails on it would be a misconfiguration's damage.
    processed(s3, settings, "a.jpg", sequencer="01")
    inject_s3_fault(s3, "HeadObject", 403, "AccessDenied")

    with pytest.raises(TransientError):
        service_for(s3, settings).process(deleted_body("a.jpg", sequencer="02"))

    assert manifest_of(s3, "a.jpg")["status"] == "complete"
