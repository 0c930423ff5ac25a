"""End to end through the deployed template: upload to the originals bucket, read thumbnails and manifests.

One deployment serves the whole module; every test drains the queue it filled, and uses its own keys.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from PIL import Image

from local.moto_cloud import StackAssembly
from local.pipeline import LocalPipeline
from local.poller import PollReport
from local.samples import NOT_AN_IMAGE, landscape_photo, noisy_jpeg, rotated_portrait
from stacks.cdk_json import default_settings, thumbnails_defaults
from tests.assertions import assert_variants_match_manifest
from tests.faults import inject_s3_fault
from thumbnailer.contract import Settings
from thumbnailer.imaging.presets import Preset

pytestmark = pytest.mark.slow

MULTIPART_PART_BYTES = 5 * 1024 * 1024


@pytest.fixture(scope="module")
def pipeline(pipeline_assembly: StackAssembly) -> Iterator[LocalPipeline]:
    with mock_aws():
        yield LocalPipeline.deploy(pipeline_assembly, session=boto3.Session())


@pytest.fixture(scope="module")
def presets(pipeline: LocalPipeline) -> tuple[Preset, ...]:
    return Settings.from_environment(pipeline.function.environment).config.presets


def assert_complete_set(pipeline: LocalPipeline, key: str, presets: tuple[Preset, ...]) -> dict[str, Any]:
    """A complete manifest listing one variant per preset, in order, and the bucket agreeing with it."""
    manifest = assert_variants_match_manifest(pipeline.s3, bucket=pipeline.thumbnails_bucket, original_key=key)
    assert manifest["status"] == "complete"
    assert [variant["preset"] for variant in manifest["variants"]] == [preset.name for preset in presets]
    assert [variant["key"] for variant in manifest["variants"]] == [
        f"{key}/{preset.name}.{preset.extension}" for preset in presets
    ]
    return manifest


def assert_clean_run(pipeline: LocalPipeline, report: PollReport) -> None:
    """No record failed, and nothing is waiting in either dead-letter queue."""
    assert (report.failed, report.handler_errors) == (0, [])
    assert pipeline.queue_messages("IngestDeadLetterQueueUrl") == []
    assert pipeline.queue_messages("EventsDeadLetterQueueUrl") == []


def test_deployed_function_environment_comes_from_the_template(pipeline: LocalPipeline) -> None:
    # GIVEN the configuration in cdk.json
    configured = thumbnails_defaults()

    # WHEN reading the environment back from the function moto deployed
    environment = pipeline.function.environment

    # THEN the template's references were resolved to the deployed buckets, and the settings are cdk.json's
    settings = Settings.from_environment(environment)
    assert settings == default_settings(
        originals_bucket=pipeline.originals_bucket,
        thumbnails_bucket=pipeline.thumbnails_bucket,
        event_bus_name=pipeline.event_bus,
    )
    assert environment["POWERTOOLS_SERVICE_NAME"] == "thumbnailer"
    assert pipeline.mapping.batch_size == configured["batchSize"]
    assert pipeline.mapping.report_batch_item_failures


def test_an_uploaded_jpeg_gets_every_preset_and_a_complete_manifest(
    pipeline: LocalPipeline, presets: tuple[Preset, ...]
) -> None:
    # GIVEN a photo-like JPEG
    key = "photos/landscape.jpg"
    pipeline.upload(key, landscape_photo(width=1600, height=1200))

    # WHEN the queue is drained by the function
    report = pipeline.run()

    # THEN every preset and the manifest exist, each variant decodes at the size the manifest states
    assert_clean_run(pipeline, report)
    manifest = assert_complete_set(pipeline, key, presets)
    assert (manifest["source"]["width"], manifest["source"]["height"]) == (1600, 1200)


def test_a_multipart_upload_ends_with_one_complete_set(pipeline: LocalPipeline, presets: tuple[Preset, ...]) -> None:
    # GIVEN a JPEG over 5 MiB, uploaded in two parts (moto emits two Object Created events for it)
    key = "big/multipart.jpg"
    data = noisy_jpeg(width=2800, height=2100)
    assert len(data) > MULTIPART_PART_BYTES
    pipeline.upload(key, data, part_bytes=MULTIPART_PART_BYTES)

    # WHEN the queue is drained
    report = pipeline.run()

    # THEN both events were acknowledged and there is exactly one complete set, for the multipart object
    assert_clean_run(pipeline, report)
    assert report.records == 2  # moto's duplicate event really was delivered (real S3 sends one)
    manifest = assert_complete_set(pipeline, key, presets)
    uploaded = pipeline.s3.head_object(Bucket=pipeline.originals_bucket, Key=key)
    assert manifest["source"]["etag"] == uploaded["ETag"].strip('"')
    assert manifest["source"]["etag"].endswith("-2")


def test_a_key_with_spaces_plus_and_unicode_keeps_its_exact_name(
    pipeline: LocalPipeline, presets: tuple[Preset, ...]
) -> None:
    # GIVEN a key that URL-encoding would change (a space, a literal '+', non-ASCII)
    key = "uploads/red flower + ümlaut 花.jpg"
    pipeline.upload(key, landscape_photo(width=640, height=480))

    # WHEN the queue is drained
    report = pipeline.run()

    # THEN the outputs live under the exact original key
    assert_clean_run(pipeline, report)
    assert assert_complete_set(pipeline, key, presets)["source"]["key"] == key


def test_a_non_image_named_jpg_gets_a_rejected_manifest_and_no_variants(pipeline: LocalPipeline) -> None:
    # GIVEN text bytes uploaded under a .jpg name
    key = "docs/not-really.jpg"
    pipeline.upload(key, NOT_AN_IMAGE)

    # WHEN the queue is drained
    report = pipeline.run()

    # THEN the message is acknowledged (not retried) with a rejected manifest naming the reason
    assert_clean_run(pipeline, report)
    manifest = assert_variants_match_manifest(pipeline.s3, bucket=pipeline.thumbnails_bucket, original_key=key)
    assert (manifest["status"], manifest["reason"], manifest["variants"]) == ("rejected", "not_an_image", [])


def test_a_key_outside_the_rule_filter_never_reaches_the_queue(pipeline: LocalPipeline) -> None:
    # GIVEN a .txt upload next to a .jpg one
    pipeline.upload("filtered/notes.txt", b"not for the pipeline")
    pipeline.upload("filtered/photo.jpg", landscape_photo(width=320, height=240))

    # WHEN looking at what the rule delivered
    delivered = [json.loads(message["Body"]) for message in pipeline.queue_messages("IngestQueueUrl")]
    report = pipeline.run()

    # THEN only the .jpg was queued and processed
    assert [event["detail"]["object"]["key"] for event in delivered] == ["filtered/photo.jpg"]
    assert report.records == 1
    assert pipeline.thumbnail_keys("filtered/notes.txt") == []


def test_an_exif_rotated_portrait_is_upright_and_its_metadata_is_not_copied(
    pipeline: LocalPipeline, presets: tuple[Preset, ...]
) -> None:
    # GIVEN a 1600x1200 JPEG with EXIF orientation 6 (a 1200x1600 portrait), a camera make and GPS
    key = "phone/portrait.jpg"
    pipeline.upload(key, rotated_portrait(width=1200, height=1600))

    # WHEN the queue is drained
    report = pipeline.run()

    # THEN the source is reported upright and no variant carries EXIF
    assert_clean_run(pipeline, report)
    manifest = assert_complete_set(pipeline, key, presets)
    assert (manifest["source"]["width"], manifest["source"]["height"]) == (1200, 1600)
    for variant in manifest["variants"]:
        image = Image.open(io.BytesIO(pipeline.thumbnail(variant["key"])["Body"]))
        assert image.height >= image.width
        assert dict(image.getexif()) == {}


def test_a_single_503_on_a_thumbnail_write_is_retried_and_the_upload_completes(
    pipeline: LocalPipeline, presets: tuple[Preset, ...]
) -> None:
    # GIVEN S3 answers the first thumbnail write for one key with 503 SlowDown
    key = "blip/photo.jpg"
    slow_down = inject_s3_fault(pipeline.function_s3, "PutObject", 503, "SlowDown", key_prefix=f"{key}/", times=1)
    try:
        pipeline.upload(key, landscape_photo(width=320, height=240))

        # WHEN the queue is drained
        report = pipeline.run()
    finally:
        slow_down.remove()

    # THEN botocore's retry absorbed it: the 503 happened, yet the first delivery completed the set
    assert len(slow_down.answered) == 1
    assert (report.records, report.failed) == (1, 0)
    assert_complete_set(pipeline, key, presets)


def delete_every_version(pipeline: LocalPipeline, key: str) -> int:
    """Delete the original for good (every version and delete marker), as an erasure request would;
    returns how many versions went. moto emits its Object Deleted event when the last one goes (and
    none for a plain DELETE that only adds a delete marker: that case is covered by the unit tests)."""
    listed = pipeline.s3.list_object_versions(Bucket=pipeline.originals_bucket, Prefix=key)
    versions = [
        entry["VersionId"]
        for entry in [*listed.get("Versions", []), *listed.get("DeleteMarkers", [])]
        if entry["Key"] == key
    ]
    for version_id in versions:
        pipeline.s3.delete_object(Bucket=pipeline.originals_bucket, Key=key, VersionId=version_id)
    return len(versions)


def test_deleting_an_original_removes_its_thumbnails_and_leaves_a_deleted_manifest(
    pipeline: LocalPipeline, presets: tuple[Preset, ...]
) -> None:
    # GIVEN an original whose thumbnails were made
    key = "erase/me.jpg"
    pipeline.upload(key, landscape_photo(width=640, height=480))
    assert_clean_run(pipeline, pipeline.run())
    made = [variant["key"] for variant in assert_complete_set(pipeline, key, presets)["variants"]]

    # WHEN the original is deleted from the bucket
    assert delete_every_version(pipeline, key) == 1
    delivered = [json.loads(message["Body"]) for message in pipeline.queue_messages("IngestQueueUrl")]
    report = pipeline.run()

    # THEN the rule routed the deletion, and the function removed every thumbnail, keeping only a tombstone
    assert [(event["detail-type"], event["detail"]["object"]["key"]) for event in delivered] == [
        ("Object Deleted", key)
    ]
    assert_clean_run(pipeline, report)
    assert report.records == 1
    manifest = assert_variants_match_manifest(pipeline.s3, bucket=pipeline.thumbnails_bucket, original_key=key)
    assert (manifest["status"], manifest["variants"]) == ("deleted", [])
    assert (manifest["source"]["bucket"], manifest["source"]["key"]) == (pipeline.originals_bucket, key)
    assert sorted(manifest["removedVariants"]) == sorted(made)


def test_an_original_uploaded_again_after_its_deletion_gets_a_complete_set(
    pipeline: LocalPipeline, presets: tuple[Preset, ...]
) -> None:
    # GIVEN an original deleted and its deletion processed
    key = "again/photo.jpg"
    pipeline.upload(key, landscape_photo(width=320, height=240))
    pipeline.run()
    delete_every_version(pipeline, key)
    pipeline.run()
    assert pipeline.manifest(key)["status"] == "deleted"

    # WHEN the same key is uploaded again
    pipeline.upload(key, landscape_photo(width=480, height=320))
    report = pipeline.run()

    # THEN the tombstone is replaced by a complete set for the new image
    assert_clean_run(pipeline, report)
    assert assert_complete_set(pipeline, key, presets)["source"]["width"] == 480
