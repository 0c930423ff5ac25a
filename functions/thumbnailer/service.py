"""The whole decision for one message, from event JSON to an outcome. No Lambda in here: tests call `process`.

Order of the checks: cheapest first, and nothing is downloaded that the event already rules out.
1. parse the event; refuse messages that are not S3 Object Created (or Deleted) events for the originals bucket;
2. skip keys outside the prefix/suffix filter, refuse keys whose outputs would be too long for S3;
3. refuse from the event's size before any GET;
4. fetch the source (trying each spelling of the key), refusing on ContentLength before reading the body;
5. skip if a newer upload of the same key already has a manifest;
6. render, write every variant, then the manifest last (conditionally: an older event never replaces
   the manifest of a newer one).
A refused source with a known key gets a `rejected` manifest, so whoever waits for the manifest learns why.

An Object Deleted event (same message checks, steps 1-2) removes the thumbnails of an original that is gone:
a. ask S3 whether the key still has a current object (HEAD, no version): deleting a non-current version or
   a quick re-upload leaves one, and then nothing is removed (`still_exists`); if the manifest in place is a
   tombstone, the current object is one that came back (a delete marker was removed) and is rendered anew;
b. skip if a newer upload already owns the key's manifest (`superseded`);
c. replace the manifest with a `deleted` tombstone FIRST, conditionally as in step 6, then delete the
   thumbnails: so no reader ever finds a "complete" manifest naming a deleted thumbnail, and a crash in
   between leaves a tombstone listing what the retry must still delete (deleting twice is harmless).
   Each thumbnail is deleted only if it was not made from a newer upload, and only if it is still the object
   just inspected (a conditional delete), so a re-upload processed at the same time keeps its thumbnails.

When the work is done and it wrote a manifest, the service announces it (`_announce`): with a CDN, a set that
replaced a complete one, and every deletion, is invalidated there; then the manifest goes out on the event bus.
Either failing is a TransientError: the record is retried, so announcements are at least once. Nothing is
announced for a skipped record (superseded, filtered, still existing): it wrote no manifest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .cdn import CdnInvalidator
from .contract import Settings
from .events import MalformedMessage, ObjectCreated, ObjectDeleted, S3Event, compare_sequencers, parse_event
from .imaging.engine import make_thumbnails
from .imaging.presets import Limits, Preset
from .imaging.rejections import ImageRejected, RejectReason
from .manifest import (
    COMPLETE,
    DELETED,
    ExistingManifest,
    SourceFacts,
    complete_manifest,
    deleted_manifest,
    rejected_manifest,
)
from .outcomes import (
    Completed,
    MessageRejectReason,
    Outcome,
    Rejected,
    Removed,
    Skipped,
    SkipReason,
    TransientError,
    WrittenManifest,
)
from .publisher import EventPublisher
from .storage import (
    SEQUENCER_METADATA,
    CurrentObject,
    ManifestChanged,
    OriginalStore,
    SourceMissing,
    SourceObject,
    SourceTooLarge,
    ThumbnailStore,
    is_variant_key,
    manifest_key,
    output_keys_fit,
    variant_key,
)

if TYPE_CHECKING:
    from botocore.client import BaseClient
    from botocore.config import Config
    from mypy_boto3_cloudfront import CloudFrontClient
    from mypy_boto3_events import EventBridgeClient

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
        events_client: EventBridgeClient | None = None,
        cloudfront_client: CloudFrontClient | None = None,
        client_config: Config | None = None,
    ) -> None:
        """The EventBridge and CloudFront clients are created on first use (with `client_config`) unless given;
        they are used only when `settings` names an event bus or a distribution."""
        self._settings = settings
        self._engine = engine
        self._clock = clock
        self._originals = OriginalStore(s3_client=s3_client, bucket=settings.originals_bucket)
        self._thumbnails = ThumbnailStore(
            s3_client=s3_client, bucket=settings.thumbnails_bucket, cache_control=settings.config.cache_control
        )
        self._publisher = (
            EventPublisher(
                bus_name=settings.event_bus_name,
                thumbnails_bucket=settings.thumbnails_bucket,
                client=events_client,
                client_config=client_config,
            )
            if settings.event_bus_name
            else None
        )
        self._cdn = (
            CdnInvalidator(
                distribution_id=settings.distribution_id, client=cloudfront_client, client_config=client_config
            )
            if settings.distribution_id
            else None
        )

    @property
    def settings(self) -> Settings:
        return self._settings

    def process(self, message_body: str) -> Outcome:
        """Final outcomes are returned; `TransientError` (and any bug) is raised so the message is retried."""
        outcome = self._decide(message_body)
        if not isinstance(outcome, Skipped) and outcome.manifest is not None:
            self._announce(outcome.manifest)
        return outcome

    def _announce(self, written: WrittenManifest) -> None:
        """After the work: drop a replaced complete set from the CDN (a deletion's only once its thumbnails are
        gone, so the CDN cannot fetch them again), then tell the bus.

        Every deletion is invalidated, not only one that replaced a complete set: a retried deletion replaces its
        own tombstone and cannot tell whether its first attempt got as far as invalidating. A retried upload
        replaces its own complete manifest, so it invalidates again anyway."""
        if self._cdn is not None and (written.replaced_status == COMPLETE or written.document.get("status") == DELETED):
            key = written.original_key
            replaced = [variant for variant in written.replaced_keys if is_variant_key(key, variant)]
            self._cdn.invalidate(key, object_keys=[*replaced, manifest_key(key)])
        if self._publisher is not None:
            self._publisher.publish(written)

    def _decide(self, message_body: str) -> Outcome:
        settings = self._settings
        try:
            event = parse_event(message_body)
        except MalformedMessage as error:
            return Rejected(reason=MessageRejectReason.MALFORMED_MESSAGE, detail=str(error))
        if event.bucket != settings.originals_bucket:
            return Rejected(
                reason=MessageRejectReason.WRONG_BUCKET,
                detail=f"event is for bucket {event.bucket!r}, this function reads {settings.originals_bucket!r}",
                key=event.raw_key,
            )

        candidates = tuple(key for key in event.key_candidates if settings.config.accepts_key(key))
        if not candidates:
            return Skipped(reason=SkipReason.KEY_FILTERED, key=event.raw_key)
        candidates = tuple(key for key in candidates if output_keys_fit(key, settings.config.presets))
        if not candidates:
            # No manifest: its own key would be too long too.
            return Rejected(
                reason=MessageRejectReason.KEY_TOO_LONG,
                detail="a thumbnail or manifest key would exceed S3's 1024-byte key limit",
                key=event.raw_key,
            )
        if isinstance(event, ObjectDeleted):
            return self._process_deletion(event, candidates)
        return self._process_object(event, candidates)

    def _process_object(self, event: ObjectCreated, candidates: tuple[str, ...]) -> Outcome:
        """Steps 3-6, for an event that passed the message checks; `candidates` are its usable key spellings."""
        settings = self._settings
        limit = settings.config.limits.max_source_bytes
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
            rendition = self._engine(source.data, settings.config.presets, settings.config.limits)
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
            SEQUENCER_METADATA: event.sequencer,
        }
        written: dict[str, str] = {}  # variant key -> the ETag of the object this invocation wrote
        for thumbnail in rendition.thumbnails:
            key = variant_key(source.key, thumbnail.preset)
            written[key] = self._thumbnails.put_variant(key=key, thumbnail=thumbnail, metadata=metadata)
        manifest = complete_manifest(
            source=self._facts(event, key=source.key, source=source),
            rendition=rendition,
            variant_keys=list(written),
            generated_at=self._clock(),
        )
        result = self._write_manifest(event, key=source.key, manifest=manifest, existing=existing)
        if isinstance(result, ExistingManifest):
            if result.is_deleted:
                # The original was deleted while this (older) upload was being rendered, and the deletion may
                # already have swept the thumbnails: the ones written here must not stay servable. Only these
                # very objects go (by ETag); a newer upload's thumbnails written since survive.
                for key, etag in written.items():
                    self._thumbnails.delete_variant(key, etag=etag)
            return Skipped(reason=SkipReason.SUPERSEDED, key=source.key)
        return Completed(key=source.key, variant_keys=tuple(written), manifest=result)

    def _process_deletion(self, event: ObjectDeleted, candidates: tuple[str, ...]) -> Outcome:
        """Steps a-c, for a deletion that passed the message checks; `candidates` are its usable key spellings.

        With two spellings, the one to clean up is the first whose object is gone and that has a manifest
        (outputs are only ever written under the key the object was found under). When neither has one,
        nothing is written: a tombstone under a key the event may not be about would carry a sequencer
        from another key's event, and sequencers only order events of the same key.
        """
        still_there: CurrentObject | None = None
        for key in candidates:
            current = self._originals.current(key)
            existing = self._thumbnails.read_manifest(key)
            if current is None and (existing is not None or len(candidates) == 1):
                return self._remove(event, key=key, existing=existing)
            if (
                current is not None
                and existing is not None
                and existing.is_deleted
                and not existing.is_newer_than(event)
            ):
                return self._restore(event, current)
            still_there = still_there or current
        if still_there is not None:
            return Skipped(reason=SkipReason.STILL_EXISTS, key=still_there.key)
        return Skipped(reason=SkipReason.NOTHING_TO_REMOVE, key=event.raw_key)

    def _remove(self, event: ObjectDeleted, *, key: str, existing: ExistingManifest | None) -> Outcome:
        if existing is not None and existing.is_newer_than(event):
            return Skipped(reason=SkipReason.SUPERSEDED, key=key)
        variant_keys = self._variant_keys(key, existing)
        # The tombstone stays, rather than the manifest being deleted too: it is what makes an Object Created
        # event of an older upload, delivered late, a no-op instead of thumbnails of a deleted image.
        tombstone = deleted_manifest(
            bucket=self._settings.originals_bucket,
            key=key,
            event=event,
            removed_variant_keys=variant_keys,
            generated_at=self._clock(),
        )
        written = self._write_manifest(event, key=key, manifest=tombstone, existing=existing)
        if isinstance(written, ExistingManifest):
            return Skipped(reason=SkipReason.SUPERSEDED, key=key)
        removed = tuple(variant for variant in variant_keys if self._remove_variant(variant, event))
        return Removed(key=key, variant_keys=removed, manifest=written)

    def _variant_keys(self, key: str, existing: ExistingManifest | None) -> tuple[str, ...]:
        """What may exist for `key`: what its manifest lists (presets may have changed since), plus what the
        current presets write (a set whose manifest write failed has no list). Never another original's keys,
        whatever the manifest says."""
        listed = existing.variant_keys if existing is not None else ()
        configured = (variant_key(key, preset) for preset in self._settings.config.presets)
        return tuple(dict.fromkeys(variant for variant in (*listed, *configured) if is_variant_key(key, variant)))

    def _remove_variant(self, key: str, event: ObjectDeleted) -> bool:
        stored = self._thumbnails.variant(key)
        if stored is None:
            return False
        if (
            stored.source_sequencer
            and event.sequencer
            and compare_sequencers(stored.source_sequencer, event.sequencer) > 0
        ):
            return False  # made from an upload after the deletion: that upload's manifest will name it
        return self._thumbnails.delete_variant(key, etag=stored.etag)

    def _restore(self, event: ObjectDeleted, current: CurrentObject) -> Outcome:
        """The key has an object again although its manifest says deleted (a delete marker was removed, and S3
        sends no Object Created for that): render it as an upload ordered at this event."""
        created = ObjectCreated(
            bucket=event.bucket,
            raw_key=current.key,
            key_candidates=(current.key,),
            size=current.size,
            etag=current.etag,
            version_id=current.version_id,
            sequencer=event.sequencer,
        )
        return self._process_object(created, (current.key,))

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
        result = self._write_manifest(event, key=key, manifest=manifest, existing=existing, source_gone=source_gone)
        if isinstance(result, ExistingManifest):
            return Skipped(reason=SkipReason.SUPERSEDED, key=key)
        return Rejected(reason=reason, detail=detail, key=key, manifest_written=True, manifest=result)

    def _write_manifest(
        self,
        event: S3Event,
        *,
        key: str,
        manifest: dict[str, Any],
        existing: ExistingManifest | None,
        source_gone: bool = False,
    ) -> ExistingManifest | WrittenManifest:
        """Write the manifest unless the one in place belongs to a newer upload (or deletion).

        Returns what was written (and what it replaced), else the manifest that was kept.
        """
        for _ in range(MANIFEST_WRITE_ATTEMPTS):
            if existing is not None and _yields_to(existing, event, source_gone=source_gone):
                return existing
            try:
                self._thumbnails.put_manifest(original_key=key, manifest=manifest, replacing=existing)
                return WrittenManifest(
                    original_key=key,
                    document=manifest,
                    replaced_status=existing.status if existing is not None else None,
                    replaced_keys=existing.variant_keys if existing is not None else (),
                )
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


def _yields_to(existing: ExistingManifest, event: S3Event, *, source_gone: bool) -> bool:
    """Whether the manifest in place must be kept rather than replaced by one for `event`."""
    if existing.is_newer_than(event):
        return True
    # The event's object is gone, so a manifest for a different object is at least as recent,
    # unless the sequencers prove it older (they cannot when they are equal or missing, as in moto).
    return (
        source_gone
        and isinstance(event, ObjectCreated)
        and existing.describes_other_object_than(event)
        and not existing.is_older_than(event)
    )
