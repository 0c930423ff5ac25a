"""Fixtures for the function's unit tests: settings, a moto S3 with both buckets, a stand-in engine, S3 call spies.

S3 faults are injected with `tests.faults.inject_s3_fault`, the same injector the e2e tests use.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from aws_lambda_powertools import Logger, Metrics
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


class JsonLog:
    """A Powertools logger writing into memory, and the JSON lines it wrote."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        # A unique service name: Powertools configures one logging.Logger per name, once.
        self.logger = Logger(service=f"test-{uuid.uuid4().hex}", stream=self.stream)

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines() if line.strip()]

    def records(self) -> dict[str, dict[str, Any]]:
        """The one line per record, by message id."""
        return {line["messageId"]: line for line in self.lines() if "messageId" in line}

    def outcomes(self) -> dict[str, str]:
        return {message_id: line["outcome"] for message_id, line in self.records().items()}


@pytest.fixture
def log() -> JsonLog:
    return JsonLog()


@pytest.fixture
def metrics() -> Iterator[Metrics]:
    # Powertools shares one metric set between Metrics instances: start and end empty.
    metrics = Metrics(namespace="ThumbnailPipelineTest", service="thumbnailer")
    metrics.clear_metrics()
    yield metrics
    metrics.clear_metrics()
