"""The pure parts of the S3 adapter and the manifest: output keys, metadata, reading a manifest back."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.builders import DEFAULT_PRESETS, object_created_body, object_deleted_body
from thumbnailer.events import ObjectCreated, parse_event
from thumbnailer.imaging.presets import Preset
from thumbnailer.manifest import ExistingManifest, SourceFacts, deleted_manifest, rejected_manifest
from thumbnailer.storage import ascii_metadata, is_variant_key, manifest_key, output_keys_fit, variant_key

W1024 = Preset(name="w1024", width=1024, height=None, format="webp")


def created(sequencer: str) -> ObjectCreated:
    event = parse_event(object_created_body(sequencer=sequencer))
    assert isinstance(event, ObjectCreated)
    return event


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
    [
        b"",
        b"not json",
        b"[]",
        b'{"source": []}',
        b'{"source": {"sequencer": "xyz"}}',
        b'{"source": {"sequencer": "FF\\n"}}',  # hex, then a newline
        b"\xff\xfe",
        b"[" * 50_000,  # RecursionError
        b'{"source": ' * 50_000,  # RecursionError
        b'{"source": {"sequencer": "FF"}, "n": 1' + b"1" * 5000 + b"}",  # ValueError: past the int digit limit
        b'{"source": {"sequencer": "FF"}}\xff',  # not UTF-8: UnicodeDecodeError
    ],
)
def test_an_unreadable_manifest_yields_no_facts_and_blocks_nothing(body: bytes) -> None:
    existing = ExistingManifest.from_json(body, object_etag='"m1"')

    assert existing.sequencer is None
    assert existing.is_newer_than(created(sequencer="00")) is False


ANY_TEXT = st.text(st.characters(exclude_categories=()))  # lone surrogates included
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(ANY_TEXT, children, max_size=4),
    max_leaves=12,
)
MANIFEST_FIELDS = st.sampled_from(["source", "status", "variants", "removedVariants", "schemaVersion"])


@settings(max_examples=300, derandomize=True, deadline=None)
@given(
    body=st.binary()
    | JSON_VALUES.map(lambda value: json.dumps(value).encode())
    | st.dictionaries(MANIFEST_FIELDS, JSON_VALUES).map(lambda value: json.dumps(value).encode())
)
def test_any_manifest_content_reads_back_as_facts_an_s3_request_can_use(body: bytes) -> None:
    existing = ExistingManifest.from_json(body, object_etag='"m"')

    assert existing.sequencer is None or re.fullmatch(r"[0-9A-Fa-f]+", existing.sequencer)
    for key in existing.variant_keys:
        key.encode()


def test_a_listed_key_with_a_lone_surrogate_is_ignored() -> None:
    # GIVEN a manifest naming a key JSON can spell but no S3 request can carry
    body = json.dumps({"status": "deleted", "removedVariants": ["a.jpg/\ud800.jpg", "a.jpg/w256.jpg"]}).encode()

    existing = ExistingManifest.from_json(body, object_etag='"m"')

    assert existing.variant_keys == ("a.jpg/w256.jpg",)


def test_generated_at_is_written_in_utc() -> None:
    source = SourceFacts(bucket="b", key="k", etag=None, version_id=None, sequencer=None, size=None)
    two_hours_east = datetime(2026, 11, 27, 19, 0, tzinfo=timezone(timedelta(hours=2)))

    manifest = rejected_manifest(source=source, reason="corrupt", detail="d", generated_at=two_hours_east)

    assert manifest["generatedAt"] == "2026-11-27T17:00:00Z"


@pytest.mark.parametrize(
    ("key", "belongs"),
    [
        ("a.jpg/w256.jpg", True),
        ("a.jpg/manifest.json", False),  # the manifest is replaced, never deleted as a variant
        ("a.jpg/", False),
        ("a.jpg/sub.jpg/w256.jpg", False),  # a thumbnail of the original "a.jpg/sub.jpg"
        ("b.jpg/w256.jpg", False),
        ("a.jpgx/w256.jpg", False),
        ("a.jpg", False),
    ],
)
def test_only_direct_children_other_than_the_manifest_are_an_originals_variants(key: str, belongs: bool) -> None:
    assert is_variant_key("a.jpg", key) is belongs


def test_a_tombstone_reads_back_as_deleted_with_what_it_removes() -> None:
    # GIVEN the tombstone written for a deletion
    event = parse_event(object_deleted_body(key="a.jpg", version_id="m-1", sequencer="00FF"))
    tombstone = deleted_manifest(
        bucket="originals",
        key="a.jpg",
        event=event,
        removed_variant_keys=["a.jpg/w256.jpg"],
        generated_at=datetime(2026, 11, 27, 17, 0, tzinfo=UTC),
    )

    # WHEN it is read back
    existing = ExistingManifest.from_json(json.dumps(tombstone).encode(), object_etag='"m2"')

    # THEN it is a deleted manifest ordered at the deletion, listing what it removes
    assert existing.is_deleted
    assert (existing.sequencer, existing.source_version_id) == ("00FF", "m-1")
    assert existing.variant_keys == ("a.jpg/w256.jpg",)
    assert existing.is_newer_than(created(sequencer="00FE"))
    assert tombstone["variants"] == []


def test_a_complete_manifest_lists_its_variant_keys_and_ignores_junk() -> None:
    body = json.dumps(
        {"status": "complete", "variants": [{"key": "a.jpg/w256.jpg"}, {"key": 7}, "a.jpg/x.jpg", {}]}
    ).encode()

    existing = ExistingManifest.from_json(body, object_etag='"m"')

    assert (existing.status, existing.is_deleted, existing.variant_keys) == ("complete", False, ("a.jpg/w256.jpg",))
