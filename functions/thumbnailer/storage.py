"""The S3 adapter: read originals, write thumbnails and manifests, translate S3 errors into outcomes.

Every S3 failure that retrying may fix becomes `TransientError`; "the object is not there (any more)"
becomes `SourceMissing`. The client is injected, so tests run against moto and production against S3.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from .contract import MAX_KEY_BYTES
from .events import S3Event, compare_sequencers, is_hex
from .manifest import ExistingManifest
from .outcomes import TransientError, WrittenManifest

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from .imaging.engine import Thumbnail
    from .imaging.presets import Preset

MANIFEST_NAME = "manifest.json"
MANIFEST_CONTENT_TYPE = "application/json"
# The manifest is replaced when the original is re-uploaded, so caches must revalidate it.
MANIFEST_CACHE_CONTROL = "no-cache"

# "Not there": deleted, overwritten (If-Match failed), or that version is gone. HEAD-style errors
# carry only the status code, GET-style ones a named code; both spellings are listed.
SOURCE_GONE_CODES = frozenset({"NoSuchKey", "NoSuchVersion", "NotFound", "404", "PreconditionFailed", "412"})
# A conditional write lost a race: someone else wrote (or removed) the object meanwhile. 412: the condition
# failed; 409: a concurrent conditional write to the key; 404: If-Match on a key that has no object (any more).
WRITE_LOST_CODES = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict", "409", "NoSuchKey", "404"})
MISSING_CODES = frozenset({"NoSuchKey", "NotFound", "404"})
# A conditional delete found the object changed (412) or already gone (404): someone else got there first.
DELETE_LOST_CODES = frozenset({"PreconditionFailed", "412", "NoSuchKey", "NotFound", "404"})
SEQUENCER_METADATA = "source-sequencer"  # on every variant: which upload of the original it was made from
# A conditional variant write that keeps losing to other writers is retried later, with the message.
VARIANT_WRITE_ATTEMPTS = 3


def variant_key(original_key: str, preset: Preset) -> str:
    return f"{original_key}/{preset.name}.{preset.extension}"


def manifest_key(original_key: str) -> str:
    return f"{original_key}/{MANIFEST_NAME}"


def is_variant_key(original_key: str, key: str) -> bool:
    """Whether `key` can be a thumbnail of `original_key`: directly under `<original key>/`, not the manifest.

    Only direct children: "a.jpg/b.jpg/w256.jpg" belongs to the original "a.jpg/b.jpg", never to "a.jpg"
    (preset names cannot contain "/").
    """
    name = key.removeprefix(f"{original_key}/")
    return name != key and bool(name) and "/" not in name and name != MANIFEST_NAME


def output_keys_fit(original_key: str, presets: Sequence[Preset]) -> bool:
    """Whether every key written for this original stays within S3's key length limit."""
    keys = [manifest_key(original_key), *(variant_key(original_key, preset) for preset in presets)]
    return all(len(key.encode()) <= MAX_KEY_BYTES for key in keys)


class SourceMissing(Exception):
    """No candidate key holds the object the event describes. Permanent: S3 is strongly consistent."""


class SourceTooLarge(Exception):
    def __init__(self, *, key: str, size: int, limit: int) -> None:
        super().__init__(f"{size} bytes, limit {limit}")
        self.key = key
        self.size = size


class ManifestChanged(Exception):
    """The manifest changed between reading it and replacing it."""


@dataclass(frozen=True, kw_only=True)
class CurrentObject:
    """The object a key holds now, as HEAD describes it."""

    key: str
    size: int
    etag: str | None  # without quotes
    version_id: str | None


@dataclass(frozen=True, kw_only=True)
class StoredVariant:
    """A thumbnail in the bucket, as HEAD describes it."""

    etag: str  # quoted, as S3 returns it and a conditional delete wants it
    source_sequencer: str | None  # from its metadata; None when absent or not hex
    # Which object of the original it was made from (its metadata; None when absent).
    source_etag: str | None = None
    source_version_id: str | None = None

    def is_newer_than(self, event: S3Event) -> bool:
        """True when it was made from a later change of the key than `event` (by sequencer; never when either
        sequencer is missing, so that events without one behave as before: the last one processed wins)."""
        if self.source_sequencer is None or event.sequencer is None:
            return False
        return compare_sequencers(self.source_sequencer, event.sequencer) > 0


@dataclass(frozen=True, kw_only=True)
class SourceObject:
    key: str  # the candidate that matched
    data: bytes
    etag: str | None  # without quotes
    version_id: str | None


class OriginalStore:
    def __init__(self, *, s3_client: S3Client, bucket: str) -> None:
        self._s3 = s3_client
        self._bucket = bucket

    def fetch(
        self, candidates: Sequence[str], *, etag: str | None, version_id: str | None, max_bytes: int
    ) -> SourceObject:
        """The first candidate key holding the event's object (same version and ETag when the event has them).

        Raises SourceTooLarge before reading the body, SourceMissing when no candidate matches.
        """
        misses: list[str] = []
        for key in candidates:
            request: dict[str, Any] = {"Bucket": self._bucket, "Key": key}
            if version_id is not None:
                request["VersionId"] = version_id
            if etag is not None:
                # Quoted, as HTTP wants it (moto's HEAD compares the quoted form literally).
                request["IfMatch"] = f'"{etag}"'
            try:
                response = self._s3.get_object(**request)
            except ClientError as error:
                if _error_code(error) in SOURCE_GONE_CODES:
                    misses.append(f"{key!r}: {_error_code(error)}")
                    continue
                raise _transient(error) from error
            except BotoCoreError as error:
                raise _transient(error) from error
            return self._read_body(key, response, max_bytes)
        raise SourceMissing(f"no object matches the event in bucket {self._bucket!r} ({'; '.join(misses)})")

    def current(self, key: str) -> CurrentObject | None:
        """The object the key holds now (no version: a delete marker means none), or None."""
        response = _s3_call(self._s3.head_object, absent=MISSING_CODES, Bucket=self._bucket, Key=key)
        if response is None:
            return None
        return CurrentObject(
            key=key,
            size=response["ContentLength"],
            etag=_unquote(response.get("ETag")),
            version_id=_version(response.get("VersionId")),
        )

    def _read_body(self, key: str, response: Mapping[str, Any], max_bytes: int) -> SourceObject:
        body = response["Body"]
        try:
            size = response["ContentLength"]
            if size > max_bytes:
                raise SourceTooLarge(key=key, size=size, limit=max_bytes)
            data = body.read()
        except BotoCoreError as error:  # the connection broke or timed out mid-body
            raise _transient(error) from error
        finally:
            body.close()
        return SourceObject(
            key=key,
            data=data,
            etag=_unquote(response.get("ETag")),
            version_id=_version(response.get("VersionId")),
        )


class ThumbnailStore:
    def __init__(self, *, s3_client: S3Client, bucket: str, cache_control: str) -> None:
        self._s3 = s3_client
        self._bucket = bucket
        self._cache_control = cache_control

    def read_manifest(self, original_key: str) -> ExistingManifest | None:
        response = _s3_call(
            self._s3.get_object, absent=MISSING_CODES, Bucket=self._bucket, Key=manifest_key(original_key)
        )
        if response is None:
            return None
        body = response["Body"]
        try:
            content = body.read()
        except BotoCoreError as error:  # the connection broke or timed out mid-body
            raise _transient(error) from error
        finally:
            body.close()
        return ExistingManifest.from_json(content, object_etag=response["ETag"])

    def put_variant(
        self,
        *,
        key: str,
        thumbnail: Thumbnail,
        metadata: Mapping[str, str | None],
        replacing: StoredVariant | None,
    ) -> str | None:
        """Write one thumbnail only over the object `replacing` describes (or only where there is none).

        Returns the ETag written, so that the writer can later delete exactly this object; None when someone
        else wrote (or removed) the thumbnail since it was inspected: the caller must look again.
        """
        request: dict[str, Any] = {
            "Bucket": self._bucket,
            "Key": key,
            "Body": thumbnail.data,
            "ContentType": thumbnail.preset.content_type,
            "Metadata": ascii_metadata(metadata),
        }
        if self._cache_control:
            request["CacheControl"] = self._cache_control
        return self._conditional_put(request, replacing_etag=replacing.etag if replacing else None)

    def write_variant(
        self,
        *,
        key: str,
        thumbnail: Thumbnail,
        metadata: Mapping[str, str | None],
        expected: bool,
        yields_to: Callable[[StoredVariant], bool],
    ) -> str | None:
        """Write one variant unless the one in place must be kept (`yields_to` it); returns the ETag written,
        or None when the variant in place was kept.

        Without conditions an older upload whose render finished late would overwrite a newer upload's
        pixels, and the newer manifest would then describe older pixels. So the write is conditional on
        the object inspected: If-None-Match "*" where no variant is `expected` (a first upload costs one
        PutObject per variant, no HEAD), else If-Match the ETag a HEAD returned. A failed condition means
        someone wrote meanwhile: look again and decide again, a few times, then TransientError.
        """
        stored = self.variant(key) if expected else None
        for _ in range(VARIANT_WRITE_ATTEMPTS):
            if stored is not None and yields_to(stored):
                return None
            etag = self.put_variant(key=key, thumbnail=thumbnail, metadata=metadata, replacing=stored)
            if etag is not None:
                return etag
            stored = self.variant(key)
        raise TransientError("VariantContention", f"the thumbnail {key!r} kept changing while being written")

    def variant(self, key: str) -> StoredVariant | None:
        response = _s3_call(self._s3.head_object, absent=MISSING_CODES, Bucket=self._bucket, Key=key)
        if response is None:
            return None
        metadata = response.get("Metadata", {})
        sequencer = metadata.get(SEQUENCER_METADATA)
        return StoredVariant(
            etag=response["ETag"],
            source_sequencer=sequencer if is_hex(sequencer) else None,
            source_etag=metadata.get("source-etag") or None,
            source_version_id=metadata.get("source-version-id") or None,
        )

    def delete_variant(self, key: str, *, etag: str) -> bool:
        """Delete the thumbnail only if it is still the object with that ETag (a conditional delete), so a
        newer upload's thumbnail written meanwhile survives. False when it changed or was already gone."""
        response = _s3_call(
            self._s3.delete_object, absent=DELETE_LOST_CODES, Bucket=self._bucket, Key=key, IfMatch=etag
        )
        return response is not None

    def put_manifest(
        self, *, original_key: str, manifest: Mapping[str, Any], replacing: ExistingManifest | None
    ) -> WrittenManifest:
        """Write only over the manifest that was read (or only where there was none), so a writer that
        raced ahead is never silently overwritten; `ManifestChanged` tells the caller to read again.
        Returns what was written and what it replaced (what announcing it needs)."""
        request: dict[str, Any] = {
            "Bucket": self._bucket,
            "Key": manifest_key(original_key),
            "Body": json.dumps(manifest, indent=2).encode(),
            "ContentType": MANIFEST_CONTENT_TYPE,
            "CacheControl": MANIFEST_CACHE_CONTROL,
        }
        if self._conditional_put(request, replacing_etag=replacing.object_etag if replacing else None) is None:
            raise ManifestChanged(f"the manifest of {original_key!r} changed since it was read")
        return WrittenManifest(
            original_key=original_key,
            document=manifest,
            replaced_status=replacing.status if replacing is not None else None,
            replaced_keys=replacing.variant_keys if replacing is not None else (),
        )

    def _conditional_put(self, request: dict[str, Any], *, replacing_etag: str | None) -> str | None:
        """PutObject with If-Match `replacing_etag`, or If-None-Match "*" when None. Returns the new ETag, or
        None when the condition failed (another writer got there first)."""
        if replacing_etag is None:
            request["IfNoneMatch"] = "*"
        else:
            request["IfMatch"] = replacing_etag
        response = _s3_call(self._s3.put_object, absent=WRITE_LOST_CODES, **request)
        return None if response is None else response["ETag"]


def ascii_metadata(metadata: Mapping[str, str | None]) -> dict[str, str]:
    """S3 user metadata travels in HTTP headers: keep printable-ASCII values, drop the rest and the unset."""
    return {
        name: value
        for name, value in metadata.items()
        if value is not None and value.isascii() and value.isprintable() and value
    }


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _transient(error: ClientError | BotoCoreError) -> TransientError:
    reason = _error_code(error) if isinstance(error, ClientError) else type(error).__name__
    return TransientError(reason or "S3Error", str(error))


def _unquote(etag: str | None) -> str | None:
    return etag.strip('"') if etag else None


def _version(version_id: str | None) -> str | None:
    return version_id if version_id and version_id != "null" else None


def _s3_call(
    operation: Callable[..., Mapping[str, Any]], *, absent: frozenset[str] = frozenset(), **request: Any
) -> Mapping[str, Any] | None:
    """One S3 request: its response, or None when S3 answers with one of the `absent` error codes.

    Every other fault (5xx, SlowDown, throttling, timeouts, broken connections, AccessDenied) becomes a
    TransientError, so the message is retried and, in the end, kept by the dead-letter queue.
    """
    try:
        return operation(**request)
    except ClientError as error:
        if _error_code(error) in absent:
            return None
        raise _transient(error) from error
    except BotoCoreError as error:
        raise _transient(error) from error
