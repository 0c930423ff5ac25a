"""Fault injection for an S3 client, shared by the unit and e2e tests: S3 answers with an error instead of acting.

    fault = inject_s3_fault(s3, "PutObject", 503, "SlowDown", key_suffix="/manifest.json")
    ...
    assert len(fault.answered) == 2  # the client's attempts: botocore retried
    fault.remove()  # only needed when the client outlives the test

A `before-send` hook on the client answers matching requests, so the code under test sees exactly what a
struggling S3 would give it: botocore's real retry logic runs on the error, then a ClientError (or, with
`exception=`, the exception a broken connection raises).

The moto caveat, and the one behaviour chosen here: botocore calls every `before-send` handler and uses the
first response, so moto's own handler would still carry out a request this hook answers (a "failed"
PutObject would have written its object). The hook therefore points each request it answers at a host moto
does not serve, and an injected fault always means what it says: S3 did nothing. Tests may assert that a
failed write left no object.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from botocore.awsrequest import AWSPreparedRequest, AWSResponse

UNSERVED_HOST = "injected-fault.invalid"  # .invalid never resolves, and moto serves no such host


class _RawBody(io.BytesIO):
    """What botocore reads an HTTP body from."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.getvalue()


@dataclass
class S3Fault:
    """Answers the client's requests for one operation whose object key starts with `key_prefix` and ends with
    `key_suffix` (both optional), `times` times (None: every time), with an S3 error or by raising `exception`.
    `answered` lists the URLs of the requests it answered."""

    client: Any
    operation: str
    status: int = 503
    code: str = "SlowDown"
    key_prefix: str = ""
    key_suffix: str = ""
    times: int | None = None
    exception: Exception | None = None
    answered: list[str] = field(default_factory=list)

    @property
    def event_name(self) -> str:
        return f"before-send.s3.{self.operation}"

    def remove(self) -> None:
        self.client.meta.events.unregister(self.event_name, self)

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
        if not self._targets(request.url) or (self.times is not None and len(self.answered) >= self.times):
            return None
        self.answered.append(request.url)
        scheme, _, rest = request.url.partition("://")
        request.url = f"{scheme}://{UNSERVED_HOST}/{rest.partition('/')[2]}"  # see the module docstring
        if self.exception is not None:
            raise self.exception
        body = f"<?xml version='1.0'?><Error><Code>{self.code}</Code><Message>injected</Message></Error>"
        return AWSResponse(request.url, self.status, {"Content-Type": "application/xml"}, _RawBody(body.encode()))

    def _targets(self, url: str) -> bool:
        # Virtual-hosted ("/<key>") or path-style ("/<bucket>/<key>"): the URL does not say which, so either reading
        # of the path may be the key. A key one segment longer ("b/<key_prefix>...") matches too: pick prefixes
        # no other key of the test ends in.
        path = unquote(urlsplit(url).path).removeprefix("/")
        keys = (path, path.partition("/")[2])
        return any(key.startswith(self.key_prefix) and key.endswith(self.key_suffix) for key in keys)


def inject_s3_fault(
    client: Any,
    operation: str,
    status: int = 503,
    code: str = "SlowDown",
    *,
    key_prefix: str = "",
    key_suffix: str = "",
    times: int | None = None,
    exception: Exception | None = None,
) -> S3Fault:
    """From now on, matching `operation` requests of `client` get that S3 error (or raise `exception`)."""
    fault = S3Fault(
        client=client,
        operation=operation,
        status=status,
        code=code,
        key_prefix=key_prefix,
        key_suffix=key_suffix,
        times=times,
        exception=exception,
    )
    client.meta.events.register_first(fault.event_name, fault)
    return fault
