"""What to make (presets) and what to accept (limits): typed, validated once.

This module is pure standard library on purpose: the CDK app imports it to validate
`cdk.json` at synth time, and the function imports it to read its environment, so a
preset that synthesizes is a preset the function accepts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

FIT = "fit"
COVER = "cover"
MODES = (FIT, COVER)

# Where a `cover` preset's crop window sits: in the middle, against one edge, or where the picture's
# detail, colour and skin tones are (smartcrop.py). A `fit` preset keeps the whole image, so it has none.
CENTER = "center"
SMART = "smart"
GRAVITIES = (CENTER, SMART, "top", "bottom", "left", "right")

FORMATS = ("jpeg", "png", "webp", "avif")
EXTENSIONS = {"jpeg": "jpg", "png": "png", "webp": "webp", "avif": "avif"}
CONTENT_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "avif": "image/avif"}

# What an optional preset key means when left out (the schema's defaults; cdk.json sets every preset in full).
DEFAULT_FORMAT = "jpeg"
DEFAULT_QUALITY = 82
DEFAULT_BACKGROUND = "#ffffff"
DEFAULT_GRAVITY = CENTER
DEFAULT_SPEED = 6  # libavif's own default effort for AVIF (0 slowest and smallest .. 10 fastest)
MAX_SPEED = 10

MAX_SIDE = 8192
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
COLOUR_PATTERN = re.compile(r"^#[0-9a-fA-F]{6}$")
# "manifest" names the completion marker written beside the variants.
RESERVED_NAMES = frozenset({"manifest"})


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the key and what is allowed."""


@dataclass(frozen=True)
class Preset:
    """One thumbnail variant: a bounding box, a fit mode and an output encoding."""

    name: str
    width: int
    height: int | None  # None: only the width bounds a `fit` preset
    mode: str = FIT
    format: str = DEFAULT_FORMAT
    quality: int = DEFAULT_QUALITY  # jpeg, webp and avif; PNG is lossless
    progressive: bool = False  # jpeg only
    animated: bool = False  # keep animation (webp output only), bounded by Limits.max_frames
    background: str = DEFAULT_BACKGROUND  # what alpha is flattened onto: jpeg only (the others keep alpha)
    speed: int = DEFAULT_SPEED  # avif only: encoder effort, 0 (slowest, smallest) to 10 (fastest)
    gravity: str = DEFAULT_GRAVITY  # cover only: where the crop window sits (one of GRAVITIES)

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.format]

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]

    @property
    def background_rgb(self) -> tuple[int, int, int]:
        value = self.background.lstrip("#")
        return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16))


@dataclass(frozen=True, kw_only=True)
class Limits:
    """What the function accepts before it spends memory on a source image (values from cdk.json)."""

    max_source_bytes: int
    max_source_pixels: int
    max_frames: int  # applies when a preset keeps animation


def require_int(where: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{where}: expected an integer from {low} to {high}, got {value!r}")
    return value


def require_bool(where: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    return value


def require_choice(where: str, value: Any, allowed: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ConfigError(f"{where}: expected one of {', '.join(allowed)}, got {value!r}")
    return value


# Which optional preset settings each format uses. A setting given for a format that would ignore it is a
# configuration error, never silently dropped: `quality` means nothing to PNG (lossless), `background` only
# matters where alpha must be flattened (JPEG has none), only WebP output keeps animation, and `speed` is
# the AVIF encoder's effort (the other encoders' effort is fixed in encode.py).
FORMAT_SETTINGS: dict[str, frozenset[str]] = {
    "jpeg": frozenset({"quality", "progressive", "background"}),
    "png": frozenset(),
    "webp": frozenset({"quality", "animated"}),
    "avif": frozenset({"quality", "speed"}),
}
# The same rule for the mode: only a `cover` preset crops, so only it has a crop position.
MODE_SETTINGS: dict[str, frozenset[str]] = {
    FIT: frozenset(),
    COVER: frozenset({"gravity"}),
}
REQUIRED_KEYS = frozenset({"name", "width"})
SHAPE_KEYS = frozenset({"height", "mode", "format"})
MODE_KEYS = frozenset().union(*MODE_SETTINGS.values())
PRESET_KEYS = REQUIRED_KEYS | SHAPE_KEYS | MODE_KEYS | frozenset().union(*FORMAT_SETTINGS.values())


def parse_preset(raw: Any, where: str = "presets[0]") -> Preset:
    """Build one Preset from its JSON form, naming the bad key on error."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected an object, got {raw!r}")
    unknown = sorted(set(raw) - PRESET_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(PRESET_KEYS))}")
    name = raw.get("name")
    if not isinstance(name, str) or not NAME_PATTERN.match(name) or name in RESERVED_NAMES:
        raise ConfigError(
            f"{where}.name: expected 1-32 characters of a-z, 0-9, '-' or '_' starting with a letter or digit "
            f"(not {', '.join(sorted(RESERVED_NAMES))}), got {name!r}"
        )
    mode = require_choice(f"{where}.mode", raw.get("mode", FIT), MODES)
    width = require_int(f"{where}.width", raw.get("width"), 1, MAX_SIDE)
    height = raw.get("height")
    if height is None and mode == COVER:
        raise ConfigError(f"{where}.height: required for mode 'cover' (an integer from 1 to {MAX_SIDE})")
    if height is not None:
        height = require_int(f"{where}.height", height, 1, MAX_SIDE)
    fmt = require_choice(f"{where}.format", raw.get("format", DEFAULT_FORMAT), FORMATS)
    not_for_mode = sorted(set(raw) & (MODE_KEYS - MODE_SETTINGS[mode]))
    if not_for_mode:
        raise ConfigError(
            f"{where}.{not_for_mode[0]}: not used by mode {mode!r}; "
            f"{mode} presets take {', '.join(sorted(MODE_SETTINGS[mode])) or 'no crop settings'}"
        )
    ignored = sorted(set(raw) - REQUIRED_KEYS - SHAPE_KEYS - MODE_SETTINGS[mode] - FORMAT_SETTINGS[fmt])
    if ignored:
        raise ConfigError(
            f"{where}.{ignored[0]}: not used by format {fmt!r}; "
            f"{fmt} presets take {', '.join(sorted(FORMAT_SETTINGS[fmt])) or 'no encoder settings'}"
        )
    quality = require_int(f"{where}.quality", raw.get("quality", DEFAULT_QUALITY), 1, 100)
    progressive = require_bool(f"{where}.progressive", raw.get("progressive", False))
    animated = require_bool(f"{where}.animated", raw.get("animated", False))
    background = raw.get("background", DEFAULT_BACKGROUND)
    if not isinstance(background, str) or not COLOUR_PATTERN.match(background):
        raise ConfigError(f"{where}.background: expected a colour like '#ffffff', got {background!r}")
    speed = require_int(f"{where}.speed", raw.get("speed", DEFAULT_SPEED), 0, MAX_SPEED)
    gravity = require_choice(f"{where}.gravity", raw.get("gravity", DEFAULT_GRAVITY), GRAVITIES)
    return Preset(
        name=name,
        width=width,
        height=height,
        mode=mode,
        format=fmt,
        quality=quality,
        progressive=progressive,
        animated=animated,
        background=background.lower(),
        speed=speed,
        gravity=gravity,
    )


def preset_to_json(preset: Preset) -> dict[str, Any]:
    """The JSON form `parse_preset` reads back to an equal Preset: every setting its mode and format use, no other."""
    shape: dict[str, Any] = {"name": preset.name, "width": preset.width}
    if preset.height is not None:
        shape["height"] = preset.height
    shape.update(mode=preset.mode, format=preset.format)
    settings = {
        "gravity": preset.gravity,
        "quality": preset.quality,
        "progressive": preset.progressive,
        "animated": preset.animated,
        "background": preset.background,
        "speed": preset.speed,
    }
    used = MODE_SETTINGS[preset.mode] | FORMAT_SETTINGS[preset.format]
    return shape | {key: value for key, value in settings.items() if key in used}


def parse_presets(raw: Any, where: str = "presets") -> tuple[Preset, ...]:
    """Build the preset list: 1 to 10 presets with unique names."""
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes) or not 1 <= len(raw) <= 10:
        raise ConfigError(f"{where}: expected a list of 1 to 10 presets, got {raw!r}")
    presets = tuple(parse_preset(item, f"{where}[{index}]") for index, item in enumerate(raw))
    names = [preset.name for preset in presets]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ConfigError(f"{where}: preset names must be unique; repeated: {', '.join(duplicates)}")
    return presets


def parse_limits(raw: Mapping[str, Any], where: str) -> Limits:
    """Build Limits from the camelCase keys of cdk.json's `thumbnails` object; every key is required."""
    return Limits(
        max_source_bytes=require_int(f"{where}.maxSourceBytes", raw.get("maxSourceBytes"), 1, 5 * 1024**3),
        max_source_pixels=require_int(f"{where}.maxSourcePixels", raw.get("maxSourcePixels"), 1, 500_000_000),
        max_frames=require_int(f"{where}.maxFrames", raw.get("maxFrames"), 1, 10_000),
    )
