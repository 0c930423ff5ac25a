"""What processing one message can come to.

`Completed`, `Removed`, `Rejected` and `Skipped` are final: the message is acknowledged. `TransientError` is raised,
not returned: the record is reported as failed, SQS delivers it again, and after the queue's
maxReceiveCount the dead-letter queue keeps it. Anything else escaping is a bug and is treated the same way.

A final outcome that wrote a manifest carries it (`manifest`, a `WrittenManifest`): that is what the service
announces once the work is done. It is a payload, not part of what the outcome is: outcomes compare without it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from .imaging.rejections import RejectReason


class MessageRejectReason(StrEnum):
    """Permanent problems with the message itself, next to the image ones in `RejectReason`."""

    MALFORMED_MESSAGE = "malformed_message"
    WRONG_BUCKET = "wrong_bucket"
    SOURCE_MISSING = "source_missing"  # S3 is strongly consistent: the object was deleted or overwritten
    KEY_TOO_LONG = "key_too_long"  # an output key would exceed S3's 1024-byte limit


class SkipReason(StrEnum):
    KEY_FILTERED = "key_filtered"  # outside KEY_PREFIX / KEY_SUFFIXES
    SUPERSEDED = "superseded"  # a newer upload (or deletion) of the same key already has a manifest
    STILL_EXISTS = "still_exists"  # an Object Deleted event, but the key still has a current object
    NOTHING_TO_REMOVE = "nothing_to_remove"  # a deleted key with two spellings, neither with a manifest
    UP_TO_DATE = "up_to_date"  # a backfill message whose mode the manifest in place already satisfies
    SOURCE_GONE = "source_gone"  # a backfill message for a key that has no current object (any more)


REJECT_REASONS = frozenset(RejectReason) | frozenset(MessageRejectReason)


@dataclass(frozen=True, kw_only=True)
class WrittenManifest:
    """A manifest this invocation wrote, exactly as written, and the status of the one it replaced."""

    original_key: str
    document: Mapping[str, Any]
    replaced_status: str | None  # "complete", "rejected", "deleted"; None when the key had no manifest
    replaced_keys: tuple[str, ...] = ()  # the thumbnails the replaced manifest named


@dataclass(frozen=True, kw_only=True)
class Completed:
    kind: ClassVar[str] = "completed"
    key: str
    variant_keys: tuple[str, ...]  # in the thumbnails bucket, manifest not included
    manifest: WrittenManifest | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, kw_only=True)
class Removed:
    """The original is gone: its thumbnails were deleted and its manifest says "deleted"."""

    kind: ClassVar[str] = "removed"
    key: str
    variant_keys: tuple[str, ...]  # the thumbnails deleted now (none when there were none left)
    manifest: WrittenManifest | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, kw_only=True)
class Rejected:
    kind: ClassVar[str] = "rejected"
    reason: str  # a RejectReason or MessageRejectReason value
    detail: str
    key: str | None = None  # None when the message names no usable key
    manifest_written: bool = False
    manifest: WrittenManifest | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.reason not in REJECT_REASONS:
            raise ValueError(f"unknown reject reason {self.reason!r}; allowed: {', '.join(sorted(REJECT_REASONS))}")


@dataclass(frozen=True, kw_only=True)
class Skipped:
    kind: ClassVar[str] = "skipped"
    reason: SkipReason
    key: str | None = None


Outcome = Completed | Removed | Rejected | Skipped


class TransientError(Exception):
    """Worth retrying: S3 5xx, throttling, timeouts, connection errors, and AccessDenied (a misconfiguration
    must not drop uploads: the message waits in the DLQ until it is fixed)."""

    kind: ClassVar[str] = "transient"

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason  # e.g. the S3 error code, or the botocore exception name
        self.detail = detail
