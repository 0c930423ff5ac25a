"""Size arithmetic: where each preset's pixels come from and how large they end up.

Pure numbers, no Pillow images, so every rule (never upscale, never a 0-pixel side, where a
`cover` crop sits) can be checked exhaustively on its own. A `smart` crop is placed in the centre
here; the engine moves it once the picture is decoded (smartcrop.py), keeping its size.
"""

from __future__ import annotations

from dataclasses import dataclass

from .presets import COVER, MAX_SIDE, SMART, Preset

# How far along each free axis (0: left/top, 1: right/bottom) each gravity puts a `cover` crop.
# `smart` starts centred: its position is chosen from the pixels (smartcrop.py).
GRAVITY_ANCHORS: dict[str, tuple[float, float]] = {
    "center": (0.5, 0.5),
    "smart": (0.5, 0.5),
    "top": (0.5, 0.0),
    "bottom": (0.5, 1.0),
    "left": (0.0, 0.5),
    "right": (1.0, 0.5),
}

Size = tuple[int, int]
Box = tuple[float, float, float, float]  # left, top, right, bottom; fractional is fine

# JPEG can shrink while decoding (DCT scaling) by these factors only.
JPEG_DRAFT_SCALES = (8, 4, 2, 1)


@dataclass(frozen=True)
class Placement:
    """One output: its size and the region of the upright source it shows."""

    size: Size
    box: Box  # in upright source pixels
    # A `smart` cover crop: `box` is only its size and a centred start; the engine moves it (smartcrop.py).
    smart: bool = False

    @property
    def area(self) -> int:
        return self.size[0] * self.size[1]

    @property
    def shrink(self) -> float:
        """Source pixels per output pixel along the less-shrunk axis (>= 1: never upscale)."""
        left, top, right, bottom = self.box
        return min((right - left) / self.size[0], (bottom - top) / self.size[1])


def place(preset: Preset, source: Size) -> Placement:
    """Fit inside the preset's box or cover it with a crop placed by the preset's gravity; never upscale, never 0 px.

    A width-only preset is bounded in height by MAX_SIDE, so a needle-thin source cannot make
    an output taller than any encoder accepts.
    """
    width, height = source
    box_width = preset.width
    box_height = preset.height if preset.height is not None else MAX_SIDE
    if preset.mode == COVER:
        # Fill the box, or as much of it as the source covers without upscaling.
        scale = min(1.0, max(box_width / width, box_height / height))
    else:
        scale = min(1.0, box_width / width, box_height / height)
    out_width = max(1, min(box_width, round(width * scale)))
    out_height = max(1, min(box_height, round(height * scale)))
    if preset.mode != COVER:
        return Placement(size=(out_width, out_height), box=(0.0, 0.0, float(width), float(height)))
    crop_width = min(float(width), out_width / scale)
    crop_height = min(float(height), out_height / scale)
    anchor_x, anchor_y = GRAVITY_ANCHORS[preset.gravity]
    left = (width - crop_width) * anchor_x
    top = (height - crop_height) * anchor_y
    return Placement(
        size=(out_width, out_height),
        box=(left, top, left + crop_width, top + crop_height),
        smart=preset.gravity == SMART and (crop_width < width or crop_height < height),
    )


def jpeg_draft_scale(source: Size, placements: tuple[Placement, ...], *, min_shrink_left: float) -> int:
    """The largest DCT shrink (8, 4, 2 or 1) that leaves every placement `min_shrink_left` x to resample.

    `source` is the stored (not yet rotated) size; the shrink is the same on both axes, so
    EXIF orientation does not change the answer.
    """
    smallest_shrink = min(placement.shrink for placement in placements)
    for scale in JPEG_DRAFT_SCALES:
        if smallest_shrink / scale >= min_shrink_left and source[0] // scale >= 1 and source[1] // scale >= 1:
            return scale
    return 1


def scale_box(box: Box, *, x: float, y: float, offset: tuple[float, float] = (0.0, 0.0)) -> Box:
    """Map a box into another image's coordinates (scale, then shift)."""
    left, top, right, bottom = box
    return (left * x + offset[0], top * y + offset[1], right * x + offset[0], bottom * y + offset[1])


def orient_box(box: Box, stored: Size, orientation: int) -> Box:
    """Where a box of the stored image lands once EXIF `orientation` (1-8) makes it upright."""
    width, height = stored
    left, top, right, bottom = box

    def upright(x: float, y: float) -> tuple[float, float]:
        match orientation:
            case 2:
                return width - x, y
            case 3:
                return width - x, height - y
            case 4:
                return x, height - y
            case 5:
                return y, x
            case 6:
                return height - y, x
            case 7:
                return height - y, width - x
            case 8:
                return y, width - x
            case _:
                return x, y

    (x1, y1), (x2, y2) = upright(left, top), upright(right, bottom)
    return (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
