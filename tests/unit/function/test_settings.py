"""Settings: the function's environment contract, validated once, errors naming the variable."""

from __future__ import annotations

import json

import pytest
from thumbnailer.imaging.presets import DEFAULT_PRESETS, ConfigError, Limits
from thumbnailer.settings import Settings

from tests.builders import function_environ

REQUIRED = (
    "ORIGINALS_BUCKET",
    "THUMBNAILS_BUCKET",
    "PRESETS",
    "MAX_SOURCE_BYTES",
    "MAX_SOURCE_PIXELS",
    "MAX_FRAMES",
    "KEY_PREFIX",
    "KEY_SUFFIXES",
    "CACHE_CONTROL",
)


def test_the_environment_the_stack_sets_becomes_typed_settings() -> None:
    # GIVEN the environment as the stack sets it
    environ = function_environ(
        originals_bucket="my-originals",
        thumbnails_bucket="my-thumbnails",
        key_prefix="uploads/",
        key_suffixes=[".JPG", ".png"],
        max_source_bytes=1000,
        max_source_pixels=2000,
        max_frames=3,
        cache_control="public, max-age=60",
    )

    # WHEN it is read
    settings = Settings.from_environ(environ)

    # THEN every value is typed
    assert settings.originals_bucket == "my-originals"
    assert settings.thumbnails_bucket == "my-thumbnails"
    assert settings.presets == DEFAULT_PRESETS
    assert settings.limits == Limits(max_source_bytes=1000, max_source_pixels=2000, max_frames=3)
    assert settings.key_prefix == "uploads/"
    assert settings.key_suffixes == (".jpg", ".png")
    assert settings.cache_control == "public, max-age=60"


@pytest.mark.parametrize("variable", REQUIRED)
def test_a_missing_variable_is_named(variable: str) -> None:
    environ = function_environ()
    del environ[variable]

    with pytest.raises(ConfigError, match=rf"^{variable}: required environment variable is not set"):
        Settings.from_environ(environ)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ORIGINALS_BUCKET", "", "expected an S3 bucket name"),
        ("THUMBNAILS_BUCKET", "Not_A_Bucket", "expected an S3 bucket name"),
        ("PRESETS", "[{", "expected JSON"),
        ("PRESETS", "[]", "expected a list of 1 to 10 presets"),
        ("PRESETS", json.dumps([{"name": "w1", "width": 0}]), r"PRESETS\[0\]\.width: expected an integer"),
        ("PRESETS", json.dumps([{"name": "manifest", "width": 9}]), r"PRESETS\[0\]\.name"),
        ("MAX_SOURCE_BYTES", "50MB", "expected a whole number"),
        ("MAX_SOURCE_BYTES", "-1", "expected a whole number"),
        ("MAX_SOURCE_BYTES", "0", "maxSourceBytes: expected an integer from 1"),
        ("MAX_SOURCE_PIXELS", "1_000", "expected a whole number"),
        ("MAX_FRAMES", "100000", "maxFrames: expected an integer from 1 to 10000"),
        ("KEY_PREFIX", "x" * 1024, "expected fewer than 1024 bytes"),
        ("KEY_SUFFIXES", '".jpg"', "expected a JSON list of non-empty strings"),
        ("KEY_SUFFIXES", '[".jpg", ""]', "expected a JSON list of non-empty strings"),
        ("KEY_SUFFIXES", "[1]", "expected a JSON list of non-empty strings"),
        ("CACHE_CONTROL", "max-age=1\r\nX-Evil: 1", "expected printable ASCII"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(variable: str, value: str, message: str) -> None:
    # GIVEN an environment with one bad value
    environ = {**function_environ(), variable: value}

    # WHEN / THEN reading it fails with the variable's name first and what is allowed
    with pytest.raises(ConfigError, match=message) as raised:
        Settings.from_environ(environ)
    assert str(raised.value).startswith(variable)


@pytest.mark.parametrize(
    ("prefix", "suffixes", "key", "accepted"),
    [
        ("", [".jpg"], "a/b.jpg", True),
        ("", [".jpg"], "a/b.JPG", True),
        ("", [".jpg", ".png"], "a/b.png", True),
        ("", [".jpg"], "a/b.jpg.txt", False),
        ("", [], "anything at all", True),
        ("uploads/", [".jpg"], "uploads/b.jpg", True),
        ("uploads/", [".jpg"], "other/b.jpg", False),
        ("uploads/", [".jpg"], "Uploads/b.jpg", False),
        ("uploads/", [".jpg"], "uploads/b.gif", False),
    ],
)
def test_keys_are_rechecked_against_prefix_and_case_insensitive_suffixes(
    prefix: str, suffixes: list[str], key: str, accepted: bool
) -> None:
    settings = Settings.from_environ(function_environ(key_prefix=prefix, key_suffixes=suffixes))

    assert settings.accepts_key(key) is accepted


def test_an_empty_cache_control_is_allowed() -> None:
    settings = Settings.from_environ(function_environ(cache_control=""))

    assert settings.cache_control == ""
