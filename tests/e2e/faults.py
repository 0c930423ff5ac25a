"""Fault injection for the function's S3 client: a botocore `before-send` hook that answers for S3.

The function sees exactly what it would see from a struggling S3: botocore's retry logic runs on the
503s, then a ClientError. Caveat (moto 5): botocore calls every `before-send` handler and uses the
first response, so moto's own handler still carries the request out: a "failed" PutObject may have
written its object. Tests therefore assert on what the function does with the answer (no manifest,
the message retried and dead-lettered), never on the failed object's absence.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

from botocore.awsrequest import AWSPreparedRequest, AWSResponse

SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
)


class _RawBody(io.BytesIO):
    """What botocore reads an HTTP body from."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.read()


class SlowDownPutObject:
    """Answers PutObject with 503 SlowDown when the object key starts with `key_prefix`.

    `times=None` fails every such request; a number fails only that many, then lets requests through.
    `failed` counts the requests answered with 503.
    """

    event_name = "before-send.s3.PutObject"

    def __init__(self, *, key_prefix: str, times: int | None = None) -> None:
        self.key_prefix = key_prefix
        self.times = times
        self.failed = 0

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
        if not self._targets(request) or (self.times is not None and self.failed >= self.times):
            return None
        self.failed += 1
        return AWSResponse(request.url, 503, {"Content-Type": "application/xml"}, _RawBody(SLOW_DOWN))

    def _targets(self, request: AWSPreparedRequest) -> bool:
        # Path-style ("/bucket/key") or virtual-hosted ("/key"): the key is what follows some "/".
        path = unquote(urlsplit(request.url).path)
        return f"/{self.key_prefix}" in path
