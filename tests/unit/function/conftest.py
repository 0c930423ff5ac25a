"""Fixtures for the function's unit tests: settings, a moto S3 with both buckets, a stand-in engine, S3 call spies."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.config import Config
from moto import mock_aws

from tests.builders import ORIGINALS_BUCKET, REGION, THUMBNAILS_BUCKET, function_environ
from thumbnailer.contract import Settings
from thumbnailer.imaging.engine import Rendition, SourceInfo, Thumbnail
from thumbnailer.imaging.presets import Limits, Preset
from thumbnailer.imaging.rejections import ImageRejected

# One session for every test: clients then share its loaded service models (creating a client from a
# fresh session costs about 0.4 s). moto is imported above, so the session carries moto's hooks.
SESSION = boto3.session.Session(region_name=REGION)

# Few attempts: the tests that inject S3 errors exercise botocore's retry logic without long backoffs.
TEST_CLIENT_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 2})


@pytest.fixture
def settings() -> Settings:
    return Settings.from_environment(function_environ())


@pytest.fixture
def s3() -> Iterator[Any]:
    """A moto S3 client with empty, unversioned originals and thumbnails buckets."""
    with mock_aws():
        client = SESSION.client("s3", config=TEST_CLIENT_CONFIG)
        client.create_bucket(Bucket=ORIGINALS_BUCKET)
        client.create_bucket(Bucket=THUMBNAILS_BUCKET)
        yield client


@dataclass
class FakeEngine:
    """Stands in for `make_thumbnails` where the pixels are not the point: one small payload per preset,
    or the `ImageRejected` it is told to raise. Records the bytes it was given."""

    rejects: ImageRejected | None = None
    calls: list[bytes] = field(default_factory=list)

    def __call__(self, data: bytes, presets: Sequence[Preset], limits: Limits) -> Rendition:
        self.calls.append(data)
        if self.rejects is not None:
            raise self.rejects
        return Rendition(
            source=SourceInfo(format="jpeg", width=640, height=480, frames=1),
            thumbnails=tuple(
                Thumbnail(
                    preset=preset,
                    data=f"pixels for {preset.name}".encode(),
                    width=preset.width,
                    height=preset.height or preset.width * 3 // 4,
                )
                for preset in presets
            ),
        )


@pytest.fixture
def fake_engine() -> FakeEngine:
    return FakeEngine()


@dataclass(frozen=True)
class S3Call:
    operation: str
    bucket: str
    key: str
    params: dict[str, Any]


@pytest.fixture
def s3_calls(s3: Any) -> list[S3Call]:
    """Every S3 call the client makes from now on, in order (recorded before it is sent)."""
    calls: list[S3Call] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append(S3Call(model.name, params.get("Bucket", ""), params.get("Key", ""), dict(params)))

    s3.meta.events.register("provide-client-params.s3.*", record)
    return calls


class _RawBody(io.BytesIO):
    """What botocore reads an HTTP body from."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.getvalue()


@dataclass
class InjectedFault:
    """Counts the requests it answered in place of S3."""

    answered: list[str] = field(default_factory=list)


@pytest.fixture
def inject_s3_error(s3: Any) -> Callable[..., InjectedFault]:
    """`inject_s3_error("PutObject", 503, "SlowDown", url_suffix="/manifest.json")`: from now on every matching
    request gets that S3 error response instead of reaching (moto's) S3, so botocore's real retry and error
    handling run. `exception=` raises that exception instead, as a broken connection would."""

    def inject(
        operation: str,
        status: int = 500,
        code: str = "InternalError",
        *,
        url_suffix: str = "",
        exception: Exception | None = None,
    ) -> InjectedFault:
        fault = InjectedFault()

        def answer(request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
            if not request.url.split("?")[0].endswith(url_suffix):
                return None
            fault.answered.append(request.url)
            # moto's own before-send handler runs after this one and would still carry out the request
            # (botocore calls every handler, then uses the first response). Pointing the request at a host
            # moto does not serve makes the fault mean what it says: S3 did nothing.
            scheme, _, rest = request.url.partition("://")
            request.url = f"{scheme}://injected-fault.invalid/{rest.partition('/')[2]}"
            if exception is not None:
                raise exception
            body = f"<?xml version='1.0'?><Error><Code>{code}</Code><Message>injected</Message></Error>"
            return AWSResponse(request.url, status, {"Content-Type": "application/xml"}, _RawBody(body.encode()))

        s3.meta.events.register_first(f"before-send.s3.{operation}", answer)
        return fault

    return inject
