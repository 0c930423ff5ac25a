"""The contract between the CDK app and the function: one validator, run at synth and again at cold start.

`cdk.json`'s `thumbnails` object holds every default. Its function settings (presets, limits, key filter,
cache control) are parsed here by `FunctionConfig.from_mapping`; the CDK app calls it at synth, puts the
result in the function's environment with `Settings.to_environment()`, and the function reads it back with
`Settings.from_environment()`, which runs the same parser. So whatever synthesizes is what the function
accepts, and a new function setting is added in two places: `cdk.json` and this module.

The stack's deployment knobs (memory, batch size, retention, ...) are validated by `stacks/config.py`; the
one the function needs at run time, its timeout, travels here too, to size the S3 client's time budget.

Pure standard library (plus the imaging presets), so the CDK app imports it without Pillow or boto3.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .imaging.presets import (
    ConfigError,
    Limits,
    Preset,
    parse_limits,
    parse_presets,
    preset_to_json,
    require_int,
)

# The function's environment variables. The stack writes them with `Settings.to_environment()` only.
ORIGINALS_BUCKET_VARIABLE = "ORIGINALS_BUCKET"
THUMBNAILS_BUCKET_VARIABLE = "THUMBNAILS_BUCKET"
TIMEOUT_VARIABLE = "FUNCTION_TIMEOUT_SECONDS"
CONFIG_VARIABLE = "THUMBNAILS_CONFIG"  # the function settings, as the JSON object `FunctionConfig.to_json` writes
# Optional: set by the stack when it has the resource (the stack always creates the bus; the CDN only with `cdn`).
EVENT_BUS_VARIABLE = "EVENT_BUS_NAME"  # where each written manifest is announced
DISTRIBUTION_VARIABLE = "DISTRIBUTION_ID"  # the CloudFront distribution whose paths a replaced set invalidates

# What Powertools reads from the environment, and what the stack's alarms and dashboards look up.
SERVICE_NAME = "thumbnailer"
METRICS_NAMESPACE = "ThumbnailPipeline"
LOG_LEVEL = "INFO"

# One EMF metric per record outcome, counted once per record.
OUTCOME_METRICS = {
    "completed": "ImagesCompleted",
    "removed": "ImagesRemoved",  # an original was deleted and its thumbnails with it
    "rejected": "ImagesRejected",
    "skipped": "ImagesSkipped",
    "transient": "TransientErrors",
    "error": "UnexpectedErrors",
}
VARIANTS_METRIC = "ThumbnailsWritten"
STARTUP_ERRORS_METRIC = "StartupErrors"  # bad configuration: every record is retried until it is fixed

# The events the function puts on the pipeline's bus, one per manifest written, by the manifest's status.
# The source must not start with "aws." (reserved for AWS services); consumers match on it.
EVENT_SOURCE = "thumbnail-pipeline"
DETAIL_TYPES = {
    "complete": "Thumbnails Ready",
    "rejected": "Thumbnails Rejected",
    "deleted": "Thumbnails Removed",
}

MAX_KEY_BYTES = 1024  # S3's limit on an object key, in UTF-8 bytes
MAX_KEY_SUFFIXES = 10
MAX_SUFFIX_LENGTH = 16
MAX_CACHE_CONTROL_LENGTH = 256
# S3's rules for bucket names (length, characters, first/last character).
BUCKET_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# EventBridge's rules for an event bus name; CloudFront distribution ids are upper-case letters and digits.
EVENT_BUS_NAME_PATTERN = re.compile(r"^[A-Za-z0-9._/-]{1,256}$")
DISTRIBUTION_ID_PATTERN = re.compile(r"^[A-Z0-9]{1,64}$")
# The range `stacks/config.py` accepts for timeoutSeconds (Lambda allows up to 900).
MIN_TIMEOUT_SECONDS = 10
MAX_TIMEOUT_SECONDS = 900


@dataclass(frozen=True, kw_only=True)
class FunctionConfig:
    """What `cdk.json` says about the function's behaviour, already checked."""

    presets: tuple[Preset, ...]
    limits: Limits
    key_prefix: str
    key_suffixes: tuple[str, ...]  # as configured; matched case-insensitively; empty means every key
    cache_control: str  # empty: thumbnails are written without a Cache-Control header

    # The keys of cdk.json's `thumbnails` object this class owns (every one required: defaults live in cdk.json).
    KEYS = frozenset(
        {"presets", "maxSourceBytes", "maxSourcePixels", "maxFrames", "keyPrefix", "keySuffixes", "cacheControl"}
    )

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], where: str) -> FunctionConfig:
        """Parse the function's keys of cdk.json's `thumbnails` object (or the environment's copy of them).

        Every error is a ConfigError that starts with the key's path, e.g. `thumbnails.keyPrefix: ...`.
        """
        unknown = sorted(set(values) - cls.KEYS)
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(cls.KEYS))}")
        missing = sorted(cls.KEYS - set(values))
        if missing:
            raise ConfigError(f"{where}: missing key(s) {', '.join(missing)}")
        return cls(
            presets=parse_presets(values["presets"], f"{where}.presets"),
            limits=parse_limits(values, where),
            key_prefix=_key_prefix(f"{where}.keyPrefix", values["keyPrefix"]),
            key_suffixes=_key_suffixes(f"{where}.keySuffixes", values["keySuffixes"]),
            cache_control=_cache_control(f"{where}.cacheControl", values["cacheControl"]),
        )

    def to_json(self) -> dict[str, Any]:
        """The cdk.json form: `FunctionConfig.from_mapping(config.to_json(), ...) == config`."""
        return {
            "presets": [preset_to_json(preset) for preset in self.presets],
            "maxSourceBytes": self.limits.max_source_bytes,
            "maxSourcePixels": self.limits.max_source_pixels,
            "maxFrames": self.limits.max_frames,
            "keyPrefix": self.key_prefix,
            "keySuffixes": list(self.key_suffixes),
            "cacheControl": self.cache_control,
        }

    def accepts_key(self, key: str) -> bool:
        """The rule can match a prefix or suffixes but not both, so every key is checked here against both."""
        if not key.startswith(self.key_prefix):
            return False
        return not self.key_suffixes or key.lower().endswith(tuple(suffix.lower() for suffix in self.key_suffixes))


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the function runs with: where to read and write, where to announce, its time budget, and its
    configuration."""

    originals_bucket: str
    thumbnails_bucket: str
    timeout_seconds: int
    config: FunctionConfig
    event_bus_name: str | None = None  # None: written manifests are not announced
    distribution_id: str | None = None  # None: no CDN in front of the thumbnails, nothing to invalidate

    def to_environment(self) -> dict[str, str]:
        """The function's environment. Names may be CDK tokens here; they are checked on the way back.

        The optional variables are left out when unset, rather than set to ''."""
        optional = {EVENT_BUS_VARIABLE: self.event_bus_name, DISTRIBUTION_VARIABLE: self.distribution_id}
        return {
            ORIGINALS_BUCKET_VARIABLE: self.originals_bucket,
            THUMBNAILS_BUCKET_VARIABLE: self.thumbnails_bucket,
            TIMEOUT_VARIABLE: str(self.timeout_seconds),
            CONFIG_VARIABLE: json.dumps(self.config.to_json(), separators=(",", ":")),
            **{variable: value for variable, value in optional.items() if value is not None},
            "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": LOG_LEVEL,
        }

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Settings:
        """Read and check the environment `to_environment` wrote; a ConfigError names the variable."""
        return cls(
            originals_bucket=_bucket_name(ORIGINALS_BUCKET_VARIABLE, _require(environ, ORIGINALS_BUCKET_VARIABLE)),
            thumbnails_bucket=_bucket_name(THUMBNAILS_BUCKET_VARIABLE, _require(environ, THUMBNAILS_BUCKET_VARIABLE)),
            timeout_seconds=_timeout(_require(environ, TIMEOUT_VARIABLE)),
            config=FunctionConfig.from_mapping(_json_object(environ), CONFIG_VARIABLE),
            event_bus_name=_optional(
                environ, EVENT_BUS_VARIABLE, EVENT_BUS_NAME_PATTERN, "an event bus name (1-256 of A-Z a-z 0-9 . _ - /)"
            ),
            distribution_id=_optional(
                environ, DISTRIBUTION_VARIABLE, DISTRIBUTION_ID_PATTERN, "a CloudFront distribution id (A-Z, 0-9)"
            ),
        )


def _require(environ: Mapping[str, str], variable: str) -> str:
    value = environ.get(variable)
    if value is None:
        raise ConfigError(f"{variable}: required environment variable is not set")
    return value


def _optional(environ: Mapping[str, str], variable: str, pattern: re.Pattern[str], expected: str) -> str | None:
    """An optional variable: None when unset, else a value matching `pattern`."""
    value = environ.get(variable)
    if value is None:
        return None
    if not pattern.match(value):
        raise ConfigError(f"{variable}: expected {expected}, got {value!r}")
    return value


def _bucket_name(variable: str, value: str) -> str:
    if not BUCKET_NAME_PATTERN.match(value):
        raise ConfigError(f"{variable}: expected an S3 bucket name (3-63 of a-z, 0-9, '.', '-'), got {value!r}")
    return value


def _timeout(value: str) -> int:
    if not value.isascii() or not value.isdigit():
        raise ConfigError(f"{TIMEOUT_VARIABLE}: expected a whole number of seconds, got {value!r}")
    return require_int(TIMEOUT_VARIABLE, int(value), MIN_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS)


def _json_object(environ: Mapping[str, str]) -> Mapping[str, Any]:
    value = _require(environ, CONFIG_VARIABLE)
    try:
        parsed = json.loads(value)
    except (ValueError, RecursionError) as error:
        raise ConfigError(f"{CONFIG_VARIABLE}: expected a JSON object, got invalid JSON ({error})") from None
    if not isinstance(parsed, dict):
        raise ConfigError(f"{CONFIG_VARIABLE}: expected a JSON object, got {type(parsed).__name__}")
    return parsed


def _key_prefix(where: str, value: Any) -> str:
    if not isinstance(value, str) or len(value.encode("utf-8", "surrogatepass")) >= MAX_KEY_BYTES:
        raise ConfigError(
            f"{where}: expected a string shorter than {MAX_KEY_BYTES} bytes in UTF-8 ('' for every key), got {value!r}"
        )
    return value


def _key_suffixes(where: str, value: Any) -> tuple[str, ...]:
    # Capped so the function's environment (4 KB for Lambda) and the rule's event pattern stay small.
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


def _cache_control(where: str, value: Any) -> str:
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
