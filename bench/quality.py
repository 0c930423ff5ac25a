"""PSNR of the engine's variants against a full-resolution LANCZOS reference of the same size.

Three numbers per variant, because lossy encoding alone costs a busy thumbnail several dB:
- delivered: the decoded output file against the reference (what a user sees);
- pre-encode: the image the engine handed to the encoder against the reference (the engine's
  resampling error alone; this is what the >= 38 dB goal guards: "no speed trick wrecks the picture");
- codec ceiling: the reference itself through the engine's encoder settings (the best delivered
  figure any resampler could reach at those settings).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .floor import CapturedSave, EngineObservation
from .naive import flatten, open_first_frame, reference

PEAK = 255.0


@dataclass(frozen=True)
class VariantQuality:
    preset: str
    size: tuple[int, int]
    delivered_db: float
    pre_encode_db: float | None  # None when the engine's encoder call could not be matched to this variant
    codec_ceiling_db: float | None


def psnr(actual: Image.Image, expected: Image.Image) -> float:
    """Peak signal-to-noise ratio in dB over the RGB channels; infinite when identical."""
    if actual.size != expected.size:
        raise ValueError(f"PSNR needs equal sizes, got {actual.size} and {expected.size}")
    difference = np.asarray(actual, dtype=np.float64) - np.asarray(expected, dtype=np.float64)
    mean_square = float(np.mean(difference**2))
    return math.inf if mean_square == 0 else 10 * math.log10(PEAK**2 / mean_square)


def _as_rgb(image: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    """RGB after flattening alpha onto the preset's background, the same way for both sides."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    return flatten(image.convert("RGBA" if has_alpha else "RGB"), background)


def _take_matching_save(saves: list[CapturedSave], size: tuple[int, int], format_name: str) -> CapturedSave | None:
    for index, save in enumerate(saves):
        if save.image.size == size and (save.format or "").lower() == format_name:
            return saves.pop(index)
    return None


def variant_qualities(data: bytes, observation: EngineObservation) -> list[VariantQuality]:
    source = open_first_frame(data)
    unmatched = list(observation.saves)
    qualities = []
    for thumbnail in observation.rendition.thumbnails:
        preset, size = thumbnail.preset, (thumbnail.width, thumbnail.height)
        background = preset.background_rgb
        expected = reference(source, size, preset)
        expected_rgb = _as_rgb(expected, background)
        delivered = psnr(_as_rgb(Image.open(io.BytesIO(thumbnail.data)), background), expected_rgb)
        save = _take_matching_save(unmatched, size, preset.format)
        pre_encode = ceiling = None
        if save is not None:
            pre_encode = psnr(_as_rgb(save.image, background), expected_rgb)
            # The reference in the mode the engine encoded (RGB, RGBA, L...), through the same encoder call.
            opaque = save.image.mode in ("RGB", "L")
            as_encoded = (expected_rgb if opaque else expected).convert(save.image.mode)
            encoded = CapturedSave(image=as_encoded, format=save.format, params=save.params).replay()
            ceiling = psnr(_as_rgb(Image.open(io.BytesIO(encoded)), background), expected_rgb)
        qualities.append(VariantQuality(preset.name, size, delivered, pre_encode, ceiling))
    return qualities


def lowest(qualities: Sequence[VariantQuality], attribute: str) -> tuple[str, float] | None:
    """(preset, dB) of the variant scoring lowest on `attribute`, ignoring unmeasured ones."""
    scored = [(quality.preset, getattr(quality, attribute)) for quality in qualities]
    scored = [(name, value) for name, value in scored if value is not None]
    return min(scored, key=lambda item: item[1]) if scored else None
