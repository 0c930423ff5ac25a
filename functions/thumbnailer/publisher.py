"""The EventBridge adapter: announce each written manifest on the pipeline's event bus, one event per manifest.

    source       "thumbnail-pipeline"                      (contract.EVENT_SOURCE)
    detail-type  "Thumbnails Ready" | "Thumbnails Rejected" | "Thumbnails Removed", by the manifest's status
    detail       the manifest exactly as written, plus "thumbnailsBucket" and "manifestKey"

At least once, never silently lost: PutEvents answers 200 even when its entry failed, so a non-zero
FailedEntryCount is a `TransientError` just like a throttled or refused call. The record is then retried,
the manifest written again and announced again: consumers see duplicates (and, EventBridge being unordered,
out-of-order events), and dedupe on manifestKey + status + source.sequencer (or source.etag and versionId).

Size: a PutEvents entry may be at most 256 KB (Source + DetailType + Detail + Resources, in UTF-8). A manifest
is a few KB (at most 10 presets; keys of at most 1 KiB), so the whole manifest travels. A tombstone's
`removedVariants` is read from the manifest it replaced, which the bucket could make arbitrarily long: an
oversized detail leaves out its variant lists and says so (`"truncated": true`); the manifest at
`manifestKey` is always complete.

The client is injected (tests, the local pipeline) or created on first use, never at import.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from .contract import DETAIL_TYPES, EVENT_SOURCE
from .outcomes import TransientError, WrittenManifest
from .storage import manifest_key

if TYPE_CHECKING:
    from botocore.config import Config
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

MAX_ENTRY_BYTES = 256 * 1024  # EventBridge's limit on one PutEvents entry
TRUNCATED_LISTS = ("variants", "removedVariants")


def event_detail(written: WrittenManifest, *, thumbnails_bucket: str) -> dict[str, Any]:
    """The manifest as written, plus where it is (so a consumer needs nothing but the event to fetch the set)."""
    return {
        **written.document,
        "thumbnailsBucket": thumbnails_bucket,
        "manifestKey": manifest_key(written.original_key),
    }


def event_entry(written: WrittenManifest, *, bus_name: str, thumbnails_bucket: str) -> PutEventsRequestEntryTypeDef:
    """The PutEvents entry announcing `written`, within EventBridge's entry size limit."""
    status = written.document.get("status")
    if status not in DETAIL_TYPES:
        raise ValueError(f"a manifest with status {status!r} is not announced; expected one of {sorted(DETAIL_TYPES)}")
    detail = event_detail(written, thumbnails_bucket=thumbnails_bucket)
    entry = _entry(bus_name, DETAIL_TYPES[status], detail)
    if entry_size(entry) > MAX_ENTRY_BYTES:
        trimmed = {name: value for name, value in detail.items() if name not in TRUNCATED_LISTS}
        entry = _entry(bus_name, DETAIL_TYPES[status], {**trimmed, "truncated": True})
    return entry


def entry_size(entry: Mapping[str, Any]) -> int:
    """An entry's size as EventBridge counts it against MAX_ENTRY_BYTES."""
    size = sum(len(entry[field].encode()) for field in ("Source", "DetailType", "Detail"))
    size += sum(len(resource.encode()) for resource in entry.get("Resources", []))
    return size + (14 if "Time" in entry else 0)


def _entry(bus_name: str, detail_type: str, detail: Mapping[str, Any]) -> PutEventsRequestEntryTypeDef:
    return {
        "EventBusName": bus_name,
        "Source": EVENT_SOURCE,
        "DetailType": detail_type,
        "Detail": json.dumps(detail, ensure_ascii=False, separators=(",", ":")),
    }


class EventPublisher:
    """Puts one event per written manifest on the bus; any failure is a TransientError."""

    def __init__(
        self,
        *,
        bus_name: str,
        thumbnails_bucket: str,
        client: EventBridgeClient | None = None,
        client_config: Config | None = None,
    ) -> None:
        self._bus_name = bus_name
        self._thumbnails_bucket = thumbnails_bucket
        self._client = client
        self._client_config = client_config

    def publish(self, written: WrittenManifest) -> None:
        entry = event_entry(written, bus_name=self._bus_name, thumbnails_bucket=self._thumbnails_bucket)
        try:
            response = self._events().put_events(Entries=[entry])
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code") or "PutEventsError")
            raise TransientError(code, str(error)) from error
        except BotoCoreError as error:
            raise TransientError(type(error).__name__, str(error)) from error
        if response.get("FailedEntryCount", 0):
            failed = (response.get("Entries") or [{}])[0]
            raise TransientError(
                str(failed.get("ErrorCode") or "PutEventsFailedEntry"),
                f"the event for {manifest_key(written.original_key)!r} was not accepted: {failed.get('ErrorMessage')}",
            )

    def _events(self) -> EventBridgeClient:
        if self._client is None:
            self._client = boto3.client("events", config=self._client_config)
        return self._client
