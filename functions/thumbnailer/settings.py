"""The function's configuration: read from its environment once, validated, typed.

The CDK app sets these variables from `cdk.json`; the function never reads `os.environ` anywhere else.
A bad value fails the first invocation with a `ConfigError` naming the variable and what is allowed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .imaging.presets import ConfigError, Limits, Preset, parse_limits, parse_presets

# S3's rules for bucket names (length, characters, first/last character).
BUCKET_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
DIGITS_PATTERN = re.compile(r"^[0-9]+$")
# Cache-Control is sent as an HTTP header: printable ASCII only.
HEADER_VALUE_PATTERN = re.compile(r"^[\x20-\x7e]*$")
MAX_KEY_BYTES = 1024  # S3's limit on an object key, in UTF-8 bytes

# Environment variable -> the cdk.json limit key that `parse_limits` validates.
LIMIT_VARIABLES = {
    "MAX_SOURCE_BYTES": "maxSourceBytes",
    "MAX_SOURCE_PIXELS": "maxSourcePixels",
    "MAX_FRAMES": "maxFrames",
}


@dataclass(frozen=True, kw_only=True)
class Settings:
    originals_bucket: str
    thumbnails_bucket: str
    presets: tuple[Preset, ...]
    limits: Limits
    key_prefix: str
    key_suffixes: tuple[str, ...]  # lower-case; empty means every key
    cache_control: str  # empty: thumbnails are written without a Cache-Control header

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        return cls(
            originals_bucket=_bucket_name(environ, "ORIGINALS_BUCKET"),
            thumbnails_bucket=_bucket_name(environ, "THUMBNAILS_BUCKET"),
            presets=parse_presets(_json(environ, "PRESETS"), where="PRESETS"),
            limits=_limits(environ),
            key_prefix=_key_prefix(environ, "KEY_PREFIX"),
            key_suffixes=_key_suffixes(environ, "KEY_SUFFIXES"),
            cache_control=_header_value(environ, "CACHE_CONTROL"),
        )

    def accepts_key(self, key: str) -> bool:
        """The rule can match a prefix or suffixes but not both, so every key is checked here against both."""
        if not key.startswith(self.key_prefix):
            return False
        return not self.key_suffixes or key.lower().endswith(self.key_suffixes)


def _require(environ: Mapping[str, str], variable: str) -> str:
    value = environ.get(variable)
    if value is None:
        raise ConfigError(f"{variable}: required environment variable is not set")
    return value


def _bucket_name(environ: Mapping[str, str], variable: str) -> str:
    value = _require(environ, variable)
    if not BUCKET_NAME_PATTERN.match(value):
        raise ConfigError(f"{variable}: expected an S3 bucket name (3-63 of a-z, 0-9, '.', '-'), got {value!r}")
    return value


def _json(environ: Mapping[str, str], variable: str) -> Any:
    value = _require(environ, variable)
    try:
        return json.loads(value)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{variable}: expected JSON, got {value!r} ({error.msg})") from None


def _limits(environ: Mapping[str, str]) -> Limits:
    raw: dict[str, int] = {}
    for variable, key in LIMIT_VARIABLES.items():
        value = _require(environ, variable)
        if not DIGITS_PATTERN.match(value):
            raise ConfigError(f"{variable}: expected a whole number, got {value!r}")
        raw[key] = int(value)
        try:
            parse_limits({key: raw[key]})
        except ConfigError as error:
            raise ConfigError(f"{variable}: {error}") from None
    return parse_limits(raw)


def _key_prefix(environ: Mapping[str, str], variable: str) -> str:
    value = _require(environ, variable)
    if len(value.encode()) >= MAX_KEY_BYTES:
        raise ConfigError(f"{variable}: expected fewer than {MAX_KEY_BYTES} bytes, got {len(value.encode())}")
    return value


def _key_suffixes(environ: Mapping[str, str], variable: str) -> tuple[str, ...]:
    raw = _json(environ, variable)
    if not isinstance(raw, list) or not all(isinstance(suffix, str) and suffix for suffix in raw):
        raise ConfigError(f"{variable}: expected a JSON list of non-empty strings (or []), got {raw!r}")
    return tuple(suffix.lower() for suffix in raw)


def _header_value(environ: Mapping[str, str], variable: str) -> str:
    value = _require(environ, variable)
    if not HEADER_VALUE_PATTERN.match(value):
        raise ConfigError(f"{variable}: expected printable ASCII (an HTTP header value), got {value!r}")
    return value
