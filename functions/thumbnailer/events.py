"""Parse one SQS message body: the EventBridge event S3 sent for a new or a deleted object.

Real S3 may URL-encode keys in events (classic notifications do; EventBridge's are not documented either
way) while moto sends them raw, so a parsed event carries every spelling the key may have and the
S3 adapter tries each one against the bucket.

The two event types differ between real S3 and moto 5.2: real "Object Deleted" events carry
`deletion-type` ("Delete Marker Created" or "Permanently Deleted"), no size, and the delete marker's
version id; moto's carry no `deletion-type`, the deleted object's size and eTag, and `reason: ObjectRemoved`.
Only the fields both share are relied on.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

EVENT_SOURCE = "aws.s3"
DETAIL_TYPE = "Object Created"
DELETED_DETAIL_TYPE = "Object Deleted"
# S3 reports "null" as the version of an object in a bucket that has never been versioned.
UNVERSIONED = "null"
HEX_PATTERN = re.compile(r"^[0-9A-Fa-f]+$")


class MalformedMessage(Exception):
    """The message is not an S3 Object Created (or Object Deleted) event: permanent, retrying cannot help."""


@dataclass(frozen=True, kw_only=True)
class ObjectCreated:
    bucket: str
    raw_key: str  # exactly as the event spelled it
    key_candidates: tuple[str, ...]  # what the key may really be: URL-decoded first when that differs, then raw
    size: int | None
    etag: str | None  # without quotes
    version_id: str | None  # None when the bucket is unversioned
    sequencer: str | None  # hex; orders events for the same key


@dataclass(frozen=True, kw_only=True)
class ObjectDeleted:
    """Some version of the key is gone. Whether the key still has a current object the event cannot say
    (a non-current version may have been deleted), so the service asks S3."""

    bucket: str
    raw_key: str  # exactly as the event spelled it
    key_candidates: tuple[str, ...]  # as for ObjectCreated
    version_id: str | None  # the delete marker's or the deleted version's; None when unversioned
    sequencer: str | None  # hex; orders events for the same key, deletes and creations alike
    deletion_type: str | None  # "Delete Marker Created" | "Permanently Deleted"; None in moto's events


S3Event = ObjectCreated | ObjectDeleted


def parse_event(body: str) -> S3Event:
    """An Object Created or Object Deleted event; anything else is a MalformedMessage."""
    event = _envelope(body, detail_types=(DETAIL_TYPE, DELETED_DETAIL_TYPE))
    if event["detail-type"] == DETAIL_TYPE:
        return _object_created(event)
    return _object_deleted(event)


def parse_object_created(body: str) -> ObjectCreated:
    return _object_created(_envelope(body, detail_types=(DETAIL_TYPE,)))


def _envelope(body: str, *, detail_types: tuple[str, ...]) -> dict[str, Any]:
    try:
        event = json.loads(body)
    except (json.JSONDecodeError, TypeError) as error:
        raise MalformedMessage(f"body is not JSON: {error}") from None
    if not isinstance(event, dict):
        raise MalformedMessage(f"body is not a JSON object: {_preview(event)}")
    if event.get("source") != EVENT_SOURCE or event.get("detail-type") not in detail_types:
        expected = " or ".join(repr(detail_type) for detail_type in detail_types)
        raise MalformedMessage(
            f"expected source {EVENT_SOURCE!r} and detail-type {expected}, "
            f"got {_preview(event.get('source'))} and {_preview(event.get('detail-type'))}"
        )
    return event


def _bucket_and_object(event: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    detail = _field(event, "detail", dict, "detail")
    bucket = _field(_field(detail, "bucket", dict, "detail.bucket"), "name", str, "detail.bucket.name")
    s3_object = _field(detail, "object", dict, "detail.object")
    raw_key = _field(s3_object, "key", str, "detail.object.key")
    if not bucket or not raw_key:
        raise MalformedMessage("detail.bucket.name and detail.object.key must not be empty")
    return bucket, raw_key, s3_object


def _object_created(event: dict[str, Any]) -> ObjectCreated:
    bucket, raw_key, s3_object = _bucket_and_object(event)
    return ObjectCreated(
        bucket=bucket,
        raw_key=raw_key,
        key_candidates=key_candidates(raw_key),
        size=_size(s3_object.get("size")),
        # Real events spell it "etag", moto "eTag".
        etag=_etag(s3_object.get("etag", s3_object.get("eTag"))),
        version_id=_version_id(s3_object.get("version-id")),
        sequencer=_sequencer(s3_object.get("sequencer")),
    )


def _object_deleted(event: dict[str, Any]) -> ObjectDeleted:
    bucket, raw_key, s3_object = _bucket_and_object(event)
    deletion_type = event["detail"].get("deletion-type")
    if deletion_type is not None and (not isinstance(deletion_type, str) or not deletion_type):
        raise MalformedMessage(f"detail.deletion-type: expected a string, got {_preview(deletion_type)}")
    return ObjectDeleted(
        bucket=bucket,
        raw_key=raw_key,
        key_candidates=key_candidates(raw_key),
        version_id=_version_id(s3_object.get("version-id")),
        sequencer=_sequencer(s3_object.get("sequencer")),
        deletion_type=deletion_type,
    )


def key_candidates(raw_key: str) -> tuple[str, ...]:
    """The URL-decoded key first (the documented S3 event encoding), then the key as it came."""
    try:
        decoded = unquote_plus(raw_key, errors="strict")
    except UnicodeDecodeError:
        return (raw_key,)  # percent-escapes that are not UTF-8: the key cannot have been encoded
    return (decoded, raw_key) if decoded and decoded != raw_key else (raw_key,)


def _field(parent: dict[str, Any], name: str, kind: type, path: str) -> Any:
    value = parent.get(name)
    if not isinstance(value, kind):
        raise MalformedMessage(f"{path}: expected {kind.__name__}, got {_preview(value)}")
    return value


def _size(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MalformedMessage(f"detail.object.size: expected a whole number, got {_preview(value)}")
    return value


def _etag(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip('"'):
        raise MalformedMessage(f"detail.object.etag: expected a string, got {_preview(value)}")
    return value.strip('"')


def _version_id(value: Any) -> str | None:
    if value is None or value == UNVERSIONED:
        return None
    if not isinstance(value, str) or not value:
        raise MalformedMessage(f"detail.object.version-id: expected a string, got {_preview(value)}")
    return value


def _sequencer(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not HEX_PATTERN.match(value):
        raise MalformedMessage(f"detail.object.sequencer: expected a hex string, got {_preview(value)}")
    return value


def _preview(value: Any) -> str:
    """Enough of a bad value to debug it, never a whole message in a log line."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


def compare_sequencers(first: str, second: str) -> int:
    """-1, 0 or 1 as `first` orders before, with or after `second` (same key only).

    S3 documents sequencers as hex strings to compare after left-padding the shorter with zeros.
    """
    width = max(len(first), len(second))
    left, right = first.upper().rjust(width, "0"), second.upper().rjust(width, "0")
    return (left > right) - (left < right)
