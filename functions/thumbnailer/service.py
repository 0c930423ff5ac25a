"""The whole decision for one message, from event JSON to an outcome. No Lambda in here: tests call `process`.

Order of the checks: cheapest first, and nothing is downloaded that the event already rules out.
1. parse the event; refuse messages that are not S3 Object Created (or Deleted) events for the originals bucket;
2. skip keys outside the prefix/suffix filter, refuse keys whose outputs would be too long for S3;
3. refuse from the event's size before any GET;
4. fetch the source (trying each spelling of the key), refusing on ContentLength before reading the body;
5. skip if a newer upload of the same key already has a manifest;
6. render, write every variant, then the manifest last, all conditionally: an older event never replaces
   a variant or the manifest of a newer one. A variant made from a newer upload stops the older event
   (`superseded`) before it starts any more writes (writes already running at once finish, conditionally), and
   no manifest is written unless every variant was.
A refused source with a known key gets a `rejected` manifest, so whoever waits for the manifest learns why.
Once a complete manifest is in place, variants its predecessor listed for presets no longer configured are deleted.
A backfill message (from the backfill queue: a key and a mode, no event) is handed to `backfill.Backfiller`.

When the work is done and it wrote a manifest, the service announces it (`_settled`): with a CDN, a set that
replaced a complete one, and every deletion, is invalidated there; then the manifest goes out on the event bus.
Either failing is a TransientError: the record is retried, so announcements are at least once. Nothing is
announced for a skipped record (superseded, filtered, still existing): it wrote no manifest.

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

The same steps as four phases, so that a batch can overlap them across records (`pipeline.py`): `admit`
(steps 1-2, no I/O), `fetch` (steps 3-5, or a-c for a deletion: S3 reads), `render` (the engine: CPU only) and
`write` (step 6: S3 writes; a rejected manifest too). `process` runs them one after another. Requests of one
phase that do not depend on each other (the variant PUTs; the source GET and the manifest read when the key has
one spelling) go through the `fanout` given: one after another by default, at once when the pipeline passes
its thread pool.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from .backfill import Backfiller, is_backfill_message, remove_dropped_variants
from .cdn import CdnInvalidator
from .contract import Settings
from .events import MalformedMessage, ObjectCreated, ObjectDeleted, S3Event, parse_event
from .fingerprint import presets_fingerprint
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
    from botocore.config import Config
    from mypy_boto3_cloudfront import CloudFrontClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client

    from .imaging.engine import Rendition, Thumbnail

Engine = Callable[[bytes, Sequence[Preset], Limits], "Rendition"]
Clock = Callable[[], datetime]
T = TypeVar("T")
A = TypeVar("A")
B = TypeVar("B")


class Fanout(Protocol):
    """Runs independent tasks and returns their results in the tasks' order, or raises the first (in the tasks'
    order) of the exceptions they raised, once none of them is still running. Tasks not yet started when one
    fails may be skipped."""

    def __call__(self, tasks: Sequence[Callable[[], T]], /) -> list[T]: ...


def in_order(tasks: Sequence[Callable[[], T]], /) -> list[T]:
    """The sequential fanout: one task after another in the calling thread; the first exception stops the rest."""
    return [task() for task in tasks]


@dataclass(frozen=True, kw_only=True)
class Upload:
    """An Object Created event that passed the message checks (steps 1-2), and the key spellings to try."""

    event: ObjectCreated
    candidates: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Deletion:
    """An Object Deleted event that passed the message checks, and the key spellings to try."""

    event: ObjectDeleted
    candidates: tuple[str, ...]


Admitted = Upload | Deletion  # `candidates`: every original key the record may read or write outputs for


@dataclass(frozen=True, kw_only=True)
class Fetched:
    """An upload whose source bytes are in memory, with the manifest in place when they were fetched."""

    event: ObjectCreated
    source: SourceObject
    existing: ExistingManifest | None


@dataclass(frozen=True, kw_only=True)
class Rendered:
    """The thumbnails of a fetched upload, ready to be written. No source bytes: they can be freed."""

    event: ObjectCreated
    source: SourceFacts
    existing: ExistingManifest | None
    rendition: Rendition


@dataclass(frozen=True, kw_only=True)
class Refused:
    """A fetched upload the engine refused: what its rejected manifest will say."""

    event: ObjectCreated
    source: SourceFacts
    existing: ExistingManifest | None
    reason: str
    detail: str


# Conditional manifest and variant writes that lose a race look at the object again and retry; more than a
# few losses in a row means something keeps rewriting it, and the message is better retried later.
MANIFEST_WRITE_ATTEMPTS = 3


def utc_now() -> datetime:
    return datetime.now(UTC)


class ThumbnailService:
    def __init__(
        self,
        settings: Settings,
        s3_client: S3Client,
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
        self._fingerprint = presets_fingerprint(settings.config.presets)
        # Backfill messages (from the backfill queue) name a key instead of describing an event: backfill.py.
        self._backfiller = Backfiller(
            settings=settings, originals=self._originals, thumbnails=self._thumbnails, engine=engine, clock=clock
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

    def process(self, message_body: str, *, fanout: Fanout = in_order) -> Outcome:
        """Final outcomes are returned; `TransientError` (and any bug) is raised so the message is retried.

        Every phase in turn: what the batch pipeline does for one record, without overlapping anything.
        """
        admitted = self.admit(message_body)
        if isinstance(admitted, Outcome):
            return admitted
        fetched = self.fetch(admitted, fanout=fanout)
        if isinstance(fetched, Outcome):
            return fetched
        return self.write(self.render(fetched), fanout=fanout)

    def admit(self, message_body: str) -> Outcome | Admitted:
        """Steps 1-2, the message checks: a final outcome, or the upload or deletion to go on with. No I/O."""
        settings = self._settings
        if is_backfill_message(message_body):
            return self._settled(self._backfiller.process(message_body))
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
            return Deletion(event=event, candidates=candidates)
        return Upload(event=event, candidates=candidates)

    def fetch(self, admitted: Admitted, *, fanout: Fanout = in_order) -> Outcome | Fetched:
        """Steps 3-5 for an upload (S3 reads; a refusal's rejected manifest is written here too): a final outcome,
        or the source to render. A deletion is decided here whole (steps a-c), unless it turns out to be a
        restore, whose source is then fetched like an upload's."""
        if isinstance(admitted, Deletion):
            decided = self._process_deletion(admitted.event, admitted.candidates)
            if not isinstance(decided, Upload):
                return self._settled(decided)
            admitted = decided
        fetched = self._fetch_upload(admitted, fanout)
        return self._settled(fetched) if isinstance(fetched, Outcome) else fetched

    def render(self, fetched: Fetched) -> Rendered | Refused:
        """The engine, and nothing else: no I/O. What comes out holds no source bytes."""
        config = self._settings.config
        source = self._facts(fetched.event, key=fetched.source.key, source=fetched.source)
        try:
            rendition = self._engine(fetched.source.data, config.presets, config.limits)
        except ImageRejected as error:
            return Refused(
                event=fetched.event,
                source=source,
                existing=fetched.existing,
                reason=error.reason,
                detail=error.detail,
            )
        return Rendered(event=fetched.event, source=source, existing=fetched.existing, rendition=rendition)

    def write(self, rendered: Rendered | Refused, *, fanout: Fanout = in_order) -> Outcome:
        """Step 6 (S3 writes): every variant, then strictly last the manifest; or the rejected manifest."""
        if isinstance(rendered, Refused):
            return self._settled(
                self._reject(
                    rendered.event,
                    facts=rendered.source,
                    reason=rendered.reason,
                    detail=rendered.detail,
                    existing=rendered.existing,
                )
            )
        return self._settled(self._write_set(rendered, fanout))

    def _settled(self, outcome: Outcome) -> Outcome:
        """A final outcome, announced when it wrote a manifest: a replaced complete set (and every deletion's,
        once its thumbnails are gone, so the CDN cannot fetch them again) is dropped from the CDN, then the
        manifest goes out on the bus. Every deletion is invalidated: a retried deletion replaces its own
        tombstone and cannot tell whether its first attempt got as far as invalidating."""
        written = None if isinstance(outcome, Skipped) else outcome.manifest
        if written is None:
            return outcome
        if self._cdn is not None and (written.replaced_status == COMPLETE or written.document.get("status") == DELETED):
            key = written.original_key
            replaced = [variant for variant in written.replaced_keys if is_variant_key(key, variant)]
            self._cdn.invalidate(key, object_keys=[*replaced, manifest_key(key)])
        if self._publisher is not None:
            self._publisher.publish(written)
        return outcome

    def _fetch_upload(self, upload: Upload, fanout: Fanout) -> Outcome | Fetched:
        event, candidates = upload.event, upload.candidates
        limit = self._settings.config.limits.max_source_bytes
        if event.size is not None and event.size > limit and len(candidates) == 1:
            # When the key is ambiguous the GET below finds the right one and refuses on ContentLength.
            return self._reject(
                event,
                facts=self._facts(event, key=candidates[0], size=event.size),
                reason=RejectReason.TOO_LARGE,
                detail=f"{event.size} bytes, limit {limit}",
                existing=self._thumbnails.read_manifest(candidates[0]),
            )
        get_source = partial(self._get_source, event, candidates, limit)
        if len(candidates) == 1:
            # One spelling: the manifest to read is known before the GET, and every path below reads it.
            source, existing = _both(fanout, get_source, partial(self._thumbnails.read_manifest, candidates[0]))
        else:
            source, existing = get_source(), None
        if isinstance(source, SourceTooLarge):
            return self._reject(
                event,
                facts=self._facts(event, key=source.key, size=source.size),
                reason=RejectReason.TOO_LARGE,
                detail=str(source),
                existing=existing if len(candidates) == 1 else self._thumbnails.read_manifest(source.key),
            )
        if isinstance(source, SourceMissing):
            if len(candidates) > 1:
                # Neither spelling exists, so there is no telling which key the upload had: log, write nothing.
                return Rejected(reason=MessageRejectReason.SOURCE_MISSING, detail=str(source), key=event.raw_key)
            return self._reject(
                event,
                facts=self._facts(event, key=candidates[0], size=event.size),
                reason=MessageRejectReason.SOURCE_MISSING,
                detail=str(source),
                existing=existing,
                source_gone=True,
            )
        if len(candidates) > 1:
            existing = self._thumbnails.read_manifest(source.key)
        if existing is not None and existing.is_newer_than(event):
            return Skipped(reason=SkipReason.SUPERSEDED, key=source.key)
        return Fetched(event=event, source=source, existing=existing)

    def _get_source(
        self, event: ObjectCreated, candidates: tuple[str, ...], limit: int
    ) -> SourceObject | SourceTooLarge | SourceMissing:
        """The GET of step 4, with its two permanent refusals returned rather than raised."""
        try:
            return self._originals.fetch(candidates, etag=event.etag, version_id=event.version_id, max_bytes=limit)
        except (SourceTooLarge, SourceMissing) as refusal:
            return refusal

    def _write_set(self, rendered: Rendered, fanout: Fanout) -> Outcome:
        event, source, rendition, existing = rendered.event, rendered.source, rendered.rendition, rendered.existing
        metadata = {
            "source-etag": source.etag,
            "source-version-id": source.version_id,
            SEQUENCER_METADATA: event.sequencer,
        }
        listed = existing.variant_keys if existing is not None else ()
        keys = [variant_key(source.key, thumbnail.preset) for thumbnail in rendition.thumbnails]
        # Set when a variant turns out to be a newer upload's, or a write fails: the writes not started yet are
        # not started (they come back None), as when they run one after another.
        stop = threading.Event()

        def put(key: str, thumbnail: Thumbnail) -> str | None:
            if stop.is_set():
                return None
            try:
                # Equal sequencers (a duplicate delivery) and missing ones (moto's) do not stop the write:
                # the last one processed wins, as always.
                etag = self._thumbnails.write_variant(
                    key=key,
                    thumbnail=thumbnail,
                    metadata=metadata,
                    expected=key in listed,
                    yields_to=lambda stored: stored.is_newer_than(event),
                )
            except BaseException:
                stop.set()
                raise
            if etag is None:
                stop.set()
            return etag

        # Raises the first failure, once no write of this set is still running: then no manifest is written.
        etags = fanout([partial(put, key, thumb) for key, thumb in zip(keys, rendition.thumbnails, strict=True)])
        if any(etag is None for etag in etags):
            # A newer upload's processing has written a variant, and will write the others and the manifest:
            # stop. What this one wrote is older, so that processing replaces it.
            return Skipped(reason=SkipReason.SUPERSEDED, key=source.key)
        written = {key: cast(str, etag) for key, etag in zip(keys, etags, strict=True)}  # key -> ETag written
        manifest = complete_manifest(
            source=source,
            rendition=rendition,
            variant_keys=list(written),
            generated_at=self._clock(),
            fingerprint=self._fingerprint,
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
        # The new manifest is in place: variants of presets no longer configured can go.
        remove_dropped_variants(self._thumbnails, source.key, listed=listed, kept=written)
        return Completed(key=source.key, variant_keys=tuple(written), manifest=result)

    def _process_deletion(self, event: ObjectDeleted, candidates: tuple[str, ...]) -> Outcome | Upload:
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
        if stored.is_newer_than(event):
            return False  # made from an upload after the deletion: that upload's manifest will name it
        return self._thumbnails.delete_variant(key, etag=stored.etag)

    def _restore(self, event: ObjectDeleted, current: CurrentObject) -> Upload:
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
        return Upload(event=created, candidates=(current.key,))

    def _reject(
        self,
        event: ObjectCreated,
        *,
        facts: SourceFacts,
        reason: str,
        detail: str,
        existing: ExistingManifest | None,
        source_gone: bool = False,
    ) -> Outcome:
        """A refusal with a known key (`facts.key`): write a rejected manifest unless a newer upload owns the key."""
        key = facts.key
        manifest = rejected_manifest(source=facts, reason=reason, detail=detail, generated_at=self._clock())
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
                return self._thumbnails.put_manifest(original_key=key, manifest=manifest, replacing=existing)
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


def _both(fanout: Fanout, first: Callable[[], A], second: Callable[[], B]) -> tuple[A, B]:
    """Two independent tasks of different result types through `fanout`."""
    first_result, second_result = fanout([first, second])
    return cast(A, first_result), cast(B, second_result)


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
