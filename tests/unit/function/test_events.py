"""Parsing one SQS body: the EventBridge Object Created and Object Deleted events, in real-AWS and moto shapes."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.builders import (
    DELETE_MARKER_CREATED,
    MOTO_SEQUENCER,
    object_created_body,
    object_created_event,
    object_deleted_body,
    object_deleted_event,
)
from thumbnailer.events import (
    MalformedMessage,
    ObjectCreated,
    ObjectDeleted,
    compare_sequencers,
    parse_event,
)


def parse_created(body: str) -> ObjectCreated:
    event = parse_event(body)
    assert isinstance(event, ObjectCreated)
    return event


def test_a_real_aws_event_is_parsed() -> None:
    # GIVEN a body in the documented shape, for a versioned bucket
    body = object_created_body(
        bucket="originals", key="photos/cat.jpg", size=1234, etag="abc123", version_id="v-1", sequencer="00AB"
    )

    # WHEN it is parsed
    event = parse_created(body)

    # THEN every fact is kept
    assert event == ObjectCreated(
        bucket="originals",
        raw_key="photos/cat.jpg",
        key_candidates=("photos/cat.jpg",),
        size=1234,
        etag="abc123",
        version_id="v-1",
        sequencer="00AB",
    )


def test_a_moto_event_is_parsed() -> None:
    # GIVEN moto's spelling: eTag, version-id "null" for an unversioned bucket, reason ObjectCreated
    body = object_created_body(key="a.png", etag="ffee", version_id=None, shape="moto")

    event = parse_created(body)

    assert event.etag == "ffee"
    assert event.version_id is None
    assert event.sequencer == MOTO_SEQUENCER


def test_optional_fields_may_be_absent() -> None:
    body = object_created_body(size=None, etag=None, version_id=None, sequencer=None)

    event = parse_created(body)

    assert (event.size, event.etag, event.version_id, event.sequencer) == (None, None, None, None)


def test_a_quoted_etag_is_unquoted() -> None:
    event = parse_created(object_created_body(etag='"abc-2"'))

    assert event.etag == "abc-2"


@pytest.mark.parametrize(
    ("raw_key", "candidates"),
    [
        ("photos/cat.jpg", ("photos/cat.jpg",)),
        ("red+flower.jpg", ("red flower.jpg", "red+flower.jpg")),  # classic S3 encoding: space as +
        ("c%2B%2B.jpg", ("c++.jpg", "c%2B%2B.jpg")),  # a literal plus
        ("100%25.jpg", ("100%.jpg", "100%25.jpg")),  # a literal percent
        ("caf%C3%A9+%E2%98%95.jpg", ("café ☕.jpg", "caf%C3%A9+%E2%98%95.jpg")),  # UTF-8, percent-encoded
        ("café ☕.jpg", ("café ☕.jpg",)),  # raw unicode, as moto sends it
        ("50%.jpg", ("50%.jpg",)),  # not an escape: decoding changes nothing
        ("bad%FF.jpg", ("bad%FF.jpg",)),  # an escape that is not UTF-8 cannot be an encoded key
    ],
)
def test_the_decoded_key_is_tried_first_then_the_raw_one(raw_key: str, candidates: tuple[str, ...]) -> None:
    event = parse_created(object_created_body(key=raw_key))

    assert event.raw_key == raw_key
    assert event.key_candidates == candidates


def _with(path: list[str], value: object) -> str:
    """An otherwise valid body with one field replaced (or removed, when value is ...)."""
    event = object_created_event()
    parent = event
    for name in path[:-1]:
        parent = parent[name]
    if value is ...:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return json.dumps(event)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "not JSON"),
        ("{not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('"text"', "not a JSON object"),
        (_with(["source"], "aws.sqs"), "expected source 'aws.s3'"),
        (_with(["detail"], ...), "detail: expected dict"),
        (_with(["detail", "bucket"], ...), "detail.bucket: expected dict"),
        (_with(["detail", "bucket", "name"], 7), "detail.bucket.name: expected str"),
        (_with(["detail", "object"], "key"), "detail.object: expected dict"),
        (_with(["detail", "object", "key"], ...), "detail.object.key: expected str"),
        (_with(["detail", "object", "key"], ""), "must not be empty"),
        (_with(["detail", "object", "size"], "12"), "detail.object.size"),
        (_with(["detail", "object", "size"], -1), "detail.object.size"),
        (_with(["detail", "object", "size"], True), "detail.object.size"),
        (_with(["detail", "object", "etag"], 5), "detail.object.etag"),
        (_with(["detail", "object", "sequencer"], "not-hex"), "detail.object.sequencer"),
        (json.dumps({"Records": [{"s3": {}}]}), "expected source"),  # a classic S3 notification
    ],
)
def test_anything_but_an_object_created_event_is_malformed(body: str, message: str) -> None:
    with pytest.raises(MalformedMessage, match=message):
        parse_event(body)


def test_a_real_aws_delete_marker_event_is_parsed() -> None:
    # GIVEN a plain DELETE in a versioned bucket, in the documented shape
    body = object_deleted_body(
        key="red+flower.jpg", version_id="marker-1", sequencer="00AC", deletion_type=DELETE_MARKER_CREATED
    )

    # WHEN it is parsed
    event = parse_event(body)

    # THEN it is a deletion, with the spellings of its key
    assert event == ObjectDeleted(
        bucket="originals",
        raw_key="red+flower.jpg",
        key_candidates=("red flower.jpg", "red+flower.jpg"),
        version_id="marker-1",
        sequencer="00AC",
        deletion_type="Delete Marker Created",
    )


def test_a_moto_delete_event_is_parsed() -> None:
    # GIVEN moto's spelling: no deletion-type, size and eTag of the deleted object, version-id "null"
    body = object_deleted_body(key="a.png", shape="moto")

    event = parse_event(body)

    assert isinstance(event, ObjectDeleted)
    assert (event.version_id, event.sequencer, event.deletion_type) == (None, MOTO_SEQUENCER, None)


def test_parse_event_tells_creations_from_deletions() -> None:
    assert isinstance(parse_event(object_created_body()), ObjectCreated)
    assert isinstance(parse_event(object_deleted_body()), ObjectDeleted)


def _deleted_with(path: list[str], value: object) -> str:
    event = object_deleted_event()
    parent = event
    for name in path[:-1]:
        parent = parent[name]
    parent[path[-1]] = value
    return json.dumps(event)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_with(["detail-type"], "Object Restore Completed"), "'Object Created' or 'Object Deleted'"),
        (_deleted_with(["detail", "deletion-type"], 3), "detail.deletion-type"),
        (_deleted_with(["detail", "deletion-type"], ""), "detail.deletion-type"),
        (_deleted_with(["detail", "object", "key"], ""), "must not be empty"),
        (_deleted_with(["detail", "object", "sequencer"], "zz"), "detail.object.sequencer"),
        (_deleted_with(["detail", "bucket"], "originals"), "detail.bucket: expected dict"),
    ],
)
def test_anything_but_a_well_formed_created_or_deleted_event_is_malformed(body: str, message: str) -> None:
    with pytest.raises(MalformedMessage, match=message):
        parse_event(body)


# --- hostile bodies: a MalformedMessage, whatever the body holds -------------------------------------


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _raw(path: list[str], value: object) -> str:
    """As `_with`, but non-ASCII characters stay raw in the body: a lone surrogate is then no JSON escape
    ("\ud800" spelled with six characters) but the character itself, in the str the handler is given."""
    return json.dumps(json.loads(_with(path, value)), ensure_ascii=False)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("[" * 50_000, id="50k nested arrays (RecursionError)"),
        pytest.param('{"a": ' * 50_000, id="50k nested objects (RecursionError)"),
        pytest.param('{"detail": 1' + "1" * 5000 + "}", id="an integer past the digit limit (ValueError)"),
        pytest.param(b'{"source": "\xff"}', id="bytes that are not UTF-8 (UnicodeDecodeError)"),
        pytest.param(r'"\ud800"', id="an escaped lone surrogate"),
        pytest.param('"\ud800"', id="a raw lone surrogate"),
        pytest.param(_with(["detail", "object", "key"], "a\ud800.jpg"), id="a key with an escaped lone surrogate"),
        pytest.param(_raw(["detail", "object", "key"], "a\udfff.jpg"), id="a key with a raw lone surrogate"),
        pytest.param(_with(["detail", "bucket", "name"], "originals\ud800"), id="a bucket with a lone surrogate"),
        pytest.param(_raw(["detail", "object", "version-id"], "v\u00e9"), id="a non-ASCII version id"),
        pytest.param(_with(["detail", "object", "version-id"], "v\n1"), id="a version id with a newline"),
        pytest.param(_with(["detail", "object", "etag"], "ab\x00"), id="an etag with a NUL"),
        pytest.param(_with(["detail", "object", "sequencer"], "00AB\n"), id="a sequencer with a trailing newline"),
    ],
)
def test_a_hostile_body_is_malformed_never_another_error(body: Any) -> None:
    with pytest.raises(MalformedMessage):
        parse_event(body)


def test_a_deleted_event_with_a_lone_surrogate_deletion_type_is_malformed() -> None:
    event = object_deleted_event()
    event["detail"]["deletion-type"] = "Permanently\ud800Deleted"

    with pytest.raises(MalformedMessage, match=r"detail\.deletion-type"):
        parse_event(json.dumps(event))


def test_nesting_up_to_the_recursion_limit_is_malformed_never_a_recursion_error() -> None:
    # GIVEN bad values nested just below and above what json.loads can decode: the message describing one
    # must not recurse into it (the deeper call stack of Lambda moves the limit, so scan the whole band)
    limit = sys.getrecursionlimit()
    for depth in range(limit - 100, limit + 1):
        body = json.dumps({"source": "aws.s3", "detail-type": "Object Created"}).replace(
            "}", f', "detail": {_nested(depth)}}}'
        )

        # WHEN parsed THEN refused as malformed
        with pytest.raises(MalformedMessage):
            parse_event(body)


def assert_sendable(event: ObjectCreated | ObjectDeleted) -> None:
    """What `parse_event` promises of an event it returns: every string can go to S3 as it is."""
    for name in (event.bucket, event.raw_key, *event.key_candidates):
        name.encode()
    for header in (getattr(event, "etag", None), event.version_id):
        assert header is None or (header.isascii() and header.isprintable())
    assert event.sequencer is None or re.fullmatch(r"[0-9A-Fa-f]+", event.sequencer)


ANY_TEXT = st.text(st.characters(exclude_categories=()))  # lone surrogates included
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(ANY_TEXT, children, max_size=4),
    max_leaves=12,
)
EVENT_FIELDS = [
    ["source"],
    ["detail-type"],
    ["detail"],
    ["detail", "bucket"],
    ["detail", "bucket", "name"],
    ["detail", "object"],
    ["detail", "object", "key"],
    ["detail", "object", "size"],
    ["detail", "object", "etag"],
    ["detail", "object", "version-id"],
    ["detail", "object", "sequencer"],
    ["detail", "deletion-type"],
]
FUZZ = settings(max_examples=300, derandomize=True, deadline=None)


def _parses_or_is_malformed(body: Any) -> None:
    try:
        event = parse_event(body)
    except MalformedMessage:
        return
    assert_sendable(event)


@FUZZ
@given(body=ANY_TEXT | st.binary())
def test_any_text_parses_or_is_malformed(body: Any) -> None:
    _parses_or_is_malformed(body)


@FUZZ
@given(document=JSON_VALUES, ensure_ascii=st.booleans())
def test_any_json_document_parses_or_is_malformed(document: Any, ensure_ascii: bool) -> None:
    _parses_or_is_malformed(json.dumps(document, ensure_ascii=ensure_ascii))


@FUZZ
@given(
    deleted=st.booleans(),
    path=st.sampled_from(EVENT_FIELDS),
    value=ANY_TEXT | JSON_VALUES,  # a string most of the time: most fields want one
    ensure_ascii=st.booleans(),
)
def test_an_event_with_any_value_in_any_field_parses_or_is_malformed(
    deleted: bool, path: list[str], value: Any, ensure_ascii: bool
) -> None:
    # GIVEN a valid event with one field replaced by an arbitrary JSON value
    event = object_deleted_event() if deleted else object_created_event()
    parent = event
    for name in path[:-1]:
        parent = parent[name]
    parent[path[-1]] = value

    # THEN it parses into an event S3 can be asked about, or it is malformed: nothing else
    _parses_or_is_malformed(json.dumps(event, ensure_ascii=ensure_ascii))


@pytest.mark.parametrize(
    ("first", "second", "order"),
    [
        ("0055AED6DCD90281E5", "0055AED6DCD90281E5", 0),
        ("0055AED6DCD90281E6", "0055AED6DCD90281E5", 1),
        ("0055AED6DCD90281E5", "0055AED6DCD90281F0", -1),
        ("1", "0000000000000001", 0),  # left-padded to equal length
        ("FF", "0100", -1),  # shorter is smaller once padded, although "FF" > "0100" as plain strings
        ("00ab", "00AA", 1),  # case does not matter
    ],
)
def test_sequencers_compare_as_padded_hex(first: str, second: str, order: int) -> None:
    assert compare_sequencers(first, second) == order
