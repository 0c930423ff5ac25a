"""The pure parts of the S3 adapter and the manifest: output keys, metadata, reading a manifest back."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from thumbnailer.events import parse_object_created
from thumbnailer.imaging.presets import DEFAULT_PRESETS, Preset
from thumbnailer.manifest import ExistingManifest, SourceFacts, rejected_manifest
from thumbnailer.storage import ascii_metadata, manifest_key, output_keys_fit, variant_key

from tests.builders import object_created_body

W1024 = Preset(name="w1024", width=1024, height=None, format="webp")


def test_outputs_live_under_the_original_key() -> None:
    assert variant_key("photos/cat 1.jpg", W1024) == "photos/cat 1.jpg/w1024.webp"
    assert manifest_key("photos/cat 1.jpg") == "photos/cat 1.jpg/manifest.json"


@pytest.mark.parametrize(
    ("key", "fits"),
    [
        ("k" * (1024 - len("/square-128.jpg")), True),  # the longest output is exactly 1024 bytes
        ("k" * (1024 - len("/square-128.jpg") + 1), False),
        ("é" * 504, True),  # 1008 bytes of UTF-8 + "/square-128.jpg" is 1023
        ("é" * 505, False),  # bytes count, not characters
    ],
)
def test_output_keys_must_fit_s3s_key_limit_in_bytes(key: str, fits: bool) -> None:
    assert output_keys_fit(key, DEFAULT_PRESETS) is fits


def test_metadata_keeps_only_printable_ascii_values() -> None:
    metadata = {"source-etag": "abc", "source-version-id": None, "source-sequencer": "ßad", "empty": "", "nl": "a\nb"}

    assert ascii_metadata(metadata) == {"source-etag": "abc"}


def test_an_existing_manifest_yields_its_source_facts() -> None:
    body = b'{"source": {"sequencer": "00ff", "etag": "abc", "versionId": "v1"}}'

    existing = ExistingManifest.from_json(body, object_etag='"m1"')

    assert existing == ExistingManifest(object_etag='"m1"', sequencer="00ff", source_etag="abc", source_version_id="v1")


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"[]", b'{"source": []}', b'{"source": {"sequencer": "xyz"}}', b"\xff\xfe"],
)
def test_an_unreadable_manifest_yields_no_facts_and_blocks_nothing(body: bytes) -> None:
    existing = ExistingManifest.from_json(body, object_etag='"m1"')

    assert existing.sequencer is None
    assert existing.is_newer_than(parse_object_created(object_created_body(sequencer="00"))) is False


def test_generated_at_is_written_in_utc() -> None:
    source = SourceFacts(bucket="b", key="k", etag=None, version_id=None, sequencer=None, size=None)
    two_hours_east = datetime(2026, 11, 27, 19, 0, tzinfo=timezone(timedelta(hours=2)))

    manifest = rejected_manifest(source=source, reason="corrupt", detail="d", generated_at=two_hours_east)

    assert manifest["generatedAt"] == "2026-11-27T17:00:00Z"
