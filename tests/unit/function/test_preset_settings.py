"""The preset settings of issue 11: `gravity` (cover only), `format: avif` with `quality` and `speed` (AVIF only).

A setting a preset's mode or format would ignore is refused, naming the key, as for every other setting.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.builders import function_settings
from thumbnailer.contract import Settings
from thumbnailer.imaging.presets import ConfigError, Preset, parse_preset, preset_to_json


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"name": "p", "width": 9, "gravity": "smart"},
            r"\]\.gravity: not used by mode 'fit'; fit presets take no crop",
        ),
        ({"name": "p", "width": 9, "mode": "fit", "gravity": "center"}, r"\.gravity: not used by mode 'fit'"),
        ({"name": "p", "width": 9, "height": 9, "mode": "cover", "gravity": "middle"}, r"\.gravity: expected one of"),
        ({"name": "p", "width": 9, "format": "webp", "speed": 6}, r"\.speed: not used by format 'webp'"),
        ({"name": "p", "width": 9, "format": "jpeg", "speed": 6}, r"\.speed: not used by format 'jpeg'"),
        ({"name": "p", "width": 9, "format": "png", "speed": 6}, r"\.speed: not used by format 'png'"),
        ({"name": "p", "width": 9, "format": "avif", "background": "#000000"}, r"\.background: not used by format"),
        ({"name": "p", "width": 9, "format": "avif", "progressive": True}, r"\.progressive: not used by format 'avif'"),
        ({"name": "p", "width": 9, "format": "avif", "animated": True}, r"\.animated: not used by format 'avif'"),
        ({"name": "p", "width": 9, "format": "avif", "speed": 11}, r"\.speed: expected an integer from 0 to 10"),
        ({"name": "p", "width": 9, "format": "avif", "speed": True}, r"\.speed: expected an integer from 0 to 10"),
        ({"name": "p", "width": 9, "format": "avif", "quality": 0}, r"\.quality: expected an integer from 1 to 100"),
    ],
)
def test_a_setting_the_preset_would_ignore_or_a_bad_value_is_refused(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_preset(raw, "presets[0]")


@pytest.mark.parametrize(
    "raw",
    [
        {
            "name": "s",
            "width": 128,
            "height": 128,
            "mode": "cover",
            "format": "jpeg",
            "quality": 80,
            "gravity": "smart",
        },
        {"name": "t", "width": 128, "height": 64, "mode": "cover", "format": "png", "gravity": "top"},
        {"name": "a", "width": 512, "mode": "fit", "format": "avif", "quality": 55, "speed": 8},
        {"name": "b", "width": 64, "height": 64, "mode": "cover", "format": "avif", "quality": 40, "speed": 0},
    ],
)
def test_new_settings_survive_cdk_json_to_the_environment_and_back(raw: dict[str, Any]) -> None:
    # GIVEN a preset using the new settings, in cdk.json's form
    settings = function_settings(presets=[raw])
    # WHEN it travels through the function's environment  THEN it is the same preset, and its JSON says what
    # the input said (plus the defaults of the other settings its mode and format use)
    assert Settings.from_environment(settings.to_environment()) == settings
    assert raw.items() <= preset_to_json(settings.config.presets[0]).items()


def test_defaults_when_left_out() -> None:
    # GIVEN a cover preset without gravity and an AVIF preset without speed
    cover = parse_preset({"name": "c", "width": 9, "height": 9, "mode": "cover"})
    avif = parse_preset({"name": "a", "width": 9, "format": "avif"})
    # THEN the crop is centred, and AVIF uses libavif's default effort
    assert cover.gravity == "center"
    assert avif.speed == 6
    assert avif.content_type == "image/avif"
    assert avif.extension == "avif"
    # AND a fit preset's JSON does not carry a gravity, nor a JPEG's a speed
    assert "gravity" not in preset_to_json(Preset(name="f", width=9, height=None))
    assert "speed" not in preset_to_json(Preset(name="f", width=9, height=None, format="jpeg"))
