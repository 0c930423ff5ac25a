"""Pixel modes: 16-bit, greyscale (+alpha), palettes, RGBA, all into 8-bit sRGB without surprises."""

import numpy as np
import pytest
from PIL import Image

from tests.builders import DEFAULT_LIMITS
from thumbnailer.imaging.colour import to_working_srgb
from thumbnailer.imaging.engine import make_thumbnails

from . import samples
from .samples import decode, fit_preset

LIMITS = DEFAULT_LIMITS


def _only_output(data, preset):
    return decode(make_thumbnails(data, (preset,), LIMITS).thumbnails[0].data)


def _ramp16(width=256, height=8):
    return np.tile(np.linspace(0, 65535, width).round().astype(np.uint16), (height, 1))


def test_16_bit_rgb_and_rgba_keep_their_full_range():
    # GIVEN 16-bit RGB and RGBA PNGs whose red runs 0..65535 (green mid, blue 1/4, alpha mid)
    ramp = _ramp16()
    rgb = np.stack([ramp, np.full_like(ramp, 32768), np.full_like(ramp, 16384)], axis=-1)
    rgba = np.concatenate([rgb, np.full_like(ramp, 32768)[..., None]], axis=-1)
    for pixels, mode in ((rgb, "RGB"), (rgba, "RGBA")):
        # WHEN a same-size PNG is made
        output = np.asarray(_only_output(samples.png_16bit(pixels), fit_preset(256)))
        # THEN every channel is the 16-bit value scaled to 8 bits (not clipped to 255)
        assert output.shape[-1] == len(mode)
        assert output[4, 0, 0] == 0
        assert output[4, -1, 0] == 255
        assert abs(int(output[4, 128, 1]) - 128) <= 1
        assert abs(int(output[4, 128, 2]) - 64) <= 1


def test_16_bit_grey_with_a_transparent_key_value_gets_alpha():
    # GIVEN a 16-bit grey ramp whose value 0 is marked transparent (tRNS)
    data = samples.png_16bit(_ramp16(), trns=0)
    # WHEN
    output = _only_output(data, fit_preset(256))
    # THEN the key value is transparent and the rest opaque, scaled not clipped
    assert output.mode == "LA"
    assert output.getpixel((0, 4))[1] == 0
    assert output.getpixel((200, 4)) == (round(200 * 65535 / 255 / 257), 255)


@pytest.mark.parametrize("mode", ["I", "I;16", "I;16B"])
def test_wide_integer_modes_are_scaled_to_8_bit(mode):
    # GIVEN a wide-integer image holding 16-bit values (as 16-bit decoders produce)
    ramp = _ramp16()
    layout = {"I": "<i4", "I;16": "<u2", "I;16B": ">u2"}[mode]
    source = Image.frombytes(mode, (ramp.shape[1], ramp.shape[0]), ramp.astype(layout).tobytes())
    # WHEN it is brought to a working mode
    working = to_working_srgb(source, icc_profile=None, may_modify=False)
    # THEN it is 8-bit greyscale spanning the whole range
    assert working.mode == "L"
    assert working.getextrema() == (0, 255)
    assert abs(working.getpixel((128, 0)) - 128) <= 1


def test_greyscale_stays_greyscale_and_greyscale_alpha_keeps_alpha():
    # GIVEN an L image and an LA image (a grey square, half-transparent around it)
    grey = Image.new("L", (100, 100), 90)
    grey_alpha = Image.merge("LA", (grey, Image.new("L", (100, 100), 128)))
    # WHEN PNG and JPEG outputs are made
    png_grey = _only_output(samples.png(grey), fit_preset(50))
    png_grey_alpha = _only_output(samples.png(grey_alpha), fit_preset(50))
    jpeg_grey_alpha = _only_output(samples.png(grey_alpha), fit_preset(50, image_format="jpeg"))
    # THEN PNG keeps one channel (+alpha); JPEG flattens the alpha onto white
    assert png_grey.mode == "L"
    assert png_grey.getpixel((25, 25)) == 90
    assert png_grey_alpha.mode == "LA"
    grey_value, alpha = png_grey_alpha.getpixel((25, 25))
    assert abs(grey_value - 90) <= 1  # resampling is alpha-premultiplied in 8 bits: +-1 rounding
    assert alpha == 128
    assert jpeg_grey_alpha.mode == "RGB"
    assert all(
        abs(value - round(90 * 128 / 255 + 255 * 127 / 255)) <= 2 for value in jpeg_grey_alpha.getpixel((25, 25))
    )


@pytest.mark.parametrize("container", ["png", "gif"])
def test_palette_images_are_resampled_in_true_colour_not_nearest_neighbour(container):
    # GIVEN a palette image of 1-pixel black/white columns
    stripes = Image.new("P", (200, 100), 0)
    stripes.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    for x in range(1, 200, 2):
        stripes.paste(1, (x, 0, x + 1, 100))
    data = samples.png(stripes) if container == "png" else samples.gif(stripes)
    # WHEN it is halved
    output = np.asarray(_only_output(data, fit_preset(100)).convert("L"), dtype=float)
    # THEN every pixel is the average grey, not one of the two palette colours
    assert np.abs(output[10:-10, 10:-10] - 127.5).max() <= 3


def test_palette_without_transparency_becomes_opaque_rgb():
    # GIVEN an opaque palette PNG
    source = Image.new("RGB", (64, 64), (20, 120, 220)).quantize(8)
    # WHEN  THEN the output is plain RGB with the palette colour
    output = _only_output(samples.png(source), fit_preset(32))
    assert output.mode == "RGB"
    assert all(abs(a - b) <= 2 for a, b in zip(output.getpixel((16, 16)), (20, 120, 220), strict=True))


def test_rgba_edges_do_not_bleed_the_colour_of_invisible_pixels():
    # GIVEN opaque blue stripes separated by fully transparent pixels whose colour is red
    source = Image.new("RGBA", (200, 100), (255, 0, 0, 0))
    for x in range(0, 200, 4):
        source.paste((0, 0, 255, 255), (x, 0, x + 2, 100))
    # WHEN it is shrunk (edges become half transparent)
    output = np.asarray(_only_output(samples.png(source), fit_preset(50)), dtype=float)
    # THEN visible pixels are blue: resampling is alpha-weighted, the invisible red never shows
    visible = output[..., 3] > 16
    assert visible.any()
    assert output[visible][:, 0].max() <= 2
    assert output[visible][:, 2].min() >= 250


def test_rgb_with_a_transparent_key_colour_gets_alpha():
    # GIVEN an RGB PNG whose magenta is marked transparent (tRNS)
    source = Image.new("RGB", (40, 40), (255, 0, 255))
    source.paste((10, 200, 10), (10, 10, 30, 30))
    data = samples.png(source, transparency=(255, 0, 255))
    # WHEN  THEN
    output = _only_output(data, fit_preset(40))
    assert output.mode == "RGBA"
    assert output.getpixel((2, 2))[3] == 0
    assert output.getpixel((20, 20)) == (10, 200, 10, 255)


def test_one_bit_images_become_greyscale():
    # GIVEN a 1-bit PNG checkerboard of 2x2 blocks
    source = Image.new("1", (64, 64), 0)
    for y in range(0, 64, 4):
        for x in range(0, 64, 4):
            source.paste(1, (x, y, x + 2, y + 2))
            source.paste(1, (x + 2, y + 2, x + 4, y + 4))
    # WHEN it is shrunk by 4
    output = np.asarray(_only_output(samples.png(source), fit_preset(16)), dtype=float)
    # THEN it is smooth mid grey
    assert output.ndim == 2
    assert np.abs(output[2:-2, 2:-2] - 127.5).max() <= 3
