"""Encode a rendered image as a preset's format, carrying no metadata at all.

Pillow copies `info` (EXIF, XMP, comments, ICC profile, ...) from image to image through
resize/convert, and some encoders write what they find there (PNG writes the ICC profile,
JPEG the comment). So every image is saved with an emptied `info` and only the explicit
parameters below: nothing from the source can reach an output.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any, cast

from PIL import Image

from .presets import Preset

# libwebp effort 0-6. Measured on the benchmark's photo-like 1024 px outputs at q80: method 1
# takes 15 ms but writes files 27 % larger than the default 4 (49 ms); method 2 takes 20 ms for
# files 5 % larger. A thumbnail is encoded once and served many times, so bytes win over 5 ms.
WEBP_METHOD = 2


# AVIF: libavif with libaom, as the pinned Pillow wheel bundles it. `speed` (the preset's) trades encode
# time for bytes; 4:2:0 chroma like the JPEG and WebP outputs. Pillow writes no EXIF, XMP or ICC unless
# given them, and it is given none (an untagged AVIF is taken as sRGB, as our pixels are).
AVIF_SUBSAMPLING = "4:2:0"


# In an extended (VP8X) WebP header, byte 20 holds the feature flags; 0x10 says "has alpha".
_VP8X_FLAGS_OFFSET = 20
_VP8X_ALPHA_FLAG = 0x10


def _has_transparency(image: Image.Image) -> bool:
    if image.mode not in ("RGBA", "LA"):
        return False
    lowest, _ = cast(tuple[int, int], image.getchannel("A").getextrema())  # one band: (min, max)
    return lowest < 255


def _with_alpha_flag(data: bytes) -> bytes:
    """Set the VP8X alpha flag of an animated WebP.

    libwebp's animation encoder stores each frame as the rectangle that changed; when those
    rectangles are opaque it leaves the flag unset although the canvas around them is
    transparent, and decoders that trust the flag (Pillow among them) show it opaque.
    """
    if data[12:16] != b"VP8X":
        return data
    flagged = bytearray(data)
    flagged[_VP8X_FLAGS_OFFSET] |= _VP8X_ALPHA_FLAG
    return bytes(flagged)


def _flatten(image: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    """Alpha composited onto an opaque background colour (for formats without alpha)."""
    rgba = image.convert("RGBA") if image.mode != "RGBA" else image
    flat = Image.new("RGB", rgba.size, background)
    flat.paste(rgba.convert("RGB"), mask=rgba.getchannel("A"))
    return flat


def _in_output_mode(image: Image.Image, preset: Preset) -> Image.Image:
    """A mode the preset's encoder writes: JPEG L/RGB (alpha flattened), WebP and AVIF RGB/RGBA, PNG as is."""
    if preset.format == "jpeg":
        if image.mode in ("LA", "RGBA"):
            return _flatten(image, preset.background_rgb)
        return image
    if preset.format in ("webp", "avif") and image.mode in ("L", "LA"):
        return image.convert("RGBA" if image.mode == "LA" else "RGB")
    return image


def _without_metadata(image: Image.Image) -> Image.Image:
    bare = image if not image.info else image.copy()
    bare.info = {}
    return bare


def _save_options(preset: Preset) -> dict[str, Any]:
    if preset.format == "jpeg":
        # optimize: Huffman tables fitted to the image, a few percent smaller for free.
        return {"format": "JPEG", "quality": preset.quality, "optimize": True, "progressive": preset.progressive}
    if preset.format == "webp":
        return {"format": "WEBP", "quality": preset.quality, "method": WEBP_METHOD}
    if preset.format == "avif":
        return {"format": "AVIF", "quality": preset.quality, "speed": preset.speed, "subsampling": AVIF_SUBSAMPLING}
    return {"format": "PNG", "compress_level": 6}


def encode_still(image: Image.Image, preset: Preset) -> bytes:
    """One frame in the preset's format and quality, no metadata."""
    output = _without_metadata(_in_output_mode(image, preset))
    buffer = io.BytesIO()
    output.save(buffer, **_save_options(preset))
    return buffer.getvalue()


def encode_animation(frames: Sequence[Image.Image], *, durations_ms: Sequence[int], loop: int, preset: Preset) -> bytes:
    """An animated WebP of `frames` (each shown for its duration), no metadata."""
    if preset.format != "webp":
        raise ValueError(f"animated output is WebP only, preset {preset.name!r} asks for {preset.format!r}")
    ready = [_without_metadata(_in_output_mode(frame, preset)) for frame in frames]
    buffer = io.BytesIO()
    ready[0].save(
        buffer,
        format="WEBP",
        save_all=True,
        append_images=ready[1:],
        duration=list(durations_ms),
        loop=loop,
        quality=preset.quality,
        method=WEBP_METHOD,
    )
    if any(_has_transparency(frame) for frame in ready):
        return _with_alpha_flag(buffer.getvalue())
    return buffer.getvalue()
