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

FORMATS = ("jpeg", "png", "webp")
EXTENSIONS = {"jpeg": "jpg", "png": "png", "webp": "webp"}
CONTENT_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}

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
    format: str = "jpeg"
    quality: int = 82
    progressive: bool = False
    animated: bool = False  # keep animation (webp output only), bounded by Limits.max_frames
    background: str = "#ffffff"  # what alpha is flattened onto when the format has none

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

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "width": self.width,
            "height": self.height,
            "mode": self.mode,
            "format": self.format,
            "quality": self.quality,
            "progressive": self.progressive,
            "animated": self.animated,
            "background": self.background,
        }


@dataclass(frozen=True)
class Limits:
    """What the function accepts before it spends memory on a source image."""

    max_source_bytes: int = 50 * 1024 * 1024
    max_source_pixels: int = 50_000_000
    max_frames: int = 100

    def to_dict(self) -> dict[str, int]:
        return {
            "maxSourceBytes": self.max_source_bytes,
            "maxSourcePixels": self.max_source_pixels,
            "maxFrames": self.max_frames,
        }


DEFAULT_PRESETS: tuple[Preset, ...] = (
    Preset(name="square-128", width=128, height=128, mode=COVER, format="jpeg", quality=80),
    Preset(name="w256", width=256, height=None, mode=FIT, format="jpeg", quality=82),
    Preset(name="w512", width=512, height=None, mode=FIT, format="jpeg", quality=82),
    Preset(name="w1024", width=1024, height=None, mode=FIT, format="webp", quality=80),
)
DEFAULT_LIMITS = Limits()


def require_int(where: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{where}: expected an integer from {low} to {high}, got {value!r}")
    return value


def require_bool(where: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    return value


def require_choice(where: str, value: Any, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ConfigError(f"{where}: expected one of {', '.join(allowed)}, got {value!r}")
    return value


_PRESET_KEYS = frozenset(Preset("x", 1, 1).to_dict())


def parse_preset(raw: Any, where: str = "presets[0]") -> Preset:
    """Build one Preset from its JSON form, naming the bad key on error."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected an object, got {raw!r}")
    unknown = sorted(set(raw) - _PRESET_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_PRESET_KEYS))}")
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
    fmt = require_choice(f"{where}.format", raw.get("format", "jpeg"), FORMATS)
    quality = require_int(f"{where}.quality", raw.get("quality", 82), 1, 100)
    progressive = require_bool(f"{where}.progressive", raw.get("progressive", False))
    if progressive and fmt != "jpeg":
        raise ConfigError(f"{where}.progressive: only allowed with format 'jpeg', got format {fmt!r}")
    animated = require_bool(f"{where}.animated", raw.get("animated", False))
    if animated and fmt != "webp":
        raise ConfigError(f"{where}.animated: only allowed with format 'webp', got format {fmt!r}")
    background = raw.get("background", "#ffffff")
    if not isinstance(background, str) or not COLOUR_PATTERN.match(background):
        raise ConfigError(f"{where}.background: expected a colour like '#ffffff', got {background!r}")
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
    )


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


def parse_limits(raw: Mapping[str, Any], where: str = "") -> Limits:
    """Build Limits from camelCase keys (as in cdk.json); missing keys keep their defaults."""
    prefix = f"{where}." if where else ""
    defaults = DEFAULT_LIMITS
    return Limits(
        max_source_bytes=require_int(
            f"{prefix}maxSourceBytes", raw.get("maxSourceBytes", defaults.max_source_bytes), 1, 5 * 1024**3
        ),
        max_source_pixels=require_int(
            f"{prefix}maxSourcePixels", raw.get("maxSourcePixels", defaults.max_source_pixels), 1, 500_000_000
        ),
        max_frames=require_int(f"{prefix}maxFrames", raw.get("maxFrames", defaults.max_frames), 1, 10_000),
    )
