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
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from stacks.constants import INGEST_RETENTION_DAYS, LOG_RETENTION
from thumbnailer.contract import BUCKET_NAME_PATTERN, MAX_TIMEOUT_SECONDS, MIN_TIMEOUT_SECONDS, FunctionConfig
from thumbnailer.imaging.presets import ConfigError, require_bool, require_int

DEFAULTS_KEY = "thumbnails"
OVERRIDES_KEY = "thumbnailsOverrides"

# The deployment knobs validated here; every other key of the `thumbnails` object is the function's,
# validated by `FunctionConfig` (the same code the function runs at cold start).
DEPLOYMENT_KEYS = frozenset(
    {
        "memoryMb",
        "timeoutSeconds",
        "batchSize",
        "maxConcurrency",
        "logRetentionDays",
        "disposable",
        "backfillMaxConcurrency",
        "backfillMapConcurrency",
        "backfillToleratedFailurePercentage",
        "backfillInventoryBucket",
        "alarmEmail",
        "alarmQueueAgeSeconds",
        "dashboard",
        "cdn",
        "originalsBucketName",
        "tracing",
        "encryption",
        "originalsKmsKeyArn",
    }
)
KNOWN_KEYS = DEPLOYMENT_KEYS | FunctionConfig.KEYS

# SQS event sources reject a batch size above 10 without a batching window.
MAX_BATCH_WITHOUT_WINDOW = 10
# The ingest queue's oldest message may be this old before the alarm goes off: at least a minute (SQS reports
# every minute), at most the queue's retention (an older message no longer exists).
MIN_QUEUE_AGE_ALARM_SECONDS = 60
MAX_QUEUE_AGE_ALARM_SECONDS = INGEST_RETENTION_DAYS * 24 * 60 * 60
# Enough to refuse a typo ("ops@", "ops example.com"), not an RFC 5322 parser: SNS sends a confirmation
# email that the address must acknowledge anyway. Printable ASCII only: it lands in a template verbatim.
EMAIL_PATTERN = re.compile(r"^[!-~]+@[!-~]+\.[!-~]+$")
MAX_EMAIL_LENGTH = 254
# A KMS key's ARN (a single- or multi-Region key), not an alias: IAM authorises kms:Decrypt on the key's ARN.
KMS_KEY_ARN_PATTERN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/(mrk-)?[0-9a-f-]{32,36}$")


class Encryption(StrEnum):
    """How the pipeline's data is encrypted at rest."""

    SERVICE = "service"  # each service's own keys: SSE-S3, SSE-SQS, CloudWatch Logs', Lambda's (free)
    KMS = "kms"  # one customer managed key of the stack's, with rotation (stacks/constructs/encryption.py)


@dataclass(frozen=True, kw_only=True)
class PipelineConfig:
    """Everything the stack needs to know, already checked."""

    function: FunctionConfig
    memory_mb: int
    timeout_seconds: int
    batch_size: int
    max_concurrency: int
    log_retention_days: int
    disposable: bool
    # Backfill: the function instances the backfill queue may use (live uploads keep the rest), the state
    # machine's concurrent child executions and the share of them that may fail before the run fails, and
    # the bucket S3 Inventory delivers to ("" = backfill from a listing only).
    backfill_max_concurrency: int
    backfill_map_concurrency: int
    backfill_tolerated_failure_percentage: int
    backfill_inventory_bucket: str
    alarm_email: str | None  # None ('' in cdk.json): the alarm topic has no subscription
    alarm_queue_age_seconds: int
    dashboard: bool
    cdn: bool
    originals_bucket_name: str | None  # None ('' in cdk.json): the stack creates the originals bucket
    tracing: bool  # X-Ray active tracing on the function and the backfill state machine
    encryption: Encryption
    # With an own originals bucket encrypted with its own KMS key: the function may decrypt with that key only.
    originals_kms_key_arn: str | None  # None ('' in cdk.json): SSE-S3 or the pipeline's key

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
        missing = sorted(DEPLOYMENT_KEYS - set(values))
        if missing:
            raise ConfigError(f"{DEFAULTS_KEY}: missing key(s) {', '.join(missing)}")

        def where(key: str) -> str:
            return f"{DEFAULTS_KEY}.{key}"

        return cls(
            function=FunctionConfig.from_mapping(
                {key: value for key, value in values.items() if key in FunctionConfig.KEYS}, DEFAULTS_KEY
            ),
            memory_mb=require_int(where("memoryMb"), values["memoryMb"], 512, 10240),
            timeout_seconds=require_int(
                where("timeoutSeconds"), values["timeoutSeconds"], MIN_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS
            ),
            batch_size=require_int(where("batchSize"), values["batchSize"], 1, 100),
            max_concurrency=require_int(where("maxConcurrency"), values["maxConcurrency"], 2, 1000),
            log_retention_days=_require_retention(where("logRetentionDays"), values["logRetentionDays"]),
            disposable=require_bool(where("disposable"), values["disposable"]),
            backfill_max_concurrency=require_int(
                where("backfillMaxConcurrency"), values["backfillMaxConcurrency"], 2, 1000
            ),
            backfill_map_concurrency=require_int(
                where("backfillMapConcurrency"), values["backfillMapConcurrency"], 1, 10000
            ),
            backfill_tolerated_failure_percentage=require_int(
                where("backfillToleratedFailurePercentage"), values["backfillToleratedFailurePercentage"], 0, 100
            ),
            backfill_inventory_bucket=_optional_bucket(
                where("backfillInventoryBucket"), values["backfillInventoryBucket"]
            ),
            alarm_email=_optional_email(where("alarmEmail"), values["alarmEmail"]),
            alarm_queue_age_seconds=require_int(
                where("alarmQueueAgeSeconds"),
                values["alarmQueueAgeSeconds"],
                MIN_QUEUE_AGE_ALARM_SECONDS,
                MAX_QUEUE_AGE_ALARM_SECONDS,
            ),
            dashboard=require_bool(where("dashboard"), values["dashboard"]),
            cdn=require_bool(where("cdn"), values["cdn"]),
            originals_bucket_name=_optional_bucket_name(where("originalsBucketName"), values["originalsBucketName"]),
            tracing=require_bool(where("tracing"), values["tracing"]),
            encryption=_require_encryption(where("encryption"), values["encryption"]),
            originals_kms_key_arn=_optional_originals_key(
                where("originalsKmsKeyArn"), values["originalsKmsKeyArn"], own_bucket=values["originalsBucketName"]
            ),
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


def _optional_bucket(where: str, value: Any) -> str:
    if not isinstance(value, str) or (value and not BUCKET_NAME_PATTERN.match(value)):
        raise ConfigError(f"{where}: expected an S3 bucket name, or '' for none, got {value!r}")
    return value


def _require_retention(where: str, value: Any) -> int:
    if isinstance(value, bool) or value not in LOG_RETENTION:
        raise ConfigError(f"{where}: expected one of {', '.join(map(str, LOG_RETENTION))}, got {value!r}")
    return int(value)


def _optional_email(where: str, value: Any) -> str | None:
    """'' (no subscription) or an address. '' rather than null: the CDK drops nulls from context values."""
    if value == "":
        return None
    if (
        not isinstance(value, str)
        or len(value) > MAX_EMAIL_LENGTH
        or value.count("@") != 1
        or not EMAIL_PATTERN.match(value)
    ):
        raise ConfigError(f"{where}: expected an email address like 'ops@example.com', or '' for none, got {value!r}")
    return value


def _optional_bucket_name(where: str, value: Any) -> str | None:
    """'' (the stack creates the bucket) or the name of an existing one."""
    if value == "":
        return None
    if not isinstance(value, str) or not BUCKET_NAME_PATTERN.match(value) or ".." in value:
        raise ConfigError(
            f"{where}: expected the name of an existing S3 bucket (3-63 of a-z, 0-9, '.', '-'), "
            f"or '' to create one, got {value!r}"
        )
    return value


def _require_encryption(where: str, value: Any) -> Encryption:
    if value not in set(Encryption):
        raise ConfigError(f"{where}: expected one of {', '.join(map(repr, map(str, Encryption)))}, got {value!r}")
    return Encryption(value)


def _optional_originals_key(where: str, value: Any, *, own_bucket: Any) -> str | None:
    """'' or the ARN of the KMS key an own originals bucket is encrypted with; only with `originalsBucketName`."""
    if value == "":
        return None
    if not isinstance(value, str) or not KMS_KEY_ARN_PATTERN.match(value):
        raise ConfigError(
            f"{where}: expected a KMS key ARN like 'arn:aws:kms:eu-west-1:111122223333:key/<key id>' "
            f"(not an alias), or '' for none, got {value!r}"
        )
    if own_bucket == "":
        raise ConfigError(
            f"{where}: only for an originals bucket of your own (set originalsBucketName); a bucket the stack "
            "creates uses `encryption`"
        )
    return value
