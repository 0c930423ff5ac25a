"""Smart crop: put a `cover` preset's crop window where the picture's subject is, not blindly in the middle.

What counts as the subject, measured on a copy of at most ANALYSIS_SIDE pixels a side (shrunk from a
rendition the engine made anyway, so this costs about a millisecond; see docs/benchmark.md):
- detail: edges (Pillow's FIND_EDGES on luminance) where they exceed the picture's average, spread over
  SPREAD pixels so an object's inside counts with its outline. An in-focus subject has detail; a soft
  background, a clear sky or an out-of-focus blob has little;
- colour: saturation times brightness (HSV S*V; the saturation of a dark pixel is noise);
- skin: the usual skin range of YCbCr (Cb 77-127, Cr 133-173, Chai and Ngan 1999) at moderate saturation.
Colour and skin only boost detail (a saturated but blurred background blob has none to boost), so a
bright bokeh ball does not pull the crop away from a grey, sharp subject. Transparent pixels count nothing.
The map is summed per column and per row, and the window slides along the axis the crop leaves free (a
cover crop always spans the whole of the other one) to where it holds the most. Windows within TIE_SHARE
of the best (of the best-to-worst range) tie, and the one nearest the centre wins, so a picture where
nothing stands out is cropped exactly in the centre. Nothing is learned or downloaded: three plain cues.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from PIL import Image, ImageChops, ImageFilter, ImageOps, ImageStat

from .geometry import Box, Size

ANALYSIS_SIDE = 64
# How much more a detailed pixel counts when it is fully saturated, or skin-toned.
COLOUR_BOOST = 1.0
SKIN_BOOST = 1.0
TIE_SHARE = 0.02
SPREAD = 3  # analysis pixels
_CB_SKIN = [255 if 77 <= value <= 127 else 0 for value in range(256)]
_CR_SKIN = [255 if 133 <= value <= 173 else 0 for value in range(256)]
# Warm greys fall in that Cb/Cr range too; skin is moderately saturated (HSV S of about 0.2 to 0.7).
_SKIN_SATURATION = [255 if 50 <= value <= 180 else 0 for value in range(256)]


@dataclass(frozen=True)
class Saliency:
    """How much stands out in each column and each row of a picture (any scale; only shares matter)."""

    columns: tuple[float, ...]
    rows: tuple[float, ...]


def saliency(image: Image.Image) -> Saliency:
    """The column and row profiles of `image` (upright sRGB, mode L, LA, RGB or RGBA, the whole source)."""
    small = _shrunk(image)
    rgb = small.convert("RGB")
    edges = _edges(rgb.convert("L"))
    _, saturation, value = rgb.convert("HSV").split()
    colour = ImageChops.multiply(saturation, value)
    _, blue_difference, red_difference = rgb.convert("YCbCr").split()
    skin = ImageChops.multiply(
        ImageChops.multiply(blue_difference.point(_CB_SKIN), red_difference.point(_CR_SKIN)),
        saturation.point(_SKIN_SATURATION),
    )
    # Spread a little, so an object's inside counts as well as its outline.
    detail = _above_average(edges).filter(ImageFilter.BoxBlur(SPREAD))
    alpha = small.getchannel("A") if small.mode in ("LA", "RGBA") else None
    if alpha is not None:
        detail = ImageChops.multiply(detail, alpha)
    columns = [0.0] * small.width
    rows = [0.0] * small.height
    # Detail, boosted where it is colourful or skin: a saturated but blurred background blob has no detail.
    cues = (
        (detail, 1.0),
        (ImageChops.multiply(detail, colour), COLOUR_BOOST),
        (ImageChops.multiply(detail, skin), SKIN_BOOST),
    )
    for cue, weight in cues:
        column_means, row_means = _profiles(cue)
        columns = [total + weight * mean for total, mean in zip(columns, column_means, strict=True)]
        rows = [total + weight * mean for total, mean in zip(rows, row_means, strict=True)]
    return Saliency(columns=tuple(columns), rows=tuple(rows))


def smart_box(profile: Saliency, source: Size, box: Box) -> Box:
    """`box` (a cover crop of `source`, in source pixels) moved to hold the most of what stands out."""
    left, top, right, bottom = box
    new_left = _best_start(profile.columns, source[0], right - left)
    new_top = _best_start(profile.rows, source[1], bottom - top)
    return (new_left, new_top, new_left + (right - left), new_top + (bottom - top))


def _shrunk(image: Image.Image) -> Image.Image:
    scale = ANALYSIS_SIDE / max(image.size)
    if scale >= 1:
        return image
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BOX, reducing_gap=2.0)


def _edges(grey: Image.Image) -> Image.Image:
    """FIND_EDGES, with the outermost pixels zeroed: Pillow copies them from the source unfiltered."""
    edges = grey.filter(ImageFilter.FIND_EDGES)
    if min(grey.size) < 3:
        return Image.new("L", grey.size, 0)
    return ImageOps.expand(edges.crop((1, 1, grey.width - 1, grey.height - 1)), border=1, fill=0)


def _above_average(cue: Image.Image) -> Image.Image:
    average = ImageStat.Stat(cue).mean[0]
    return cue.point([max(0, round(value - average)) for value in range(256)])


def _profiles(cue: Image.Image) -> tuple[list[float], list[float]]:
    """Mean of each column and of each row (a box resize to one row / one column does the sums in C)."""
    as_float = cue.convert("F")
    columns = as_float.resize((cue.width, 1), Image.Resampling.BOX)
    rows = as_float.resize((1, cue.height), Image.Resampling.BOX)
    # A one-band "F" image: each datum is a float.
    return list(cast(tuple[float, ...], columns.get_flattened_data())), list(
        cast(tuple[float, ...], rows.get_flattened_data())
    )


def _best_start(profile: tuple[float, ...], length: float, window: float) -> float:
    """Where a window of `window` source pixels should start along an axis of `length` source pixels."""
    slack = length - window
    if slack <= 0:
        return 0.0
    cells = len(profile)
    span = min(cells, max(1, round(window / length * cells)))
    sums = [0.0]
    for value in profile:
        sums.append(sums[-1] + value)
    scores = [sums[start + span] - sums[start] for start in range(cells - span + 1)]
    best, worst = max(scores), min(scores)
    threshold = best - TIE_SHARE * (best - worst)
    contenders = [start for start, score in enumerate(scores) if score >= threshold]
    centre = (cells - span) / 2
    chosen = min(contenders, key=lambda start: abs(start - centre))
    if abs(chosen - centre) < 1:  # the middle is as good as anything: exactly the centre crop
        return slack / 2
    # From analysis cells back to source pixels, kept inside the source.
    return min(max(0.0, chosen / cells * length), slack)
