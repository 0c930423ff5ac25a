"""The naive Pillow baseline, the full-resolution quality reference, and the geometry both share.

The baseline is what a first version would do: for every preset, reopen the bytes, decode at full
size, apply EXIF orientation, convert, one LANCZOS resize straight to the target, encode.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

from PIL import Image, ImageOps

from thumbnailer.imaging import heif
from thumbnailer.imaging.presets import COVER, Preset
from thumbnailer.imaging.sniff import identify

Box = tuple[float, float, float, float]


def target_size(width: int, height: int, preset: Preset) -> tuple[int, int]:
    """The output size for a source of `width` x `height`: fit inside or cover the box, never upscale, never 0 px."""
    box_height = preset.height if preset.height is not None else math.inf
    if preset.mode == COVER:
        scale = min(max(preset.width / width, box_height / height), 1.0)
        return (
            min(preset.width, max(1, round(width * scale))),
            min(int(box_height), max(1, round(height * scale))),
        )
    scale = min(preset.width / width, box_height / height, 1.0)
    return max(1, round(width * scale)), max(1, round(height * scale))


def centre_box(width: int, height: int, size: tuple[int, int]) -> Box:
    """The largest centred region of the source with the aspect ratio of `size` (the whole source for `fit`)."""
    out_width, out_height = size
    if width * out_height > height * out_width:  # source wider than the output: trim the sides
        box_width = height * out_width / out_height
        left = (width - box_width) / 2
        return (left, 0.0, left + box_width, float(height))
    box_height = width * out_height / out_width
    top = (height - box_height) / 2
    return (0.0, top, float(width), top + box_height)


def open_first_frame(data: bytes) -> Image.Image:
    """Full-resolution decode of the first frame, upright, in RGB or RGBA (palette and grey expanded)."""
    if identify(data) == "heif":
        heif.register_decoder()  # Pillow has no HEIF decoder of its own: a first version would use pi-heif too
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")


def flatten(image: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    """RGB of `image` composited onto `background`: how a JPEG output shows alpha, and how PSNR compares pixels."""
    if image.mode == "RGB":
        return image
    rgba = image.convert("RGBA")
    return Image.alpha_composite(Image.new("RGBA", rgba.size, (*background, 255)), rgba).convert("RGB")


def encode(image: Image.Image, preset: Preset) -> bytes:
    """Encode with the preset's format and quality only (no metadata)."""
    if preset.format == "jpeg":
        image = flatten(image, preset.background_rgb)
    buffer = io.BytesIO()
    params: dict[str, object] = {"quality": preset.quality}
    if preset.format == "jpeg":
        params["progressive"] = preset.progressive
    image.save(buffer, preset.format.upper(), **params)
    return buffer.getvalue()


def naive_thumbnails(data: bytes, presets: Sequence[Preset]) -> list[bytes]:
    """The baseline: one full decode and one LANCZOS resize per preset."""
    outputs = []
    for preset in presets:
        image = open_first_frame(data)
        size = target_size(image.width, image.height, preset)
        box = centre_box(image.width, image.height, size) if preset.mode == COVER else None
        outputs.append(encode(image.resize(size, Image.Resampling.LANCZOS, box=box), preset))
    return outputs


def reference(source: Image.Image, size: tuple[int, int], preset: Preset) -> Image.Image:
    """What a variant should look like: the full-resolution source LANCZOS-resized to its exact size (alpha kept)."""
    box = centre_box(source.width, source.height, size) if preset.mode == COVER else None
    return source.resize(size, Image.Resampling.LANCZOS, box=box)
