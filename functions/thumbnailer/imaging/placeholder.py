"""A placeholder for the manifest: a ThumbHash of the whole image and its dominant colour.

A front end shows it while the real thumbnail loads: the ThumbHash (a ~25-byte DCT of the image, by
Evan Wallace, MIT licence, https://github.com/evanw/thumbhash) decodes to a blurry 32 px preview with the
right aspect ratio and transparency; the dominant colour is a one-value fallback for CSS.

ThumbHash rather than BlurHash: it stores the aspect ratio and an alpha channel (BlurHash has neither, so
the page must know the size and transparent images turn into a smudge), renders colour more faithfully,
and is as small. The encoder below follows the reference `rgbaToThumbHash` bit for bit (its rounding is
JavaScript's Math.round, half up), so the reference decoders (npm `thumbhash`, Swift, Rust...) read it.
It is pure Python because the layer has no numpy; it stays fast by encoding a copy of at most MAX_SIDE
pixels a side (the hash keeps at most 7 cosine terms per axis, the highest 3 cycles across, which 24
samples resolve: 8 per cycle) and by computing each 2-D cosine sum as row sums then a column sum.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from operator import mul
from typing import cast

from PIL import Image

HASH_TYPE = "thumbhash"
# The longest side of the copy that is hashed (the reference allows up to 100; the time grows with the area).
MAX_SIDE = 24
# Colours clustered (median cut) to pick the dominant one; alpha weighs each pixel.
DOMINANT_CLUSTERS = 4


@dataclass(frozen=True)
class Placeholder:
    """What a page shows before the thumbnail arrives."""

    hash: str  # the ThumbHash bytes, standard base64
    dominant_color: str  # "#rrggbb"
    hash_type: str = HASH_TYPE

    def to_json(self) -> dict[str, str]:
        return {"hashType": self.hash_type, "hash": self.hash, "dominantColor": self.dominant_color}


def make_placeholder(image: Image.Image) -> Placeholder:
    """The placeholder of `image`, an upright sRGB picture of the whole source (mode L, LA, RGB or RGBA).

    Give it the smallest rendition there is: it is shrunk further to MAX_SIDE, and the time spent here
    is that shrink plus about a millisecond of arithmetic on at most MAX_SIDE x MAX_SIDE pixels.
    """
    small = _shrunk(image)
    width, height = small.size
    rgba = small.convert("RGBA").tobytes()
    alpha = rgba[3::4]
    return Placeholder(
        hash=base64.b64encode(rgba_to_thumbhash(width, height, rgba)).decode("ascii"),
        dominant_color=_dominant_colour(small.convert("RGB"), alpha),
    )


def _shrunk(image: Image.Image) -> Image.Image:
    scale = MAX_SIDE / max(image.size)
    if scale >= 1:
        return image
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    # BOX with a reducing gap: an average over each output pixel's area, which is what a hash of the
    # low frequencies wants; most of the work is an integer reduce.
    return image.resize(size, Image.Resampling.BOX, reducing_gap=2.0)


def _round(value: float) -> int:
    """JavaScript's Math.round (half up), which the reference encoder uses; Python's round is half to even."""
    return math.floor(value + 0.5)


def rgba_to_thumbhash(width: int, height: int, rgba: bytes) -> bytes:
    """The reference encoder (`rgbaToThumbHash`): `rgba` is width*height*4 bytes, not premultiplied."""
    if not (0 < width <= 100 and 0 < height <= 100) or len(rgba) != width * height * 4:
        raise ValueError(f"expected at most 100x100 RGBA pixels, got {width}x{height} and {len(rgba)} bytes")
    count = width * height
    reds, greens, blues, alphas = rgba[0::4], rgba[1::4], rgba[2::4], [value / 255 for value in rgba[3::4]]

    # The average colour, weighted by alpha; transparent pixels are composited onto it.
    alpha_total = sum(alphas)
    average = [0.0, 0.0, 0.0]
    if alpha_total:
        average = [sum(map(mul, alphas, channel)) / 255 / alpha_total for channel in (reds, greens, blues)]
    has_alpha = alpha_total < count
    l_limit = 5 if has_alpha else 7  # fewer luminance terms when alpha needs room
    longest = max(width, height)
    lx = max(1, _round(l_limit * width / longest))
    ly = max(1, _round(l_limit * height / longest))

    if has_alpha:
        composited = [
            (
                average[0] * (1 - alpha) + alpha / 255 * red,
                average[1] * (1 - alpha) + alpha / 255 * green,
                average[2] * (1 - alpha) + alpha / 255 * blue,
            )
            for red, green, blue, alpha in zip(reds, greens, blues, alphas, strict=True)
        ]
    else:  # the same arithmetic with alpha = 1, without the terms that are then exactly zero
        unit = 1 / 255
        composited = [
            (unit * red, unit * green, unit * blue) for red, green, blue in zip(reds, greens, blues, strict=True)
        ]
    luminance = [(r + g + b) / 3 for r, g, b in composited]
    yellow_blue = [(r + g) / 2 - b for r, g, b in composited]
    red_green = [r - g for r, g, _ in composited]

    l_dc, l_ac, l_scale = _encode_channel(luminance, width, height, max(3, lx), max(3, ly))
    p_dc, p_ac, p_scale = _encode_channel(yellow_blue, width, height, 3, 3)
    q_dc, q_ac, q_scale = _encode_channel(red_green, width, height, 3, 3)
    channels = [l_ac, p_ac, q_ac]

    is_landscape = width > height
    header24 = (
        _round(63 * l_dc)
        | (_round(31.5 + 31.5 * p_dc) << 6)
        | (_round(31.5 + 31.5 * q_dc) << 12)
        | (_round(31 * l_scale) << 18)
        | (int(has_alpha) << 23)
    )
    header16 = (
        (ly if is_landscape else lx)
        | (_round(63 * p_scale) << 3)
        | (_round(63 * q_scale) << 9)
        | (int(is_landscape) << 15)
    )
    hash_bytes = [header24 & 255, (header24 >> 8) & 255, header24 >> 16, header16 & 255, header16 >> 8]
    if has_alpha:
        a_dc, a_ac, a_scale = _encode_channel(alphas, width, height, 5, 5)
        hash_bytes.append(_round(15 * a_dc) | (_round(15 * a_scale) << 4))
        channels.append(a_ac)
    start = len(hash_bytes)
    factors = [factor for channel in channels for factor in channel]
    hash_bytes.extend([0] * ((len(factors) + 1) // 2))
    for index, factor in enumerate(factors):
        hash_bytes[start + (index >> 1)] |= _round(15 * factor) << ((index & 1) << 2)
    return bytes(hash_bytes)


def _cosines(terms: int, length: int) -> list[list[float]]:
    return [
        [math.cos(math.pi / length * term * (position + 0.5)) for position in range(length)] for term in range(terms)
    ]


def _encode_channel(values: list[float], width: int, height: int, nx: int, ny: int) -> tuple[float, list[float], float]:
    """DC, normalised AC terms and their scale, in the reference's order (cy outer, cx inner, a triangle)."""
    cos_x, cos_y = _cosines(nx, width), _cosines(ny, height)
    rows = [values[y * width : (y + 1) * width] for y in range(height)]
    # sum over x of value * cos_x, per row: the 2-D sum is then one sum over y per term.
    row_sums = [[sum(map(mul, row, cos_x[cx])) for row in rows] for cx in range(nx)]
    dc, ac = 0.0, []
    for cy in range(ny):
        cx = 0
        while cx * ny < nx * (ny - cy):
            factor = sum(map(mul, row_sums[cx], cos_y[cy])) / (width * height)
            if cx or cy:
                ac.append(factor)
            else:
                dc = factor
            cx += 1
    scale = max((abs(factor) for factor in ac), default=0.0)
    if scale:
        ac = [0.5 + 0.5 / scale * factor for factor in ac]
    return dc, ac, scale


def _dominant_colour(rgb: Image.Image, alpha: bytes) -> str:
    """The colour of the largest cluster of visible pixels, as CSS hex."""
    clusters = rgb.quantize(colors=DOMINANT_CLUSTERS, method=Image.Quantize.MEDIANCUT)
    weights = [0] * 256
    if min(alpha) < 255:
        for index, weight in zip(clusters.tobytes(), alpha, strict=True):
            weights[index] += weight
    if not any(weights):  # opaque (or with nothing visible): every pixel counts the same, counted in C
        for count, colour in clusters.getcolors() or []:
            weights[cast(int, colour)] = count  # a palette image's colours are palette indices
    best = max(range(256), key=weights.__getitem__)
    palette = clusters.getpalette() or []
    red, green, blue = palette[best * 3 : best * 3 + 3]
    return f"#{red:02x}{green:02x}{blue:02x}"
