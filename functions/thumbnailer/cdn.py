"""The CloudFront adapter: when a set replaces an older complete set (or is deleted), drop it from the CDN's caches.

Thumbnails keep stable keys and the CDN keeps them for a year (`s-maxage`), so a replaced set must be
invalidated or viewers would get the old pixels. One invalidation per replaced set, of `/<original key>/*`
(the variants and the manifest): a wildcard path counts as one path, and the first 1,000 paths a month are free.

CloudFront allows only 15 wildcard paths in progress per distribution (against 3,000 plain ones), which a
bulk overwrite of originals reaches within seconds. When CloudFront answers TooManyInvalidationsInProgress the
same invalidation is made of the set's objects one by one instead (the replaced variants and the manifest): a
few paths more to pay for, rather than records retried until they end in the dead-letter queue.

CloudFront wants non-ASCII and RFC 1738 "unsafe" characters of a path URL-encoded, and nothing else; `*` and
`?` are encoded too, as the only literal ones a key can hold (unencoded they would be a wildcard or a query).

Any failure (throttling, TooManyInvalidationsInProgress, access denied, a broken connection) is a
TransientError: the record is retried, and the retry invalidates again. The client is injected or created on
first use, never at import.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import quote

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from .outcomes import TransientError

if TYPE_CHECKING:
    from botocore.config import Config
    from mypy_boto3_cloudfront import CloudFrontClient

# Kept as they are: RFC 1738's reserved and "extra" characters, minus '*' and '?'. quote() also keeps
# letters, digits and "_.-~".
SAFE_PATH_CHARACTERS = "/!$&'()+,;=:@"
WILDCARD_QUOTA_EXCEEDED = "TooManyInvalidationsInProgress"
MAX_PATHS = 3000  # CloudFront's limit on the paths of one invalidation


def object_path(key: str) -> str:
    """The path a viewer requests one object of the thumbnails bucket by."""
    return f"/{quote(key, safe=SAFE_PATH_CHARACTERS)}"


def invalidation_path(original_key: str) -> str:
    """Every object of one original's set: its variants and its manifest."""
    return f"{object_path(original_key)}/*"


class CdnInvalidator:
    """Invalidates one original's set in one distribution."""

    def __init__(
        self, *, distribution_id: str, client: CloudFrontClient | None = None, client_config: Config | None = None
    ) -> None:
        self._distribution_id = distribution_id
        self._client = client
        self._client_config = client_config

    def invalidate(self, original_key: str, *, object_keys: Sequence[str]) -> str:
        """Start the invalidation of `/<original key>/*`; returns the invalidation id.

        `object_keys` are the set's objects (the replaced variants and the manifest), invalidated one by one
        instead when the distribution has too many wildcard invalidations in progress.
        """
        try:
            try:
                return self._create([invalidation_path(original_key)])
            except ClientError as error:
                if _code(error) != WILDCARD_QUOTA_EXCEEDED or not object_keys:
                    raise
            return self._create(list(dict.fromkeys(object_path(key) for key in object_keys))[:MAX_PATHS])
        except (ClientError, BotoCoreError) as error:
            raise _transient(error, original_key) from error

    def _create(self, paths: list[str]) -> str:
        response = self._cloudfront().create_invalidation(
            DistributionId=self._distribution_id,
            InvalidationBatch={
                "Paths": {"Quantity": len(paths), "Items": paths},
                # Unique per call: botocore's own retries resend this very request, which CloudFront answers
                # with the same invalidation, and a retried record is a new call.
                "CallerReference": uuid.uuid4().hex,
            },
        )
        return str(response["Invalidation"]["Id"])

    def _cloudfront(self) -> CloudFrontClient:
        if self._client is None:
            self._client = boto3.client("cloudfront", config=self._client_config)
        return self._client


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code") or "")


def _transient(error: ClientError | BotoCoreError, original_key: str) -> TransientError:
    reason = _code(error) if isinstance(error, ClientError) else type(error).__name__
    return TransientError(reason or "CreateInvalidationError", f"invalidating the set of {original_key!r}: {error}")
