"""Colour management: embedded ICC profiles are converted to sRGB; outputs are untagged sRGB.

Patches are measured against values computed from the colour science (colour_science.py),
as CIE76 ΔE in CIELAB. Budget: ΔE76 <= 1.0 for lossless sources, <= 2.0 through a lossy
JPEG/WebP source; ignoring the profile must miss by far more (the test can fail).
"""

import numpy as np
import pytest
from PIL import Image

from tests.builders import DEFAULT_LIMITS
from thumbnailer.imaging.engine import make_thumbnails

from . import colour_science as cs
from . import samples
from .samples import decode, fit_preset

PATCH = 48
RGB_PATCHES = [(200, 100, 50), (110, 165, 110), (90, 110, 200), (128, 128, 128), (230, 200, 170), (40, 40, 40)]
LOSSLESS_BUDGET = 1.0
LOSSY_BUDGET = 2.0
NAIVE_MISS = 5.0


def _patch_strip(colours, mode="RGB"):
    strip = Image.new(mode, (PATCH * len(colours), PATCH))
    for index, colour in enumerate(colours):
        strip.paste(colour, (index * PATCH, 0, (index + 1) * PATCH, PATCH))
    return strip


def _measured(data, count):
    """The converted patches, read back from a same-size lossless output (no resampling involved)."""
    preset = fit_preset(PATCH * count, name="same-size")
    output = decode(make_thumbnails(data, (preset,), DEFAULT_LIMITS).thumbnails[0].data)
    assert "icc_profile" not in output.info  # untagged: the pixels are sRGB, no profile is written
    centre = PATCH // 2
    return np.array(
        [output.convert("RGB").getpixel((index * PATCH + centre, centre)) for index in range(count)], dtype=float
    )


def _delta_e(measured, expected):
    return cs.delta_e76(cs.srgb8_to_lab(measured), cs.srgb8_to_lab(expected))


RGB_SPACES = {
    "display-p3": (cs.display_p3_profile, cs.DISPLAY_P3_PRIMARIES, cs.srgb_decode),
    "adobe-rgb": (cs.adobe_rgb_profile, cs.ADOBE_RGB_PRIMARIES, lambda v: v**cs.ADOBE_RGB_GAMMA),
}
CONTAINERS = {
    "png": (lambda image, icc: samples.png(image, icc_profile=icc), LOSSLESS_BUDGET),
    "jpeg": (lambda image, icc: samples.jpeg(image, quality=95, subsampling=0, icc_profile=icc), LOSSY_BUDGET),
    "webp": (lambda image, icc: samples.webp(image, icc_profile=icc), LOSSLESS_BUDGET),
}


@pytest.mark.parametrize("space", RGB_SPACES)
@pytest.mark.parametrize("container", CONTAINERS)
def test_wide_gamut_rgb_is_converted_to_srgb(space, container):
    # GIVEN colour patches tagged with a Display P3 or Adobe RGB profile
    make_profile, primaries, decode_curve = RGB_SPACES[space]
    encode, budget = CONTAINERS[container]
    data = encode(_patch_strip(RGB_PATCHES), make_profile())
    expected = cs.rgb_space_to_srgb8(np.array(RGB_PATCHES, dtype=float), primaries, decode_curve)
    assert np.all((expected > 1) & (expected < 254)), "patches must be inside the sRGB gamut"
    # WHEN thumbnails are made
    measured = _measured(data, len(RGB_PATCHES))
    # THEN every patch is within the ΔE budget of the true sRGB colour
    assert _delta_e(measured, expected).max() <= budget
    # AND reading the numbers as if they were sRGB would have missed badly
    assert _delta_e(np.array(RGB_PATCHES, dtype=float), expected).max() > NAIVE_MISS


CMYK_CORNERS = [
    (1, 0, 0, 0),
    (0, 1, 0, 0),
    (0, 0, 1, 0),
    (0, 0, 0, 1),
    (1, 1, 0, 0),
    (0, 1, 1, 0),
    (1, 0, 1, 0),
    (1, 1, 1, 1),
]


def test_adobe_inverted_cmyk_jpeg_with_a_profile_is_converted_to_srgb():
    # GIVEN a CMYK JPEG as Photoshop writes it (Adobe APP14 marker, inverted samples), with a
    # press profile, of full-ink patches plus bare paper
    corners = [(0, 0, 0, 0), *CMYK_CORNERS]
    strip = _patch_strip([tuple(255 * on for on in corner) for corner in corners], mode="CMYK")
    data = samples.jpeg(strip, quality=100, icc_profile=cs.cmyk_press_profile())
    assert b"Adobe" in data[:200]
    # WHEN
    measured = _measured(data, len(corners))
    # THEN each ink patch is the press's colour in sRGB; bare paper is rendered white, as
    # LittleCMS maps media white to display white (its white-point fix-up)
    expected = np.array([[255.0, 255.0, 255.0]] + [cs.press_corner_srgb8(corner) for corner in CMYK_CORNERS])
    assert _delta_e(measured, expected).max() <= LOSSY_BUDGET
    # AND Pillow's profile-blind formula (cyan ink -> 0,255,255) would have missed badly
    naive = np.array([strip.convert("RGB").getpixel((i * PATCH, 0)) for i in range(len(corners))], dtype=float)
    assert _delta_e(naive, expected).max() > NAIVE_MISS


def test_cmyk_without_a_profile_uses_the_plain_ink_formula():
    # GIVEN an Adobe-inverted CMYK JPEG with no profile: full cyan, magenta, yellow, black
    strip = _patch_strip([(255, 0, 0, 0), (0, 255, 0, 0), (0, 0, 255, 0), (0, 0, 0, 255)], mode="CMYK")
    data = samples.jpeg(strip, quality=100)
    # WHEN  THEN the inversion is undone (cyan stays cyan, not red)
    measured = _measured(data, 4)
    expected = np.array([(0, 255, 255), (255, 0, 255), (255, 255, 0), (0, 0, 0)], dtype=float)
    assert _delta_e(measured, expected).max() <= LOSSY_BUDGET


def test_greyscale_with_a_grey_profile_is_converted_and_stays_one_channel():
    # GIVEN greyscale patches tagged "Gray Gamma 1.8" (darker midtones than sRGB when managed)
    greys = [30, 80, 128, 190, 240]
    data = samples.png(_patch_strip(greys, mode="L"), icc_profile=cs.grey_gamma_profile(1.8))
    # WHEN
    preset = fit_preset(PATCH * len(greys))
    output = decode(make_thumbnails(data, (preset,), DEFAULT_LIMITS).thumbnails[0].data)
    # THEN the output is greyscale, and each grey has the sRGB value of the same luminance
    assert output.mode == "L"
    measured = np.array([output.getpixel((i * PATCH + PATCH // 2, PATCH // 2)) for i in range(len(greys))])
    expected = cs.srgb_encode((np.array(greys) / 255) ** 1.8) * 255
    assert np.abs(measured - expected).max() <= 1.0
    assert np.abs(np.array(greys) - expected).max() > 10


def test_an_unusable_profile_is_ignored_like_browsers_do():
    # GIVEN a PNG with garbage where the profile should be, and one with a CMYK profile on RGB pixels
    garbage = samples.png(_patch_strip(RGB_PATCHES), icc_profile=b"\x00\x00\x01\x00not a profile" * 10)
    mismatched = samples.png(_patch_strip(RGB_PATCHES), icc_profile=cs.cmyk_press_profile())
    for data in (garbage, mismatched):
        # WHEN  THEN the pixels are taken as sRGB, unchanged
        measured = _measured(data, len(RGB_PATCHES))
        assert np.abs(measured - np.array(RGB_PATCHES)).max() <= 0


def test_srgb_tagged_source_is_unchanged():
    # GIVEN a PNG tagged with an sRGB profile
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = samples.png(_patch_strip(RGB_PATCHES), icc_profile=srgb)
    # WHEN  THEN the patches are the same numbers (within LittleCMS rounding)
    assert np.abs(_measured(data, len(RGB_PATCHES)) - np.array(RGB_PATCHES)).max() <= 1


def test_alpha_survives_colour_conversion():
    # GIVEN a half-transparent Display P3 patch
    source = Image.new("RGBA", (PATCH, PATCH), (200, 100, 50, 128))
    data = samples.png(source, icc_profile=cs.display_p3_profile())
    # WHEN
    output = decode(make_thumbnails(data, (fit_preset(PATCH),), DEFAULT_LIMITS).thumbnails[0].data)
    # THEN the colour is converted and the alpha is untouched
    expected = cs.rgb_space_to_srgb8(np.array([200.0, 100.0, 50.0]), cs.DISPLAY_P3_PRIMARIES, cs.srgb_decode)
    pixel = output.getpixel((PATCH // 2, PATCH // 2))
    assert pixel[3] == 128
    assert _delta_e(np.array(pixel[:3], dtype=float), expected) <= LOSSLESS_BUDGET
