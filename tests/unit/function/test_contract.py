"""The contract: cdk.json's function settings -> the environment -> the same settings, one validator both ways."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from stacks.cdk_json import default_function_config, thumbnails_defaults
from tests.builders import function_environ, function_settings
from thumbnailer.contract import (
    CONFIG_VARIABLE,
    DETAIL_TYPES,
    DISTRIBUTION_VARIABLE,
    EVENT_BUS_VARIABLE,
    EVENT_SOURCE,
    FunctionConfig,
    Settings,
)
from thumbnailer.imaging.presets import ConfigError, Limits, parse_preset
from thumbnailer.manifest import COMPLETE, DELETED, REJECTED

REQUIRED = ("ORIGINALS_BUCKET", "THUMBNAILS_BUCKET", "FUNCTION_TIMEOUT_SECONDS", CONFIG_VARIABLE)


def test_cdk_json_settings_survive_the_trip_through_the_environment() -> None:
    # GIVEN the settings cdk.json deploys
    settings = function_settings(originals_bucket="my-originals", thumbnails_bucket="my-thumbnails")

    # WHEN they are written to the environment and read back by the function
    read_back = Settings.from_environment(settings.to_environment())

    # THEN the function runs with exactly those settings
    assert read_back == settings
    assert read_back.config == default_function_config()


def test_the_function_config_takes_every_value_from_cdk_json() -> None:
    # GIVEN cdk.json's thumbnails object
    defaults = thumbnails_defaults()

    # WHEN the function's part is parsed
    config = default_function_config()

    # THEN each value is cdk.json's, nothing is filled in from elsewhere
    assert config.to_json() == {key: defaults[key] for key in FunctionConfig.KEYS} | {
        "presets": config.to_json()["presets"]
    }
    assert [preset.name for preset in config.presets] == [preset["name"] for preset in defaults["presets"]]
    assert config.limits == Limits(
        max_source_bytes=defaults["maxSourceBytes"],
        max_source_pixels=defaults["maxSourcePixels"],
        max_frames=defaults["maxFrames"],
    )
    assert [parse_preset(raw) for raw in config.to_json()["presets"]] == list(config.presets)


@pytest.mark.parametrize("key", sorted(FunctionConfig.KEYS))
def test_a_missing_function_setting_is_named(key: str) -> None:
    # GIVEN the function's settings without one key (there is no default outside cdk.json)
    values = {name: value for name, value in default_function_config().to_json().items() if name != key}

    # WHEN / THEN
    with pytest.raises(ConfigError, match=rf"^thumbnails: missing key\(s\) {key}$"):
        FunctionConfig.from_mapping(values, "thumbnails")


@pytest.mark.parametrize("variable", REQUIRED)
def test_a_missing_variable_is_named(variable: str) -> None:
    environ = function_environ()
    del environ[variable]

    with pytest.raises(ConfigError, match=rf"^{variable}: required environment variable is not set"):
        Settings.from_environment(environ)


def _config_json(**changes: Any) -> str:
    return json.dumps(default_function_config().to_json() | changes)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ORIGINALS_BUCKET", "", "expected an S3 bucket name"),
        ("THUMBNAILS_BUCKET", "Not_A_Bucket", "expected an S3 bucket name"),
        ("FUNCTION_TIMEOUT_SECONDS", "60s", "expected a whole number of seconds"),
        ("FUNCTION_TIMEOUT_SECONDS", "٣٠", "expected a whole number of seconds"),
        ("FUNCTION_TIMEOUT_SECONDS", "5", "expected an integer from 10 to 900"),
        (CONFIG_VARIABLE, "{", "expected a JSON object, got invalid JSON"),
        (CONFIG_VARIABLE, "[" * 100_000, "expected a JSON object, got invalid JSON"),
        (CONFIG_VARIABLE, "[]", "expected a JSON object, got list"),
        (CONFIG_VARIABLE, _config_json(presets=[]), r"\.presets: expected a list of 1 to 10 presets"),
        (CONFIG_VARIABLE, _config_json(presets=[{"name": "w1", "width": 0}]), r"presets\[0\]\.width"),
        (CONFIG_VARIABLE, _config_json(maxSourceBytes=0), r"\.maxSourceBytes: expected an integer from 1"),
        (CONFIG_VARIABLE, _config_json(maxFrames="100"), r"\.maxFrames: expected an integer"),
        (CONFIG_VARIABLE, _config_json(keyPrefix="x" * 1024), r"\.keyPrefix: expected a string shorter than 1024"),
        (CONFIG_VARIABLE, _config_json(keySuffixes=[".jpg", ""]), r"\.keySuffixes\[1\]: expected a suffix"),
        (CONFIG_VARIABLE, _config_json(cacheControl="max-age=1\r\nX-Evil: 1"), r"\.cacheControl: expected at most"),
        (CONFIG_VARIABLE, _config_json(surprise=1), r"unknown key\(s\) surprise"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(variable: str, value: str, message: str) -> None:
    # GIVEN an environment with one bad value
    environ = {**function_environ(), variable: value}

    # WHEN / THEN reading it fails with the variable's name first and what is allowed
    with pytest.raises(ConfigError, match=message) as raised:
        Settings.from_environment(environ)
    assert str(raised.value).startswith(variable)


@pytest.mark.parametrize(
    ("preset", "message"),
    [
        ({"name": "p", "width": 9, "format": "png", "quality": 80}, r"\]\.quality: not used by format 'png'"),
        ({"name": "p", "width": 9, "format": "png", "background": "#000000"}, r"\.background: not used by format"),
        ({"name": "p", "width": 9, "format": "webp", "background": "#000000"}, r"\.background: not used by format"),
        ({"name": "p", "width": 9, "format": "webp", "progressive": True}, r"\.progressive: not used by format"),
        ({"name": "p", "width": 9, "format": "jpeg", "animated": False}, r"\.animated: not used by format 'jpeg'"),
        ({"name": "p", "width": 9, "format": "png", "animated": True}, r"\.animated: not used by format 'png'"),
    ],
)
def test_a_preset_setting_its_format_ignores_is_refused(preset: dict[str, Any], message: str) -> None:
    # GIVEN a preset that sets something its output format would silently ignore
    # WHEN / THEN it is a configuration error naming the setting and what the format takes
    with pytest.raises(ConfigError, match=message):
        parse_preset(preset, "presets[0]")


@pytest.mark.parametrize(
    "preset",
    [
        {"name": "j", "width": 9, "format": "jpeg", "quality": 70, "progressive": True, "background": "#102030"},
        {"name": "w", "width": 9, "height": 9, "mode": "cover", "format": "webp", "quality": 60, "animated": True},
        {"name": "p", "width": 9, "format": "png"},
    ],
)
def test_every_setting_a_format_uses_is_kept(preset: dict[str, Any]) -> None:
    # GIVEN a preset with every setting its format uses
    # WHEN it travels through the environment
    settings = function_settings(presets=[preset])
    read_back = Settings.from_environment(settings.to_environment())

    # THEN nothing is lost or added
    assert read_back.config.presets == settings.config.presets
    assert {key: read_back.config.to_json()["presets"][0][key] for key in preset} == preset


@pytest.mark.parametrize(
    ("prefix", "suffixes", "key", "accepted"),
    [
        ("", [".jpg"], "a/b.jpg", True),
        ("", [".jpg"], "a/b.JPG", True),
        ("", [".JPG"], "a/b.jpg", True),
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
    config = function_settings(key_prefix=prefix, key_suffixes=suffixes).config

    assert config.accepts_key(key) is accepted


def test_an_empty_cache_control_is_allowed() -> None:
    assert function_settings(cache_control="").config.cache_control == ""


def test_a_new_setting_is_a_change_of_cdk_json_and_the_contract_only() -> None:
    # GIVEN the function's settings with one value changed in their cdk.json form
    config = default_function_config()
    changed = replace(config, cache_control="no-store")

    # WHEN the changed settings travel through the environment
    settings = replace(function_settings(), config=changed)

    # THEN the function reads back the change: the stack passes the contract's object through untouched
    assert Settings.from_environment(settings.to_environment()).config.cache_control == "no-store"


def test_the_event_bus_and_distribution_survive_the_trip_through_the_environment() -> None:
    # GIVEN settings naming the pipeline's bus and a distribution
    settings = function_settings(event_bus_name="ThumbnailPipelineBus1A2B3C", distribution_id="E2QWRUHAPOMQZL")

    # WHEN written to the environment and read back
    environment = settings.to_environment()
    read_back = Settings.from_environment(environment)

    # THEN both arrive under their variables, unchanged
    assert (environment[EVENT_BUS_VARIABLE], environment[DISTRIBUTION_VARIABLE]) == (
        "ThumbnailPipelineBus1A2B3C",
        "E2QWRUHAPOMQZL",
    )
    assert read_back == settings


def test_without_a_bus_or_distribution_their_variables_are_left_out_and_read_as_none() -> None:
    # GIVEN settings without either
    environment = function_settings().to_environment()

    # WHEN / THEN the variables are absent (not ''), and the function reads them as "none"
    assert EVENT_BUS_VARIABLE not in environment
    assert DISTRIBUTION_VARIABLE not in environment
    settings = Settings.from_environment(environment)
    assert (settings.event_bus_name, settings.distribution_id) == (None, None)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (EVENT_BUS_VARIABLE, "", "expected an event bus name"),
        (EVENT_BUS_VARIABLE, "bus name", "expected an event bus name"),
        (EVENT_BUS_VARIABLE, "b" * 257, "expected an event bus name"),
        (DISTRIBUTION_VARIABLE, "", "expected a CloudFront distribution id"),
        (DISTRIBUTION_VARIABLE, "e2qwruhapomqzl", "expected a CloudFront distribution id"),
        (DISTRIBUTION_VARIABLE, "E2QW/../x", "expected a CloudFront distribution id"),
    ],
)
def test_a_bad_bus_name_or_distribution_id_is_refused_naming_the_variable(
    variable: str, value: str, message: str
) -> None:
    environ = {**function_environ(), variable: value}

    with pytest.raises(ConfigError, match=message) as raised:
        Settings.from_environment(environ)
    assert str(raised.value).startswith(f"{variable}: ")


def test_every_manifest_status_has_a_detail_type_and_the_source_is_not_an_aws_one() -> None:
    # A manifest status without a detail type could not be announced; "aws." sources are AWS's own.
    assert set(DETAIL_TYPES) == {COMPLETE, REJECTED, DELETED}
    assert set(DETAIL_TYPES.values()) == {"Thumbnails Ready", "Thumbnails Rejected", "Thumbnails Removed"}
    assert not EVENT_SOURCE.startswith("aws.")
