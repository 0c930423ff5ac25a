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
import reprlib
from dataclasses import dataclass
from typing import Any, TypeGuard
from urllib.parse import unquote_plus

EVENT_SOURCE = "aws.s3"
DETAIL_TYPE = "Object Created"
DELETED_DETAIL_TYPE = "Object Deleted"
# S3 reports "null" as the version of an object in a bucket that has never been versioned.
UNVERSIONED = "null"
_HEX = re.compile(r"[0-9A-Fa-f]+")


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
    """An Object Created or Object Deleted event; for any other body, whatever it holds, a MalformedMessage.

    Nothing else ever comes out: the same bytes fail the same way on every delivery, so a body that is not an
    event is refused once and acknowledged, rather than retried into the dead-letter queue. The strings of a
    returned event can be sent to S3 as they are: bucket and key are UTF-8 text, ETag and version id printable
    ASCII (they travel in headers and query strings), the sequencer hex.
    """
    try:
        document = json.loads(body)
    except Exception as error:
        # json.loads is a pure function of the body, so whatever it raises is about the body: JSONDecodeError,
        # ValueError for an integer past Python's digit limit, RecursionError for deep nesting, TypeError, ...
        raise MalformedMessage(f"body is not JSON ({type(error).__name__}): {str(error)[:120]}") from None
    event = _envelope(document)
    if event["detail-type"] == DETAIL_TYPE:
        return _object_created(event)
    return _object_deleted(event)


def _envelope(document: Any) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise MalformedMessage(f"body is not a JSON object: {_preview(document)}")
    if document.get("source") != EVENT_SOURCE or document.get("detail-type") not in (DETAIL_TYPE, DELETED_DETAIL_TYPE):
        raise MalformedMessage(
            f"expected source {EVENT_SOURCE!r} and detail-type {DETAIL_TYPE!r} or {DELETED_DETAIL_TYPE!r}, "
            f"got {_preview(document.get('source'))} and {_preview(document.get('detail-type'))}"
        )
    return document


def _bucket_and_object(event: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    detail = _field(event, "detail", dict, "detail")
    bucket = _field(_field(detail, "bucket", dict, "detail.bucket"), "name", str, "detail.bucket.name")
    s3_object = _field(detail, "object", dict, "detail.object")
    raw_key = _field(s3_object, "key", str, "detail.object.key")
    if not bucket or not raw_key:
        raise MalformedMessage("detail.bucket.name and detail.object.key must not be empty")
    for path, value in (("detail.bucket.name", bucket), ("detail.object.key", raw_key)):
        if not is_utf8(value):
            # A lone surrogate (a JSON escape such as "\ud800"): no S3 name is spelled so.
            raise MalformedMessage(f"{path}: not valid UTF-8 text: {_preview(value)}")
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
    if deletion_type is not None and not (isinstance(deletion_type, str) and deletion_type and is_utf8(deletion_type)):
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
    if not isinstance(value, str) or not value.strip('"') or not _is_header_safe(value):
        raise MalformedMessage(f"detail.object.etag: expected printable ASCII, got {_preview(value)}")
    return value.strip('"')


def _version_id(value: Any) -> str | None:
    if value is None or value == UNVERSIONED:
        return None
    if not isinstance(value, str) or not value or not _is_header_safe(value):
        raise MalformedMessage(f"detail.object.version-id: expected printable ASCII, got {_preview(value)}")
    return value


def _sequencer(value: Any) -> str | None:
    if value is None:
        return None
    if not is_hex(value):
        raise MalformedMessage(f"detail.object.sequencer: expected a hex string, got {_preview(value)}")
    return value


def is_hex(value: object) -> TypeGuard[str]:
    """A non-empty string of hex digits only (a trailing newline included is not)."""
    return isinstance(value, str) and _HEX.fullmatch(value) is not None


def is_utf8(text: str) -> bool:
    """False for a string with a lone surrogate, which JSON can spell ("\\ud800") but UTF-8 cannot."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _is_header_safe(text: str) -> bool:
    return text.isascii() and text.isprintable()


_PREVIEW = reprlib.Repr()  # bounded in depth and width: a hostile value cannot make the message huge or recurse
_PREVIEW.maxlevel, _PREVIEW.maxstring, _PREVIEW.maxother = 3, 60, 60


def _preview(value: Any) -> str:
    """Enough of a bad value to debug it, never a whole message in a log line."""
    text = _PREVIEW.repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


def compare_sequencers(first: str, second: str) -> int:
    """-1, 0 or 1 as `first` orders before, with or after `second` (same key only).

    S3 documents sequencers as hex strings to compare after left-padding the shorter with zeros.
    """
    width = max(len(first), len(second))
    left, right = first.upper().rjust(width, "0"), second.upper().rjust(width, "0")
    return (left > right) - (left < right)
