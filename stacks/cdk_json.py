"""cdk.json, the one place the pipeline's defaults live, read without importing the CDK.

The CDK app reads its context from here; tests, the benchmark and the demo read the defaults from here too,
so raising a limit in cdk.json changes what every one of them checks. Standard library only (plus the
function's contract), so the function's unit tests and the benchmark stay free of the CDK's start-up cost.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from thumbnailer.contract import FunctionConfig, Settings

CDK_JSON = Path(__file__).resolve().parent.parent / "cdk.json"
THUMBNAILS_KEY = "thumbnails"


def cdk_json_context() -> dict[str, Any]:
    """The `context` object of cdk.json: feature flags and the `thumbnails` defaults."""
    context: dict[str, Any] = json.loads(CDK_JSON.read_text(encoding="utf-8"))["context"]
    return context


def thumbnails_defaults() -> dict[str, Any]:
    """cdk.json's `thumbnails` object, every key present."""
    return dict(cdk_json_context()[THUMBNAILS_KEY])


def default_function_config() -> FunctionConfig:
    """The function's configuration as cdk.json sets it, checked by the function's own validator."""
    defaults = thumbnails_defaults()
    return FunctionConfig.from_mapping(
        {key: value for key, value in defaults.items() if key in FunctionConfig.KEYS}, THUMBNAILS_KEY
    )


def default_settings(*, originals_bucket: str, thumbnails_bucket: str, event_bus_name: str | None = None) -> Settings:
    """What the deployed function runs with by default, for the given buckets (and event bus)."""
    return Settings(
        originals_bucket=originals_bucket,
        thumbnails_bucket=thumbnails_bucket,
        timeout_seconds=thumbnails_defaults()["timeoutSeconds"],
        config=default_function_config(),
        event_bus_name=event_bus_name,
    )
