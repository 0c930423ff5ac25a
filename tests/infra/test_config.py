"""PipelineConfig: cdk.json defaults, thumbnailsOverrides merged on top, and errors that name the key."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stacks.application import cdk_json_context
from stacks.config import Encryption, PipelineConfig
from stacks.constants import LOG_RETENTION
from tests.builders import DEFAULT_PRESETS
from thumbnailer.contract import FunctionConfig
from thumbnailer.imaging.presets import ConfigError, Limits

# What CloudWatch Logs' PutRetentionPolicy accepts (without "never expire").
CLOUDWATCH_RETENTION_DAYS = {
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
}  # fmt: skip


def defaults() -> dict[str, Any]:
    return dict(cdk_json_context()["thumbnails"])


def test_cdk_json_defaults_build_the_documented_config() -> None:
    # GIVEN the thumbnails object in cdk.json
    raw = defaults()

    # WHEN it is parsed
    config = PipelineConfig.from_context(raw)

    # THEN every value arrives typed, the function's part parsed by the function's own contract
    assert config.function == FunctionConfig.from_mapping(
        {key: value for key, value in raw.items() if key in FunctionConfig.KEYS}, "thumbnails"
    )
    assert config.function.presets == DEFAULT_PRESETS
    assert config.function.limits == Limits(max_source_bytes=52428800, max_source_pixels=50000000, max_frames=100)
    assert config.function.key_prefix == ""
    assert config.function.key_suffixes == (".jpg", ".jpeg", ".png", ".webp", ".gif", ".avif", ".heic", ".heif")
    assert (config.memory_mb, config.timeout_seconds) == (1536, 60)
    assert (config.batch_size, config.max_concurrency, config.max_batching_window_seconds) == (5, 20, 0)
    assert config.log_retention_days == 30
    assert config.function.cache_control == "public, max-age=86400, s-maxage=31536000"
    assert config.disposable is False
    assert (config.alarm_email, config.alarm_queue_age_seconds, config.dashboard) == (None, 900, False)
    assert (config.cdn, config.originals_bucket_name) == (False, None)
    assert config.tracing is False
    assert (config.encryption, config.originals_kms_key_arn) == (Encryption.SERVICE, None)


@pytest.mark.parametrize("overrides", [{"memoryMb": 2048}, json.dumps({"memoryMb": 2048})], ids=["object", "json"])
def test_overrides_win_key_by_key_over_the_defaults(overrides: Any) -> None:
    # GIVEN an override of one key, as an object or as the JSON string `cdk -c` passes
    # WHEN merged over the defaults
    config = PipelineConfig.from_context(defaults(), overrides)

    # THEN that key changes and every other key keeps its default
    assert config.memory_mb == 2048
    assert config == PipelineConfig.from_context({**defaults(), "memoryMb": 2048})
    assert config.timeout_seconds == 60


def test_defaults_may_arrive_as_a_json_string() -> None:
    # GIVEN `-c thumbnails='{...}'` (a JSON string)
    # WHEN parsed
    config = PipelineConfig.from_context(json.dumps(defaults()))

    # THEN it is the same config as from the object
    assert config == PipelineConfig.from_context(defaults())


def test_an_overriding_preset_list_replaces_the_default_list() -> None:
    # GIVEN overrides with a single preset
    overrides = {"presets": [{"name": "tiny", "width": 64}]}

    # WHEN merged
    config = PipelineConfig.from_context(defaults(), overrides)

    # THEN the preset list is exactly the override
    assert [preset.name for preset in config.function.presets] == ["tiny"]


@pytest.mark.parametrize(
    ("batch_size", "window_seconds"),
    [(1, 0), (10, 0), (11, 1), (100, 1)],
)
def test_batches_above_ten_get_the_smallest_batching_window(batch_size: int, window_seconds: int) -> None:
    # WHEN the batch size is set
    config = PipelineConfig.from_context(defaults(), {"batchSize": batch_size})

    # THEN a window appears exactly when SQS requires one
    assert config.max_batching_window_seconds == window_seconds


@pytest.mark.parametrize(
    ("key", "bad_value", "message"),
    [
        ("memoryMb", "x", "thumbnails.memoryMb: expected an integer from 512 to 10240, got 'x'"),
        ("memoryMb", 511, "thumbnails.memoryMb: expected an integer from 512 to 10240, got 511"),
        ("memoryMb", True, "thumbnails.memoryMb: expected an integer from 512 to 10240, got True"),
        ("timeoutSeconds", 901, "thumbnails.timeoutSeconds: expected an integer from 10 to 900, got 901"),
        ("timeoutSeconds", 9, "thumbnails.timeoutSeconds: expected an integer from 10 to 900, got 9"),
        ("batchSize", 0, "thumbnails.batchSize: expected an integer from 1 to 100, got 0"),
        ("batchSize", 101, "thumbnails.batchSize: expected an integer from 1 to 100, got 101"),
        ("maxConcurrency", 1, "thumbnails.maxConcurrency: expected an integer from 2 to 1000, got 1"),
        ("maxConcurrency", 1001, "thumbnails.maxConcurrency: expected an integer from 2 to 1000, got 1001"),
        ("logRetentionDays", 31, "thumbnails.logRetentionDays: expected one of 1, 3, 5, 7, 14, 30, 60"),
        ("logRetentionDays", True, "thumbnails.logRetentionDays: expected one of"),
        ("keyPrefix", 3, "thumbnails.keyPrefix: expected a string"),
        ("keyPrefix", "a" * 1024, "thumbnails.keyPrefix: expected a string shorter than 1024 bytes in UTF-8"),
        ("keyPrefix", "é" * 512, "thumbnails.keyPrefix: expected a string shorter than 1024 bytes in UTF-8"),
        ("keySuffixes", ".jpg", "thumbnails.keySuffixes: expected a list of at most 10 suffixes"),
        ("keySuffixes", [".a"] * 11, "thumbnails.keySuffixes: expected a list of at most 10 suffixes"),
        ("keySuffixes", ["jpg"], "thumbnails.keySuffixes[0]: expected a suffix of 2 to 16 characters starting with"),
        ("keySuffixes", ["." + "a" * 16], "thumbnails.keySuffixes[0]: expected a suffix of 2 to 16 characters"),
        ("keySuffixes", [".png", "."], "thumbnails.keySuffixes[1]: expected a suffix"),
        ("cacheControl", None, "thumbnails.cacheControl: expected at most 256 printable ASCII characters"),
        ("cacheControl", "x" * 257, "thumbnails.cacheControl: expected at most 256 printable ASCII characters"),
        ("cacheControl", "public\r\nX-Evil: 1", "thumbnails.cacheControl: expected at most 256 printable ASCII"),
        ("disposable", "yes", "thumbnails.disposable: expected true or false, got 'yes'"),
        ("presets", [], "thumbnails.presets: expected a list of 1 to 10 presets"),
        ("presets", [{"name": "a", "width": 0}], "thumbnails.presets[0].width: expected an integer from 1 to 8192"),
        ("maxFrames", 0, "thumbnails.maxFrames: expected an integer from 1 to 10000, got 0"),
        ("maxSourceBytes", "big", "thumbnails.maxSourceBytes: expected an integer"),
        ("maxSourcePixels", -1, "thumbnails.maxSourcePixels: expected an integer"),
        ("alarmEmail", "ops", "thumbnails.alarmEmail: expected an email address like 'ops@example.com', or ''"),
        ("alarmEmail", "ops@example", "thumbnails.alarmEmail: expected an email address"),
        ("alarmEmail", "a@b@example.com", "thumbnails.alarmEmail: expected an email address"),
        ("alarmEmail", "ops team@example.com", "thumbnails.alarmEmail: expected an email address"),
        ("alarmEmail", "o\nps@example.com", "thumbnails.alarmEmail: expected an email address"),
        ("alarmEmail", None, "thumbnails.alarmEmail: expected an email address"),
        ("alarmEmail", "a" * 250 + "@b.io", "thumbnails.alarmEmail: expected an email address"),
        ("alarmQueueAgeSeconds", 59, "thumbnails.alarmQueueAgeSeconds: expected an integer from 60 to 345600, got 59"),
        ("alarmQueueAgeSeconds", 345601, "thumbnails.alarmQueueAgeSeconds: expected an integer from 60 to 345600"),
        ("alarmQueueAgeSeconds", "900", "thumbnails.alarmQueueAgeSeconds: expected an integer"),
        ("dashboard", 1, "thumbnails.dashboard: expected true or false, got 1"),
        ("cdn", "true", "thumbnails.cdn: expected true or false, got 'true'"),
        ("tracing", "yes", "thumbnails.tracing: expected true or false, got 'yes'"),
        ("originalsBucketName", "My_Bucket", "thumbnails.originalsBucketName: expected the name of an existing S3"),
        ("originalsBucketName", "ab", "thumbnails.originalsBucketName: expected the name of an existing S3 bucket"),
        ("originalsBucketName", "a..b", "thumbnails.originalsBucketName: expected the name of an existing S3"),
        ("originalsBucketName", None, "thumbnails.originalsBucketName: expected the name of an existing S3"),
        ("encryption", "KMS", "thumbnails.encryption: expected one of 'service', 'kms', got 'KMS'"),
        ("encryption", "sse-s3", "thumbnails.encryption: expected one of 'service', 'kms', got 'sse-s3'"),
        ("encryption", None, "thumbnails.encryption: expected one of 'service', 'kms', got None"),
        ("originalsKmsKeyArn", None, "thumbnails.originalsKmsKeyArn: expected a KMS key ARN like"),
        ("originalsKmsKeyArn", "1234abcd-12ab-34cd-56ef-1234567890ab", "thumbnails.originalsKmsKeyArn: expected a KMS"),
        (
            "originalsKmsKeyArn",
            "arn:aws:kms:eu-west-1:111122223333:alias/originals",
            "thumbnails.originalsKmsKeyArn: expected a KMS key ARN like 'arn:aws:kms:eu-west-1:111122223333:key/<key "
            "id>' (not an alias), or '' for none, got 'arn:aws:kms:eu-west-1:111122223333:alias/originals'",
        ),
        (
            "originalsKmsKeyArn",
            "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "thumbnails.originalsKmsKeyArn: only for an originals bucket of your own (set originalsBucketName)",
        ),
    ],
)
def test_a_bad_value_is_refused_naming_its_key(key: str, bad_value: Any, message: str) -> None:
    # GIVEN an override with one bad value
    # WHEN the config is built
    with pytest.raises(ConfigError) as raised:
        PipelineConfig.from_context(defaults(), {key: bad_value})

    # THEN the error starts with the key's path and says what is allowed
    assert str(raised.value).startswith(message)


def test_a_missing_key_is_refused_naming_it() -> None:
    # GIVEN defaults without memoryMb
    raw = defaults()
    del raw["memoryMb"]

    # WHEN parsed / THEN the error names the key and says it is missing
    with pytest.raises(ConfigError, match=r"^thumbnails: missing key\(s\) memoryMb$"):
        PipelineConfig.from_context(raw)


def test_an_unknown_key_is_refused_listing_the_allowed_ones() -> None:
    # GIVEN a typo in an override
    # WHEN merged / THEN the error names the unknown key and the allowed keys
    with pytest.raises(ConfigError, match=r"^thumbnails: unknown key\(s\) memoryMB; allowed: alarmEmail, "):
        PipelineConfig.from_context(defaults(), {"memoryMB": 2048})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ("{memoryMb: 1}", r"^thumbnailsOverrides: expected a JSON object, got invalid JSON"),
        ("[1, 2]", r"^thumbnailsOverrides: expected an object"),
        (7, r"^thumbnailsOverrides: expected an object"),
    ],
)
def test_overrides_that_are_not_an_object_are_refused(overrides: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        PipelineConfig.from_context(defaults(), overrides)


def test_missing_thumbnails_context_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"^thumbnails: expected an object"):
        PipelineConfig.from_context(None)


def test_retention_choices_are_exactly_what_cloudwatch_accepts() -> None:
    assert set(LOG_RETENTION) == CLOUDWATCH_RETENTION_DAYS


@pytest.mark.parametrize("days", [1, 7, 3653])
def test_a_cloudwatch_retention_is_accepted(days: int) -> None:
    # WHEN a retention CloudWatch Logs allows is configured
    config = PipelineConfig.from_context(defaults(), {"logRetentionDays": days})

    # THEN it is kept
    assert config.log_retention_days == days


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"alarmEmail": "ops@example.com"}, {"alarm_email": "ops@example.com"}),
        ({"alarmEmail": "first.last+alarms@sub.example.co.uk"}, {"alarm_email": "first.last+alarms@sub.example.co.uk"}),
        ({"alarmQueueAgeSeconds": 60}, {"alarm_queue_age_seconds": 60}),
        ({"dashboard": True, "cdn": True}, {"dashboard": True, "cdn": True}),
        ({"originalsBucketName": "my-existing.originals"}, {"originals_bucket_name": "my-existing.originals"}),
        ({"encryption": "kms"}, {"encryption": Encryption.KMS}),
        (
            {
                "originalsBucketName": "team-photos",
                "originalsKmsKeyArn": "arn:aws:kms:eu-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab",
            },
            {
                "originals_bucket_name": "team-photos",
                "originals_kms_key_arn": "arn:aws:kms:eu-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab",
            },
        ),
    ],
)
def test_monitoring_cdn_and_own_bucket_settings_are_kept(overrides: dict[str, Any], expected: dict[str, Any]) -> None:
    # WHEN an observability or integration setting is overridden
    config = PipelineConfig.from_context(defaults(), overrides)

    # THEN it arrives typed, as given
    assert {name: getattr(config, name) for name in expected} == expected
