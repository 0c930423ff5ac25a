"""The placeholder: a ThumbHash that decodes (with a decoder written from the reference) to the source's shape
and colour, and a dominant colour; made by every rendition from its smallest picture of the whole source."""

import base64
import re

import numpy as np
import pytest
from PIL import Image, ImageDraw

from local.thumbhash import approximate_aspect_ratio, has_alpha, thumbhash_to_image
from tests.builders import DEFAULT_LIMITS, DEFAULT_PRESETS
from thumbnailer.imaging.engine import make_thumbnails
from thumbnailer.imaging.placeholder import make_placeholder, rgba_to_thumbhash

from . import samples
from .heif_samples import heic
from .samples import cover_preset, fit_preset

# Hashes the reference encoder (npm `thumbhash` 0.1.1, `rgbaToThumbHash`) gives for these exact pixels,
# computed once with Node and kept here: the engine's pure-Python encoder must give the same bytes.
REFERENCE_HASHES = {
    "opaque 32x24": "HQYGLZCirGByeIeHhnh3d2CiSPd4",
    "alpha 24x32": "IDeCFAg4xF84hbh0SgbXgJyFhweHd4iHBw==",
    "wide 32x6": "24QGEZZQSGWIiHiHcIcIh3c=",
}


def _reference_inputs():
    opaque = samples.photo(32, 24, seed=11).convert("RGBA")
    clear = samples.photo(24, 32, seed=12).convert("RGBA")
    clear.putalpha(Image.linear_gradient("L").resize((24, 32)))
    wide = samples.photo(32, 6, seed=13).convert("RGBA")
    return {"opaque 32x24": opaque, "alpha 24x32": clear, "wide 32x6": wide}


@pytest.mark.parametrize("name", REFERENCE_HASHES)
def test_the_encoder_writes_the_reference_encoders_bytes(name):
    # GIVEN photo-like pixels whose ThumbHash the reference JavaScript encoder computed
    image = _reference_inputs()[name]
    # WHEN encoded here  THEN byte for byte the same hash
    encoded = rgba_to_thumbhash(image.width, image.height, image.tobytes())
    assert base64.b64encode(encoded).decode() == REFERENCE_HASHES[name]


def _decoded(placeholder):
    return base64.b64decode(placeholder.hash)


def _near_hex(colour, expected, tolerance):
    actual = [int(colour[index : index + 2], 16) for index in (1, 3, 5)]
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def _mean_rgb(image):
    return np.asarray(image.convert("RGB"), dtype=float).reshape(-1, 3).mean(axis=0)


@pytest.mark.parametrize(("width", "height"), [(640, 480), (480, 640), (500, 500), (1200, 300), (300, 1200)])
def test_the_placeholder_decodes_to_the_sources_shape_and_colour(width, height):
    # GIVEN a photo of some aspect ratio
    photo = samples.photo(width, height, seed=width + height)
    # WHEN the default presets are made
    rendition = make_thumbnails(samples.jpeg(photo), DEFAULT_PRESETS, DEFAULT_LIMITS)
    placeholder = rendition.placeholder
    assert placeholder is not None
    assert placeholder.hash_type == "thumbhash"
    hash_bytes = _decoded(placeholder)
    # THEN the hash is small, and its picture has the source's aspect ratio (as closely as ThumbHash stores
    # it: luminance terms per axis, 7 on the long side), and the source's mean colour
    assert len(hash_bytes) <= 25
    ratio = approximate_aspect_ratio(hash_bytes)
    assert ratio == pytest.approx(width / height, rel=0.3)
    picture = thumbhash_to_image(hash_bytes)
    assert (picture.width > picture.height) == (width > height) or width == height
    assert np.abs(_mean_rgb(picture) - _mean_rgb(photo)).max() <= 12
    # AND the dominant colour is CSS hex
    assert re.fullmatch(r"#[0-9a-f]{6}", placeholder.dominant_color)


def test_a_different_picture_gets_a_different_hash():
    # GIVEN two photos  WHEN  THEN their hashes differ (the test above cannot pass on a constant)
    first = make_thumbnails(samples.jpeg(samples.photo(320, 240, seed=1)), DEFAULT_PRESETS, DEFAULT_LIMITS)
    second = make_thumbnails(samples.jpeg(samples.photo(320, 240, seed=2)), DEFAULT_PRESETS, DEFAULT_LIMITS)
    assert first.placeholder.hash != second.placeholder.hash


def test_transparency_is_in_the_hash():
    # GIVEN a disc on a fully transparent background
    image = Image.new("RGBA", (400, 300), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((120, 70, 280, 230), fill=(30, 90, 220, 255))
    # WHEN
    placeholder = make_thumbnails(samples.png(image), DEFAULT_PRESETS, DEFAULT_LIMITS).placeholder
    # THEN the hash says it has alpha; the decoded corners are transparent and the middle opaque and blue
    hash_bytes = _decoded(placeholder)
    assert has_alpha(hash_bytes)
    picture = thumbhash_to_image(hash_bytes)
    assert picture.getpixel((0, 0))[3] < 64
    middle = picture.getpixel((picture.width // 2, picture.height // 2))
    assert middle[3] > 192
    assert middle[2] > middle[0]
    # AND the dominant colour is the visible disc's (within the rounding of its edge), not the invisible black
    assert _near_hex(placeholder.dominant_color, (30, 90, 220), 8)


def test_the_dominant_colour_is_the_largest_area_not_the_average():
    # GIVEN a picture two thirds green, one third red
    image = Image.new("RGB", (300, 200), (20, 160, 40))
    image.paste((200, 20, 20), (0, 0, 100, 200))
    # WHEN
    placeholder = make_placeholder(image)
    # THEN the dominant colour is the green, which an average (a brownish mix) would not be
    assert _near_hex(placeholder.dominant_color, (20, 160, 40), 3)


def test_a_rendition_of_only_cover_crops_still_hashes_the_whole_picture():
    # GIVEN a wide photo and only a square cover preset (no `fit` rendition shows the whole picture)
    photo = samples.photo(900, 300, seed=5)
    # WHEN
    rendition = make_thumbnails(samples.jpeg(photo), (cover_preset(64, 64, image_format="jpeg"),), DEFAULT_LIMITS)
    # THEN the placeholder has the photo's 3:1 shape, not the crop's square
    assert approximate_aspect_ratio(_decoded(rendition.placeholder)) > 2


def test_an_animation_rendered_only_as_animation_gets_a_placeholder_of_its_first_frame():
    # GIVEN an animated GIF and only an animated WebP preset
    frames = samples.numbered_frames(3, (96, 48))
    data = samples.animation("GIF", frames)
    preset = fit_preset(48, name="anim", image_format="webp", animated=True)
    # WHEN
    rendition = make_thumbnails(data, (preset,), DEFAULT_LIMITS)
    # THEN the placeholder is the first frame's shape and colour
    picture = thumbhash_to_image(_decoded(rendition.placeholder))
    assert approximate_aspect_ratio(_decoded(rendition.placeholder)) == pytest.approx(2, rel=0.3)
    assert np.abs(_mean_rgb(picture) - _mean_rgb(frames[0])).max() <= 12


def test_a_heic_gets_a_placeholder_too():
    # GIVEN an upright-by-transform HEIC  WHEN  THEN its placeholder is landscape like the upright picture
    data = heic(samples.stored_for_orientation(samples.quadrants(64, 48), 6), orientation=6)
    rendition = make_thumbnails(data, DEFAULT_PRESETS, DEFAULT_LIMITS)
    assert approximate_aspect_ratio(_decoded(rendition.placeholder)) > 1
