"""The pipeline's deploy-time configuration: typed and validated once, at the edge of the app.

Where values come from (later wins, key by key at the top level):

1. the `thumbnails` object in `cdk.json` — the project's defaults, every key present;
2. the `thumbnailsOverrides` context key — a JSON string or an object, for one-off changes:

       cdk synth -c thumbnailsOverrides='{"memoryMb": 2048, "disposable": true}'

   The separate key exists because `-c thumbnails=...` would *replace* the whole defaults object
   instead of changing one key. A listed key replaces the default whole (an overriding `presets`
   is the new preset list, not merged preset by preset).

Every error is a `ConfigError` whose message starts with the key's path and says what is allowed,
e.g. `thumbnails.memoryMb: expected an integer from 512 to 10240, got 'x'`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from functions.thumbnailer.imaging.presets import (
    ConfigError,
    Limits,
    Preset,
    parse_limits,
    parse_presets,
    require_bool,
    require_int,
)
from stacks.constants import LOG_RETENTION

DEFAULTS_KEY = "thumbnails"
OVERRIDES_KEY = "thumbnailsOverrides"

KNOWN_KEYS = frozenset(
    {
        "keyPrefix",
        "keySuffixes",
        "presets",
        "memoryMb",
        "timeoutSeconds",
        "batchSize",
        "maxConcurrency",
        "maxSourceBytes",
        "maxSourcePixels",
        "maxFrames",
        "logRetentionDays",
        "cacheControl",
        "disposable",
    }
)

MAX_KEY_BYTES = 1024  # S3's limit on an object key (UTF-8 bytes), so a prefix must leave room for a name
MAX_CACHE_CONTROL_LENGTH = 256
# Caps that keep the function's environment (4 KB in total for Lambda) and the rule's pattern small,
# even with 10 presets and a long prefix.
MAX_KEY_SUFFIXES = 10
MAX_SUFFIX_LENGTH = 16
# SQS event sources reject a batch size above 10 without a batching window.
MAX_BATCH_WITHOUT_WINDOW = 10


class _Missing:
    def __repr__(self) -> str:
        return "nothing (the key is missing)"


_MISSING: Any = _Missing()


@dataclass(frozen=True)
class PipelineConfig:
    """Everything the stack needs to know, already checked."""

    key_prefix: str
    key_suffixes: tuple[str, ...]
    presets: tuple[Preset, ...]
    limits: Limits
    memory_mb: int
    timeout_seconds: int
    batch_size: int
    max_concurrency: int
    log_retention_days: int
    cache_control: str
    disposable: bool

    @property
    def max_batching_window_seconds(self) -> int:
        """0 (no window) up to 10 records; above that SQS requires a window, so we use the smallest: 1 s."""
        return 1 if self.batch_size > MAX_BATCH_WITHOUT_WINDOW else 0

    @classmethod
    def from_context(cls, raw: Any, overrides: Any = None) -> PipelineConfig:
        """Build the config from the `thumbnails` context value with `thumbnailsOverrides` merged on top.

        Both may be a mapping or a JSON string holding an object (what `cdk -c key=value` passes).
        """
        merged = dict(_as_object(DEFAULTS_KEY, raw))
        if overrides is not None:
            merged.update(_as_object(OVERRIDES_KEY, overrides))
        return cls._from_mapping(merged)

    @classmethod
    def _from_mapping(cls, values: Mapping[str, Any]) -> PipelineConfig:
        unknown = sorted(set(values) - KNOWN_KEYS)
        if unknown:
            raise ConfigError(
                f"{DEFAULTS_KEY}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(KNOWN_KEYS))}"
            )

        def where(key: str) -> str:
            return f"{DEFAULTS_KEY}.{key}"

        def get(key: str) -> Any:
            return values.get(key, _MISSING)

        return cls(
            key_prefix=_require_key_prefix(where("keyPrefix"), get("keyPrefix")),
            key_suffixes=_require_key_suffixes(where("keySuffixes"), get("keySuffixes")),
            presets=parse_presets(get("presets"), where("presets")),
            limits=parse_limits(values, DEFAULTS_KEY),
            memory_mb=require_int(where("memoryMb"), get("memoryMb"), 512, 10240),
            timeout_seconds=require_int(where("timeoutSeconds"), get("timeoutSeconds"), 10, 900),
            batch_size=require_int(where("batchSize"), get("batchSize"), 1, 100),
            max_concurrency=require_int(where("maxConcurrency"), get("maxConcurrency"), 2, 1000),
            log_retention_days=_require_retention(where("logRetentionDays"), get("logRetentionDays")),
            cache_control=_require_cache_control(where("cacheControl"), get("cacheControl")),
            disposable=require_bool(where("disposable"), get("disposable")),
        )


def _as_object(where: str, value: Any) -> Mapping[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            raise ConfigError(f"{where}: expected a JSON object, got invalid JSON ({error})") from None
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: expected an object (or a JSON string holding one), got {value!r}")
    return value


def _require_retention(where: str, value: Any) -> int:
    if isinstance(value, bool) or value not in LOG_RETENTION:
        raise ConfigError(f"{where}: expected one of {', '.join(map(str, LOG_RETENTION))}, got {value!r}")
    return value


def _require_key_prefix(where: str, value: Any) -> str:
    if not isinstance(value, str) or len(value.encode()) >= MAX_KEY_BYTES:
        raise ConfigError(
            f"{where}: expected a string shorter than {MAX_KEY_BYTES} bytes in UTF-8 ('' for every key), got {value!r}"
        )
    return value


def _require_key_suffixes(where: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) > MAX_KEY_SUFFIXES:
        raise ConfigError(
            f"{where}: expected a list of at most {MAX_KEY_SUFFIXES} suffixes like ['.jpg', '.png'] ([] for any), "
            f"got {value!r}"
        )
    for index, suffix in enumerate(value):
        if not isinstance(suffix, str) or not suffix.startswith(".") or not 2 <= len(suffix) <= MAX_SUFFIX_LENGTH:
            raise ConfigError(
                f"{where}[{index}]: expected a suffix of 2 to {MAX_SUFFIX_LENGTH} characters starting with '.', "
                f"got {suffix!r}"
            )
    return tuple(value)


def _require_cache_control(where: str, value: Any) -> str:
    # Printable ASCII only: the value becomes an HTTP header on every thumbnail, and a CR/LF there
    # would let configuration inject headers. '' means thumbnails get no Cache-Control header.
    if (
        not isinstance(value, str)
        or len(value) > MAX_CACHE_CONTROL_LENGTH
        or not all(" " <= char <= "~" for char in value)
    ):
        raise ConfigError(
            f"{where}: expected at most {MAX_CACHE_CONTROL_LENGTH} printable ASCII characters "
            f"like 'public, max-age=31536000' ('' for none), got {value!r}"
        )
    return value
