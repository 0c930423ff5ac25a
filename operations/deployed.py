"""What is deployed, read from AWS: the function's own configuration (the truth about presets and the key
filter), its fingerprint, and each event source mapping's maximum concurrency."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from thumbnailer.contract import Settings
from thumbnailer.fingerprint import presets_fingerprint

from .aws import Deployment

MANIFEST_SUFFIX = "/manifest.json"


@dataclass(frozen=True)
class DeployedFunction:
    name: str
    settings: Settings
    fingerprint: str
    concurrency: dict[str, int | None]  # queue ARN -> the mapping's maximum concurrency (None: not set)
    batch_size: dict[str, int]

    @classmethod
    def read(cls, deployment: Deployment) -> DeployedFunction:
        lambda_client = deployment.client("lambda")
        name = deployment.output("ThumbnailFunctionName")
        configuration = lambda_client.get_function_configuration(FunctionName=name)
        settings = Settings.from_environment(configuration.get("Environment", {}).get("Variables", {}))
        concurrency: dict[str, int | None] = {}
        batch_size: dict[str, int] = {}
        for page in lambda_client.get_paginator("list_event_source_mappings").paginate(FunctionName=name):
            for mapping in page["EventSourceMappings"]:
                arn = mapping["EventSourceArn"]
                concurrency[arn] = mapping.get("ScalingConfig", {}).get("MaximumConcurrency")
                batch_size[arn] = mapping.get("BatchSize", 10)
        return cls(
            name=name,
            settings=settings,
            fingerprint=presets_fingerprint(settings.config.presets),
            concurrency=concurrency,
            batch_size=batch_size,
        )


def list_keys(s3: Any, bucket: str, prefix: str, *, on_page: Callable[[int], None] | None = None) -> Iterator[str]:
    """Every key under `prefix`, page by page (1,000 keys per LIST); `on_page(count)` after each page."""
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        contents = page.get("Contents", [])
        yield from (item["Key"] for item in contents)
        if on_page is not None:
            on_page(len(contents))


def manifest_original(key: str) -> str | None:
    """The original a manifest key belongs to, or None when the key is not a manifest."""
    return key[: -len(MANIFEST_SUFFIX)] if key.endswith(MANIFEST_SUFFIX) and len(key) > len(MANIFEST_SUFFIX) else None
