"""AVIF output: decodes at the preset's size, keeps alpha, carries no metadata; `quality` and `speed` are used."""

import pytest
from PIL import Image

from tests.builders import DEFAULT_LIMITS
from thumbnailer.imaging.engine import make_thumbnails

from . import samples
from .samples import cover_preset, decode, fit_preset
from .test_privacy import FORBIDDEN, FORBIDDEN_INFO, INPUTS

PHOTO = samples.photo(640, 480)


def _avif(**settings):
    return fit_preset(256, name="a", image_format="avif", **settings)


@pytest.mark.parametrize("source_format", INPUTS)
def test_avif_outputs_decode_at_their_size_without_metadata(source_format):
    # GIVEN an input of each format carrying GPS, EXIF, XMP, IPTC, comments and an ICC profile
    data = INPUTS[source_format]()
    presets = (_avif(), cover_preset(96, 96, name="square", image_format="avif"))
    # WHEN AVIF thumbnails are made
    for thumbnail in make_thumbnails(data, presets, DEFAULT_LIMITS).thumbnails:
        output = decode(thumbnail.data)
        # THEN each is an AVIF of the size the rendition reports
        assert output.format == "AVIF"
        assert output.size == (thumbnail.width, thumbnail.height)
        assert thumbnail.preset.content_type == "image/avif"
        assert thumbnail.preset.extension == "avif"
        # AND it carries no EXIF, XMP or ICC profile, neither in its bytes nor in what a decoder reads
        for marker in FORBIDDEN:
            assert marker not in thumbnail.data, f"{thumbnail.preset.name}: found {marker!r}"
        assert b"colrprof" not in thumbnail.data
        assert b"colrrICC" not in thumbnail.data
        assert not output.getexif()
        assert not set(FORBIDDEN_INFO) & set(output.info)


def test_avif_keeps_alpha():
    # GIVEN a half-transparent PNG
    image = Image.new("RGBA", (200, 100), (20, 120, 220, 255))
    image.paste((240, 80, 40, 0), (0, 0, 100, 100))
    # WHEN made into AVIF
    output = decode(make_thumbnails(samples.png(image), (_avif(quality=90),), DEFAULT_LIMITS).thumbnails[0].data)
    # THEN the transparent half is transparent and the opaque half opaque
    assert output.mode == "RGBA"
    assert output.getpixel((20, 50))[3] <= 8
    assert output.getpixel((180, 50))[3] >= 247


def test_quality_and_speed_reach_the_encoder():
    # GIVEN the same photo at two qualities and two speeds
    data = samples.png(PHOTO)

    def size(**settings):
        return len(make_thumbnails(data, (_avif(**settings),), DEFAULT_LIMITS).thumbnails[0].data)

    # WHEN  THEN a lower quality is smaller, and a different speed gives a different file
    assert size(quality=30) < size(quality=80)
    assert size(quality=60, speed=10) != size(quality=60, speed=4)


def test_greyscale_input_with_alpha_becomes_an_rgba_avif():
    # GIVEN a greyscale PNG with a gradient alpha
    grey = PHOTO.convert("LA")
    grey.putalpha(Image.linear_gradient("L").resize(PHOTO.size))
    # WHEN made into AVIF  THEN it decodes with its alpha (the encoder is given RGBA, it has no LA to write)
    output = decode(make_thumbnails(samples.png(grey), (_avif(),), DEFAULT_LIMITS).thumbnails[0].data)
    assert output.mode == "RGBA"
    assert output.getpixel((128, 2))[3] < 32
