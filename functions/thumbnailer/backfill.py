"""Backfill: render what is already in the originals bucket, on request rather than on an S3 event.

A backfill message names a bucket, a key and a mode, and is built by `backfill_message` only (the operator
CLI's `--local` path calls it; the Step Functions state machine's message template produces the same JSON,
which a test checks by evaluating the template):

    {"kind": "thumbnails.backfill", "version": 1, "bucket": "...", "key": "photos/cat.jpg", "mode": "missing"}

Modes, i.e. when the manifest in place already satisfies the request and the key is skipped:
- `missing`: a complete or rejected manifest written for the key's *current* object (same ETag and version);
- `stale`:   a complete manifest for the current object with the deployed presets' fingerprint;
- `all`:     never.

The flow for one message (`Backfiller.process`):
1. refuse a malformed message or another bucket; skip keys outside the prefix/suffix filter;
2. read the manifest, then HEAD the key (no version: the current object). No object: skipped (`source_gone`);
3. skip when the manifest satisfies the mode (`up_to_date`);
4. GET the current object, If-Match the ETag the HEAD gave and without a version id: if it changed meanwhile,
   a newer upload's event renders it, so this message is skipped (`superseded`);
5. render; write each variant conditionally (If-Match the ETag inspected, or If-None-Match "*"). A variant
   made from another object of the key stops the write unless the key's current object is still the one
   rendered (it was then made from an older object, e.g. before a lost event);
6. write the manifest If-Match the ETag read in step 2 (If-None-Match "*" when there was none). Backfill has
   no sequencer, so a manifest that changed since step 2 (a newer upload's, a deletion's tombstone, another
   backfill's) is never replaced: the message is skipped (`superseded`), and after a deletion the variants it
   wrote are removed again;
7. only then delete the variants the old manifest listed that the current presets no longer make.

A re-render of the same object keeps the sequencer of the manifest it replaces, so a late event of an older
upload is still recognised as older afterwards. The key may arrive URL-encoded (S3 Inventory writes keys so):
the key as given is tried first, then its URL-decoded spelling.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from .contract import Settings
from .fingerprint import presets_fingerprint
from .imaging.rejections import ImageRejected, RejectReason
from .manifest import COMPLETE, REJECTED, ExistingManifest, SourceFacts, complete_manifest, rejected_manifest
from .outcomes import (
    Completed,
    MessageRejectReason,
    Outcome,
    Rejected,
    Skipped,
    SkipReason,
    TransientError,
    WrittenManifest,
)
from .storage import (
    SEQUENCER_METADATA,
    CurrentObject,
    ManifestChanged,
    OriginalStore,
    SourceMissing,
    SourceTooLarge,
    StoredVariant,
    ThumbnailStore,
    is_variant_key,
    output_keys_fit,
    variant_key,
)

if TYPE_CHECKING:
    from .imaging.engine import Rendition
    from .service import Clock, Engine

BACKFILL_KIND = "thumbnails.backfill"
BACKFILL_VERSION = 1


class BackfillMode(StrEnum):
    MISSING = "missing"
    STALE = "stale"
    ALL = "all"


@dataclass(frozen=True, kw_only=True)
class BackfillRequest:
    bucket: str
    key: str
    mode: BackfillMode


class MalformedBackfill(Exception):
    """A message that says it is a backfill message but is not a valid one: permanent."""


def backfill_message(*, bucket: str, key: str, mode: BackfillMode | str) -> str:
    """The one builder of backfill message bodies (compact JSON, keys in this order)."""
    return json.dumps(
        {"kind": BACKFILL_KIND, "version": BACKFILL_VERSION, "bucket": bucket, "key": key, "mode": str(mode)},
        separators=(",", ":"),
        ensure_ascii=False,
    )


def is_backfill_message(body: str) -> bool:
    """Cheap test first (no JSON parse for S3 events), exact test second."""
    if BACKFILL_KIND not in body:
        return False
    try:
        document = json.loads(body)
    except Exception:
        return False
    return isinstance(document, dict) and document.get("kind") == BACKFILL_KIND


def parse_backfill(body: str) -> BackfillRequest:
    try:
        document = json.loads(body)
    except Exception as error:
        raise MalformedBackfill(f"body is not JSON ({type(error).__name__})") from None
    if not isinstance(document, dict) or document.get("kind") != BACKFILL_KIND:
        raise MalformedBackfill(f"expected kind {BACKFILL_KIND!r}")
    if document.get("version") != BACKFILL_VERSION:
        raise MalformedBackfill(f"version: expected {BACKFILL_VERSION}, got {str(document.get('version'))[:20]!r}")
    bucket, key, mode = document.get("bucket"), document.get("key"), document.get("mode")
    for name, value in (("bucket", bucket), ("key", key)):
        if not isinstance(value, str) or not value or not _is_utf8(value):
            raise MalformedBackfill(f"{name}: expected a non-empty string")
    if mode not in tuple(BackfillMode):
        raise MalformedBackfill(f"mode: expected one of {', '.join(BackfillMode)}, got {str(mode)[:20]!r}")
    return BackfillRequest(bucket=str(bucket), key=str(key), mode=BackfillMode(mode))


def satisfies(
    existing: ExistingManifest | None, current: CurrentObject, mode: BackfillMode, *, fingerprint: str
) -> bool:
    """Whether the manifest in place already answers a backfill of `current` in `mode`."""
    if existing is None or mode is BackfillMode.ALL:
        return False
    if not existing.describes_object(etag=current.etag, version_id=current.version_id):
        return False
    if mode is BackfillMode.MISSING:
        return existing.status in (COMPLETE, REJECTED)
    return existing.status == COMPLETE and existing.fingerprint == fingerprint


def remove_dropped_variants(
    thumbnails: ThumbnailStore, original_key: str, *, listed: Iterable[str], kept: Iterable[str]
) -> tuple[str, ...]:
    """Delete what the replaced manifest listed that the new set does not make (a preset no longer configured).

    Call only after the new manifest is in place. Only keys that can be thumbnails of `original_key` (never
    another original's objects, whatever the old manifest said), each only if it is still the object just
    inspected (a conditional delete). Returns the keys deleted.
    """
    kept_keys = set(kept)
    removed = []
    for key in dict.fromkeys(listed):
        if key in kept_keys or not is_variant_key(original_key, key):
            continue
        stored = thumbnails.variant(key)
        if stored is not None and thumbnails.delete_variant(key, etag=stored.etag):
            removed.append(key)
    return tuple(removed)


class Backfiller:
    """Processes backfill messages with the function's own stores, engine and configuration."""

    def __init__(
        self,
        *,
        settings: Settings,
        originals: OriginalStore,
        thumbnails: ThumbnailStore,
        engine: Engine,
        clock: Clock,
    ) -> None:
        self._settings = settings
        self._originals = originals
        self._thumbnails = thumbnails
        self._engine = engine
        self._clock = clock
        self.fingerprint = presets_fingerprint(settings.config.presets)

    def process(self, body: str) -> Outcome:
        settings = self._settings
        try:
            request = parse_backfill(body)
        except MalformedBackfill as error:
            return Rejected(reason=MessageRejectReason.MALFORMED_MESSAGE, detail=f"backfill message: {error}")
        if request.bucket != settings.originals_bucket:
            return Rejected(
                reason=MessageRejectReason.WRONG_BUCKET,
                detail=f"backfill is for bucket {request.bucket!r}, this function reads {settings.originals_bucket!r}",
                key=request.key,
            )
        candidates = tuple(key for key in _spellings(request.key) if settings.config.accepts_key(key))
        if not candidates:
            return Skipped(reason=SkipReason.KEY_FILTERED, key=request.key)
        candidates = tuple(key for key in candidates if output_keys_fit(key, settings.config.presets))
        if not candidates:
            return Rejected(
                reason=MessageRejectReason.KEY_TOO_LONG,
                detail="a thumbnail or manifest key would exceed S3's 1024-byte key limit",
                key=request.key,
            )
        for key in candidates:
            existing = self._thumbnails.read_manifest(key)  # before the HEAD: its ETag guards the write
            current = self._originals.current(key)
            if current is not None:
                return self._backfill(request.mode, current, existing)
        return Skipped(reason=SkipReason.SOURCE_GONE, key=request.key)

    def _backfill(self, mode: BackfillMode, current: CurrentObject, existing: ExistingManifest | None) -> Outcome:
        if satisfies(existing, current, mode, fingerprint=self.fingerprint):
            return Skipped(reason=SkipReason.UP_TO_DATE, key=current.key)
        same_object = existing is not None and existing.describes_object(
            etag=current.etag, version_id=current.version_id
        )
        sequencer = existing.sequencer if existing is not None and same_object and not existing.is_deleted else None
        limit = self._settings.config.limits.max_source_bytes
        if current.size > limit:
            detail = f"{current.size} bytes, limit {limit}"
            return self._reject(current, RejectReason.TOO_LARGE, detail, existing, sequencer, size=current.size)
        try:
            source = self._originals.fetch([current.key], etag=current.etag, version_id=None, max_bytes=limit)
        except SourceTooLarge as error:
            return self._reject(current, RejectReason.TOO_LARGE, str(error), existing, sequencer, size=error.size)
        except SourceMissing:
            return Skipped(
                reason=SkipReason.SUPERSEDED, key=current.key
            )  # changed since the HEAD: its event renders it
        try:
            rendition = self._engine(source.data, self._settings.config.presets, self._settings.config.limits)
        except ImageRejected as error:
            return self._reject(current, error.reason, error.detail, existing, sequencer, size=len(source.data))
        return self._write_set(current, rendition, existing, sequencer, size=len(source.data))

    def _write_set(
        self,
        current: CurrentObject,
        rendition: Rendition,
        existing: ExistingManifest | None,
        sequencer: str | None,
        *,
        size: int,
    ) -> Outcome:
        metadata = {"source-etag": current.etag, "source-version-id": current.version_id, SEQUENCER_METADATA: sequencer}
        listed = existing.variant_keys if existing is not None else ()
        written: dict[str, str] = {}
        for thumbnail in rendition.thumbnails:
            key = variant_key(current.key, thumbnail.preset)
            etag = self._thumbnails.write_variant(
                key=key,
                thumbnail=thumbnail,
                metadata=metadata,
                expected=key in listed,
                yields_to=lambda stored: not self._may_replace(current, stored),
            )
            if etag is None:
                return Skipped(reason=SkipReason.SUPERSEDED, key=current.key)
            written[key] = etag
        manifest = complete_manifest(
            source=self._facts(current, sequencer, size=size),
            rendition=rendition,
            variant_keys=list(written),
            generated_at=self._clock(),
            fingerprint=self.fingerprint,
        )
        result = self._write_manifest(current.key, manifest, existing)
        if isinstance(result, ExistingManifest):
            if result.is_deleted:
                # Deleted while being rendered: what was written here must not stay servable (only these objects).
                for key, etag in written.items():
                    self._thumbnails.delete_variant(key, etag=etag)
            return Skipped(reason=SkipReason.SUPERSEDED, key=current.key)
        remove_dropped_variants(self._thumbnails, current.key, listed=listed, kept=written)
        return Completed(key=current.key, variant_keys=tuple(written), manifest=result)

    def _may_replace(self, current: CurrentObject, stored: StoredVariant) -> bool:
        """A variant of the same object, or one made while the rendered object is still the key's current one."""
        if (stored.source_etag, stored.source_version_id) == (current.etag, current.version_id):
            return True
        now = self._originals.current(current.key)
        return now is not None and (now.etag, now.version_id) == (current.etag, current.version_id)

    def _reject(
        self,
        current: CurrentObject,
        reason: str,
        detail: str,
        existing: ExistingManifest | None,
        sequencer: str | None,
        *,
        size: int,
    ) -> Outcome:
        manifest = rejected_manifest(
            source=self._facts(current, sequencer, size=size), reason=reason, detail=detail, generated_at=self._clock()
        )
        result = self._write_manifest(current.key, manifest, existing)
        if isinstance(result, ExistingManifest):
            return Skipped(reason=SkipReason.SUPERSEDED, key=current.key)
        return Rejected(reason=reason, detail=detail, key=current.key, manifest_written=True, manifest=result)

    def _write_manifest(
        self, key: str, manifest: dict[str, Any], existing: ExistingManifest | None
    ) -> ExistingManifest | WrittenManifest:
        """Write over exactly the manifest read before rendering; what was written (announced like a live
        upload's manifest), else the one kept."""
        try:
            return self._thumbnails.put_manifest(original_key=key, manifest=manifest, replacing=existing)
        except ManifestChanged:
            kept = self._thumbnails.read_manifest(key)
            if kept is None:  # removed meanwhile (nothing removes manifests today): retry the message later
                raise TransientError("ManifestContention", f"the manifest of {key!r} vanished while replaced") from None
            return kept

    def _facts(self, current: CurrentObject, sequencer: str | None, *, size: int) -> SourceFacts:
        return SourceFacts(
            bucket=self._settings.originals_bucket,
            key=current.key,
            etag=current.etag,
            version_id=current.version_id,
            sequencer=sequencer,
            size=size,
        )


def _spellings(key: str) -> tuple[str, ...]:
    """The key as given, then URL-decoded when that differs (S3 Inventory URL-encodes keys)."""
    try:
        decoded = unquote_plus(key, errors="strict")
    except UnicodeDecodeError:
        return (key,)
    return tuple(dict.fromkeys((key, decoded)))


def _is_utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True
