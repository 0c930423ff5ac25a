"""Smart crop and crop gravity: where a `cover` preset's window goes.

The quality figures come from a generated set whose subject sits off-centre (subjects.py). They are not
timed; the cost is in the benchmark (`make bench`, docs/benchmark.md).
"""

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tests.builders import DEFAULT_LIMITS
from thumbnailer.imaging.engine import make_thumbnails
from thumbnailer.imaging.geometry import place
from thumbnailer.imaging.presets import Preset
from thumbnailer.imaging.smartcrop import saliency, smart_box

from . import samples
from .samples import cover_preset, decode, fit_preset
from .subjects import KINDS, kept_fraction, off_centre_subjects

SET_SIZE = 24
SMART_AVERAGE_GOAL = 0.9
SQUARE = Preset(name="square", width=128, height=128, mode="cover", gravity="smart")


def _rendition_like(image):
    """A 256-px `fit` rendition, the smallest whole picture the default presets make before the square."""
    scale = 256 / max(image.size)
    return image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)


def _kept(subject):
    placement = place(SQUARE, subject.image.size)
    smart = smart_box(saliency(_rendition_like(subject.image)), subject.image.size, placement.box)
    return kept_fraction(subject.box, smart), kept_fraction(subject.box, placement.box)


def test_smart_crop_keeps_the_off_centre_subject_and_the_centre_crop_does_not():
    # GIVEN pictures whose subject (a face, a flower or a grey gadget) sits well away from the middle
    subjects = off_centre_subjects(SET_SIZE)
    # WHEN each is cropped to a square, smartly and in the centre
    kept = [_kept(subject) for subject in subjects]
    smart = [pair[0] for pair in kept]
    centre = [pair[1] for pair in kept]
    # THEN the smart crops keep at least 90 % of the subject's box on average, for every kind of subject,
    # and the centre crops visibly less
    assert np.mean(smart) >= SMART_AVERAGE_GOAL, smart
    for kind in KINDS:
        of_kind = [value for value, subject in zip(smart, subjects, strict=True) if subject.kind == kind]
        assert np.mean(of_kind) >= SMART_AVERAGE_GOAL, (kind, of_kind)
    assert np.mean(centre) <= np.mean(smart) - 0.2, (np.mean(centre), np.mean(smart))


def test_a_picture_where_nothing_stands_out_is_cropped_exactly_in_the_centre():
    # GIVEN a flat grey picture and a smooth gradient
    for image in (Image.new("RGB", (900, 600), (120, 120, 120)), Image.linear_gradient("L").resize((900, 600))):
        placement = place(SQUARE, image.size)
        # WHEN  THEN the smart box is the centre box
        assert smart_box(saliency(image.convert("RGB")), image.size, placement.box) == pytest.approx(placement.box)


def test_a_transparent_area_does_not_attract_the_crop():
    # GIVEN a sharp pattern on the left that is fully transparent, and a plain disc on the right that is visible
    image = Image.new("RGBA", (900, 600), (200, 200, 200, 255))
    draw = ImageDraw.Draw(image)
    for x in range(0, 300, 12):
        draw.line((x, 0, x, 600), fill=(0, 0, 0, 0), width=4)
    draw.ellipse((650, 200, 850, 400), fill=(200, 40, 40, 255))
    placement = place(SQUARE, image.size)
    # WHEN
    left = smart_box(saliency(image), image.size, placement.box)[0]
    # THEN the window moved right, towards the visible disc
    assert left > placement.box[0]


def test_the_engine_crops_where_the_smart_box_is():
    # GIVEN a picture with its subject on the right, and the default-like presets with a smart square
    subject = off_centre_subjects(1)[0]
    data = samples.jpeg(subject.image, quality=95)
    presets = (fit_preset(256, name="w256", image_format="png"), cover_preset(128, 128, gravity="smart"))
    # WHEN made
    output = decode(make_thumbnails(data, presets, DEFAULT_LIMITS).thumbnails[1].data).convert("RGB")
    # THEN the square shows the smart box's region of the source, not the centre's
    placement = place(SQUARE, subject.image.size)
    smart = smart_box(saliency(_rendition_like(subject.image)), subject.image.size, placement.box)
    assert smart != placement.box

    def difference(box):
        expected = subject.image.resize((128, 128), Image.Resampling.LANCZOS, box=box)
        return np.abs(np.asarray(output, dtype=float) - np.asarray(expected, dtype=float)).mean()

    assert difference(smart) < difference(placement.box) / 2


@pytest.mark.parametrize(
    ("gravity", "corner_colour"),
    [("left", samples.TOP_LEFT), ("right", samples.TOP_RIGHT), ("center", None)],
)
def test_edge_gravity_keeps_that_edge(gravity, corner_colour):
    # GIVEN a wide picture of four coloured quadrants
    data = samples.png(samples.quadrants(400, 100))
    # WHEN a square is cut with the gravity
    preset = cover_preset(50, 50, gravity=gravity)
    output = decode(make_thumbnails(data, (preset,), DEFAULT_LIMITS).thumbnails[0].data).convert("RGB")
    # THEN its top-left pixel comes from that edge of the picture (the centre crop straddles the middle)
    top_left = output.getpixel((2, 2))
    if corner_colour is None:
        assert output.getpixel((2, 2)) == samples.TOP_LEFT
        assert output.getpixel((47, 2)) == samples.TOP_RIGHT
    else:
        assert top_left == corner_colour


@pytest.mark.parametrize(
    ("gravity", "expected_top"),
    [("top", 0.0), ("bottom", 300.0), ("center", 150.0), ("left", 150.0), ("smart", 150.0)],
)
def test_gravity_places_the_planned_crop(gravity, expected_top):
    # GIVEN a tall source and a square cover  WHEN placed  THEN the window starts where the gravity says
    placement = place(Preset(name="s", width=100, height=100, mode="cover", gravity=gravity), (300, 600))
    assert placement.box == (0.0, expected_top, 300.0, expected_top + 300.0)
    assert placement.smart == (gravity == "smart")


def test_a_smart_preset_and_a_centre_preset_of_the_same_size_are_two_outputs():
    # GIVEN a smart and a centre square of the same size, of a picture with its subject at one side
    subject = off_centre_subjects(1)[0]
    presets = (cover_preset(96, 96, name="centre"), cover_preset(96, 96, name="smart", gravity="smart"))
    # WHEN made  THEN they differ (the same size does not make them one rendition)
    centre, smart = make_thumbnails(samples.jpeg(subject.image), presets, DEFAULT_LIMITS).thumbnails
    assert centre.data != smart.data


def test_importing_the_engine_loads_neither_smart_crop_nor_the_heif_decoder():
    # GIVEN a fresh interpreter  WHEN the engine is imported  THEN the optional parts wait until they are needed
    probe = (
        "import sys, thumbnailer.imaging.engine;"
        "print('thumbnailer.imaging.smartcrop' in sys.modules, 'pi_heif' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]
