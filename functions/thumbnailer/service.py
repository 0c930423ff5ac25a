"""The whole decision for one message, from event JSON to an outcome. No Lambda in here: tests call `process`.

Order of the checks: cheapest first, and nothing is downloaded that the event already rules out.
1. parse the event; refuse messages that are not S3 Object Created events for the originals bucket;
2. skip keys outside the prefix/suffix filter, refuse keys whose outputs would be too long for S3;
3. refuse from the event's size before any GET;
4. fetch the source (trying each spelling of the key), refusing on ContentLength before reading the body;
5. skip if a newer upload of the same key already has a manifest;
6. render, write every variant, then the manifest last (conditionally: an older event never replaces
   the manifest of a newer one).
A refused source with a known key gets a `rejected` manifest, so whoever waits for the manifest learns why.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .events import MalformedMessage, ObjectCreated, parse_object_created
from .imaging.engine import make_thumbnails
from .imaging.presets import Limits, Preset
from .imaging.rejections import ImageRejected, RejectReason
from .manifest import ExistingManifest, SourceFacts, complete_manifest, rejected_manifest
from .outcomes import Completed, MessageRejectReason, Outcome, Rejected, Skipped, SkipReason, TransientError
from .settings import Settings
from .storage import (
    ManifestChanged,
    OriginalStore,
    SourceMissing,
    SourceObject,
    SourceTooLarge,
    ThumbnailStore,
    output_keys_fit,
    variant_key,
)

if TYPE_CHECKING:
    from botocore.client import BaseClient

    from .imaging.engine import Rendition

Engine = Callable[[bytes, Sequence[Preset], Limits], "Rendition"]
Clock = Callable[[], datetime]

# Conditional manifest writes that lose a race read the manifest again and retry; more than a few
# losses in a row means something keeps rewriting it, and the message is better retried later.
MANIFEST_WRITE_ATTEMPTS = 3


def utc_now() -> datetime:
    return datetime.now(UTC)


class ThumbnailService:
    def __init__(
        self,
        settings: Settings,
        s3_client: BaseClient,
        engine: Engine = make_thumbnails,
        *,
        clock: Clock = utc_now,
    ) -> None:
        self._settings = settings
        self._engine = engine
        self._clock = clock
        self._originals = OriginalStore(s3_client=s3_client, bucket=settings.originals_bucket)
        self._thumbnails = ThumbnailStore(
            s3_client=s3_client, bucket=settings.thumbnails_bucket, cache_control=settings.cache_control
        )

    def process(self, message_body: str) -> Outcome:
        """Final outcomes are returned; `TransientError` (and any bug) is raised so the message is retried."""
        settings = self._settings
        try:
            event = parse_object_created(message_body)
        except MalformedMessage as error:
            return Rejected(reason=MessageRejectReason.MALFORMED_MESSAGE, detail=str(error))
        if event.bucket != settings.originals_bucket:
            return Rejected(
                reason=MessageRejectReason.WRONG_BUCKET,
                detail=f"event is for bucket {event.bucket!r}, this function reads {settings.originals_bucket!r}",
                key=event.raw_key,
            )

        candidates = tuple(key for key in event.key_candidates if settings.accepts_key(key))
        if not candidates:
            return Skipped(reason=SkipReason.KEY_FILTERED, key=event.raw_key)
        candidates = tuple(key for key in candidates if output_keys_fit(key, settings.presets))
        if not candidates:
            # No manifest: its own key would be too long too.
            return Rejected(
                reason=MessageRejectReason.KEY_TOO_LONG,
                detail="a thumbnail or manifest key would exceed S3's 1024-byte key limit",
                key=event.raw_key,
            )
        return self._process_object(event, candidates)

    def _process_object(self, event: ObjectCreated, candidates: tuple[str, ...]) -> Outcome:
        """Steps 3-6, for an event that passed the message checks; `candidates` are its usable key spellings."""
        settings = self._settings
        limit = settings.limits.max_source_bytes
        if event.size is not None and event.size > limit and len(candidates) == 1:
            # When the key is ambiguous the GET below finds the right one and refuses on ContentLength.
            return self._reject(
                event,
                key=candidates[0],
                reason=RejectReason.TOO_LARGE,
                detail=f"{event.size} bytes, limit {limit}",
                size=event.size,
                existing=self._thumbnails.read_manifest(candidates[0]),
            )
        try:
            source = self._originals.fetch(candidates, etag=event.etag, version_id=event.version_id, max_bytes=limit)
        except SourceTooLarge as error:
            return self._reject(
                event,
                key=error.key,
                reason=RejectReason.TOO_LARGE,
                detail=str(error),
                size=error.size,
                existing=self._thumbnails.read_manifest(error.key),
            )
        except SourceMissing as error:
            if len(candidates) > 1:
                # Neither spelling exists, so there is no telling which key the upload had: log, write nothing.
                return Rejected(reason=MessageRejectReason.SOURCE_MISSING, detail=str(error), key=event.raw_key)
            return self._reject(
                event,
                key=candidates[0],
                reason=MessageRejectReason.SOURCE_MISSING,
                detail=str(error),
                size=event.size,
                existing=self._thumbnails.read_manifest(candidates[0]),
                source_gone=True,
            )

        existing = self._thumbnails.read_manifest(source.key)
        if existing is not None and existing.is_newer_than(event):
            return Skipped(reason=SkipReason.SUPERSEDED, key=source.key)
        try:
            rendition = self._engine(source.data, settings.presets, settings.limits)
        except ImageRejected as error:
            return self._reject(
                event, key=source.key, reason=error.reason, detail=error.detail, source=source, existing=existing
            )
        return self._write_set(event, source, rendition, existing)

    def _write_set(
        self, event: ObjectCreated, source: SourceObject, rendition: Rendition, existing: ExistingManifest | None
    ) -> Outcome:
        metadata = {
            "source-etag": source.etag,
            "source-version-id": source.version_id,
            "source-sequencer": event.sequencer,
        }
        variant_keys: list[str] = []
        for thumbnail in rendition.thumbnails:
            key = variant_key(source.key, thumbnail.preset)
            self._thumbnails.put_variant(key=key, thumbnail=thumbnail, metadata=metadata)
            variant_keys.append(key)
        manifest = complete_manifest(
            source=self._facts(event, key=source.key, source=source),
            rendition=rendition,
            variant_keys=variant_keys,
            generated_at=self._clock(),
        )
        if not self._write_manifest(event, key=source.key, manifest=manifest, existing=existing):
            return Skipped(reason=SkipReason.SUPERSEDED, key=source.key)
        return Completed(key=source.key, variant_keys=tuple(variant_keys))

    def _reject(
        self,
        event: ObjectCreated,
        *,
        key: str,
        reason: str,
        detail: str,
        existing: ExistingManifest | None,
        source: SourceObject | None = None,
        size: int | None = None,
        source_gone: bool = False,
    ) -> Outcome:
        """A refusal with a known key: write a rejected manifest unless a newer upload owns the key."""
        manifest = rejected_manifest(
            source=self._facts(event, key=key, source=source, size=size),
            reason=reason,
            detail=detail,
            generated_at=self._clock(),
        )
        if not self._write_manifest(event, key=key, manifest=manifest, existing=existing, source_gone=source_gone):
            return Skipped(reason=SkipReason.SUPERSEDED, key=key)
        return Rejected(reason=reason, detail=detail, key=key, manifest_written=True)

    def _write_manifest(
        self,
        event: ObjectCreated,
        *,
        key: str,
        manifest: dict[str, Any],
        existing: ExistingManifest | None,
        source_gone: bool = False,
    ) -> bool:
        """Write the manifest unless the one in place belongs to a newer upload; False when it does."""
        for _ in range(MANIFEST_WRITE_ATTEMPTS):
            if existing is not None and _yields_to(existing, event, source_gone=source_gone):
                return False
            try:
                self._thumbnails.put_manifest(original_key=key, manifest=manifest, replacing=existing)
                return True
            except ManifestChanged:
                existing = self._thumbnails.read_manifest(key)
        raise TransientError("ManifestContention", f"the manifest of {key!r} kept changing while being replaced")

    def _facts(
        self, event: ObjectCreated, *, key: str, source: SourceObject | None = None, size: int | None = None
    ) -> SourceFacts:
        return SourceFacts(
            bucket=self._settings.originals_bucket,
            key=key,
            etag=source.etag if source else event.etag,
            version_id=source.version_id if source else event.version_id,
            sequencer=event.sequencer,
            size=len(source.data) if source else size,
        )


def _yields_to(existing: ExistingManifest, event: ObjectCreated, *, source_gone: bool) -> bool:
    """Whether the manifest in place must be kept rather than replaced by one for `event`."""
    if existing.is_newer_than(event):
        return True
    # The event's object is gone, so a manifest for a different object is at least as recent,
    # unless the sequencers prove it older (they cannot when they are equal or missing, as in moto).
    return source_gone and existing.describes_other_object_than(event) and not existing.is_older_than(event)
