"""The manifest: `<original key>/manifest.json`, written after every variant, so its presence means the set is done.

Three statuses: "complete" (every variant listed exists), "rejected" (no variants, and why), and "deleted"
(the original is gone and so are, or are about to be, its variants). The deleted one is a tombstone kept on
purpose: it carries the deletion's sequencer, so an Object Created event for an older upload that arrives
after the delete finds a newer manifest and is superseded instead of resurrecting thumbnails of a deleted
image. A newer upload replaces the tombstone like any older manifest.

Pure: builds the JSON document and reads back the parts of an existing one that decide whether a
late event may replace it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .events import ObjectCreated, ObjectDeleted, S3Event, compare_sequencers, is_hex, is_utf8

if TYPE_CHECKING:
    from .imaging.engine import Rendition

SCHEMA_VERSION = 1
COMPLETE = "complete"
REJECTED = "rejected"
DELETED = "deleted"


@dataclass(frozen=True, kw_only=True)
class SourceFacts:
    """The original as S3 described it: from the GET when there was one, else from the event."""

    bucket: str
    key: str
    etag: str | None
    version_id: str | None
    sequencer: str | None
    size: int | None


@dataclass(frozen=True, kw_only=True)
class ExistingManifest:
    """What is needed from a manifest already in the bucket to decide whether to replace it."""

    object_etag: str  # the manifest object's own ETag, for a conditional overwrite
    sequencer: str | None
    source_etag: str | None
    source_version_id: str | None
    status: str | None = None
    # Every thumbnail key the manifest names: its variants, or for a tombstone the ones being removed.
    # Unchecked: whoever deletes them must make sure they belong to the original.
    variant_keys: tuple[str, ...] = ()
    fingerprint: str | None = None  # of the presets and engine that made a complete set (None: not recorded)

    @classmethod
    def from_json(cls, body: bytes, *, object_etag: str) -> ExistingManifest:
        """Unreadable or foreign content yields no facts, so it never blocks a fresh manifest.

        Whatever the bucket holds, this returns: the content is read back, not trusted, and a manifest that
        made every event for its key fail would send them all to the dead-letter queue.
        """
        try:
            document = json.loads(body)
        except Exception:  # ValueError (bad JSON, bad UTF-8, too many digits), RecursionError (deep nesting), ...
            document = {}
        if not isinstance(document, dict):
            document = {}
        source = document.get("source", {})
        if not isinstance(source, dict):
            source = {}

        def text(name: str) -> str | None:
            value = source.get(name)
            return value if isinstance(value, str) and value else None

        sequencer = text("sequencer")
        return cls(
            object_etag=object_etag,
            sequencer=sequencer if is_hex(sequencer) else None,
            source_etag=text("etag"),
            source_version_id=text("versionId"),
            status=document.get("status") if isinstance(document.get("status"), str) else None,
            variant_keys=_listed_keys(document),
            fingerprint=document.get("fingerprint") if isinstance(document.get("fingerprint"), str) else None,
        )

    @property
    def is_deleted(self) -> bool:
        return self.status == DELETED

    def is_newer_than(self, event: S3Event) -> bool:
        """True when this manifest is for a later change of the key than `event` (by sequencer)."""
        if self.sequencer is None or event.sequencer is None:
            return False
        return compare_sequencers(self.sequencer, event.sequencer) > 0

    def is_older_than(self, event: S3Event) -> bool:
        if self.sequencer is None or event.sequencer is None:
            return False
        return compare_sequencers(self.sequencer, event.sequencer) < 0

    def describes_other_object_than(self, event: ObjectCreated) -> bool:
        return (self.source_etag, self.source_version_id) != (event.etag, event.version_id)

    def describes_object(self, *, etag: str | None, version_id: str | None) -> bool:
        """Whether this manifest was written for that object (ETag and version id, as S3 reports them now)."""
        return self.source_etag is not None and (self.source_etag, self.source_version_id) == (etag, version_id)


def complete_manifest(
    *,
    source: SourceFacts,
    rendition: Rendition,
    variant_keys: Sequence[str],
    generated_at: datetime,
    fingerprint: str | None = None,
) -> dict[str, Any]:
    """`fingerprint`: of the presets and engine version that made the set (`thumbnailer.fingerprint`)."""
    decoded = rendition.source
    return {
        "schemaVersion": SCHEMA_VERSION,
        "status": COMPLETE,
        "source": {
            **_source_fields(source),
            "format": decoded.format,
            "width": decoded.width,
            "height": decoded.height,
            "animated": decoded.animated,
            # Present only when counted: an animation's frames are counted only for an animated preset.
            **({"frames": decoded.frames} if decoded.frames is not None else {}),
        },
        "variants": [
            {
                "preset": thumbnail.preset.name,
                "key": key,
                "width": thumbnail.width,
                "height": thumbnail.height,
                "bytes": len(thumbnail.data),
                "format": thumbnail.preset.format,
                "contentType": thumbnail.preset.content_type,
            }
            for thumbnail, key in zip(rendition.thumbnails, variant_keys, strict=True)
        ],
        # What a page shows while the thumbnails load (imaging/placeholder.py).
        **({"placeholder": rendition.placeholder.to_json()} if rendition.placeholder is not None else {}),
        **({"fingerprint": fingerprint} if fingerprint is not None else {}),
        "generatedAt": _timestamp(generated_at),
    }


def rejected_manifest(*, source: SourceFacts, reason: str, detail: str, generated_at: datetime) -> dict[str, Any]:
    return {
        "schemaVersion": SCHEMA_VERSION,
        "status": REJECTED,
        "source": _source_fields(source),
        "variants": [],
        "reason": str(reason),
        "detail": detail,
        "generatedAt": _timestamp(generated_at),
    }


def deleted_manifest(
    *, bucket: str, key: str, event: ObjectDeleted, removed_variant_keys: Sequence[str], generated_at: datetime
) -> dict[str, Any]:
    """The tombstone. `removedVariants` lists what is deleted after it is written, so a retry after a
    crash in between still knows what to delete although the complete manifest is gone."""
    return {
        "schemaVersion": SCHEMA_VERSION,
        "status": DELETED,
        "source": {
            "bucket": bucket,
            "key": key,
            "versionId": event.version_id,
            "sequencer": event.sequencer,
            "deletionType": event.deletion_type,
        },
        "variants": [],
        "removedVariants": list(removed_variant_keys),
        "generatedAt": _timestamp(generated_at),
    }


def _listed_keys(document: dict[str, Any]) -> tuple[str, ...]:
    """Each variant's `key`, then each `removedVariants` entry; anything but a non-empty UTF-8 string is ignored
    (a JSON string with a lone surrogate names no S3 key, and a request for it would fail on encoding)."""
    variants = document.get("variants")
    removed = document.get("removedVariants")
    keys = [
        variant.get("key") for variant in (variants if isinstance(variants, list) else []) if isinstance(variant, dict)
    ]
    keys += removed if isinstance(removed, list) else []
    return tuple(dict.fromkeys(key for key in keys if isinstance(key, str) and key and is_utf8(key)))


def _source_fields(source: SourceFacts) -> dict[str, Any]:
    return {
        "bucket": source.bucket,
        "key": source.key,
        "etag": source.etag,
        "versionId": source.version_id,
        "sequencer": source.sequencer,
        "size": source.size,
    }


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
