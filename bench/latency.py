"""A network latency model for an S3 client, injected with botocore event hooks.

Every request waits `first_byte_ms` (the round trip to S3 and its time to first byte) plus its request body's
transfer time before it is sent, and its response body's transfer time once it is answered, at
`megabytes_per_second` each way. The waits are sleeps in the thread that makes the call, which is what
waiting on a socket is: they release the GIL, so other threads (the render, other requests) run meanwhile.
Retried attempts pay again. moto answers in-process, so without the model a request costs only the CPU of
botocore and moto.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

FIRST_BYTE_MS = 20.0
MEGABYTES_PER_SECOND = 80.0


@dataclass
class LatencyModel:
    first_byte_ms: float = FIRST_BYTE_MS
    megabytes_per_second: float = MEGABYTES_PER_SECOND
    enabled: bool = True

    def describe(self) -> str:
        return (
            f"{self.first_byte_ms:g} ms to first byte per request + request and response bodies at "
            f"{self.megabytes_per_second:g} MB/s"
        )

    def transfer_seconds(self, size: int) -> float:
        return size / (self.megabytes_per_second * 1e6)

    def install(self, client: Any) -> None:
        """From now on every request of `client` pays the model (while `enabled`)."""
        # First: moto answers in a before-send hook too, and botocore stops at the first hook that answers.
        client.meta.events.register_first("before-send.s3", self._before_send)
        client.meta.events.register("after-call.s3", self._after_call)

    def _before_send(self, request: Any, **_: Any) -> None:
        if self.enabled:
            time.sleep(self.first_byte_ms / 1000 + self.transfer_seconds(_request_body_size(request)))

    def _after_call(self, http_response: Any, model: Any, **_: Any) -> None:
        if self.enabled and model.name != "HeadObject":  # a HEAD's Content-Length is the object's, not a body
            time.sleep(self.transfer_seconds(int(http_response.headers.get("Content-Length", 0) or 0)))


def _request_body_size(request: Any) -> int:
    """The body's size: a PutObject body is sent aws-chunked (with its CRC32 trailer), without Content-Length."""
    for header in ("X-Amz-Decoded-Content-Length", "Content-Length"):
        value = request.headers.get(header)
        if value:
            return int(value)
    return 0
