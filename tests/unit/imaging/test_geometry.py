"""Size rules: fit inside, cover with a centre crop, never upscale, never a 0-pixel side."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from thumbnailer.imaging.engine import ORIENTATION_TRANSPOSE
from thumbnailer.imaging.geometry import Placement, jpeg_draft_scale, orient_box, place
from thumbnailer.imaging.presets import MAX_SIDE

from .samples import cover_preset, fit_preset


@pytest.mark.parametrize(
    ("source", "box", "expected"),
    [
        ((4000, 3000), (1024, None), (1024, 768)),
        ((3000, 4000), (1024, None), (1024, 1365)),
        ((4000, 3000), (256, 256), (256, 192)),
        ((3000, 4000), (256, 256), (192, 256)),
        ((100, 80), (1024, None), (100, 80)),  # smaller than the box: kept, not upscaled
        ((100_000, 1), (256, 256), (256, 1)),  # needle: never 0 px
        ((1, 100_000), (256, 256), (1, 256)),
        ((20_000, 2), (256, None), (256, 1)),  # 0.0256 px rounds to 0: clamped to 1
        ((2_000, 50_000), (1024, None), (328, MAX_SIDE)),  # width-only: height capped at MAX_SIDE
    ],
)
def test_fit_keeps_aspect_inside_the_box(source, box, expected):
    # GIVEN a fit preset and a source size
    preset = fit_preset(box[0], box[1])
    # WHEN it is placed
    placement = place(preset, source)
    # THEN the output has the expected size and shows the whole source
    assert placement.size == expected
    assert placement.box == (0.0, 0.0, float(source[0]), float(source[1]))


@pytest.mark.parametrize(
    ("source", "expected_size", "expected_box"),
    [
        ((4000, 3000), (128, 128), (500.0, 0.0, 3500.0, 3000.0)),
        ((3000, 4000), (128, 128), (0.0, 500.0, 3000.0, 3500.0)),
        ((128, 128), (128, 128), (0.0, 0.0, 128.0, 128.0)),
        ((100, 300), (100, 128), (0.0, 86.0, 100.0, 214.0)),  # narrower than the box: crop, no upscale
        ((50, 40), (50, 40), (0.0, 0.0, 50.0, 40.0)),  # smaller in both: whole source, as is
        ((100_000, 1), (128, 1), (49_936.0, 0.0, 50_064.0, 1.0)),
    ],
)
def test_cover_fills_the_box_with_a_centre_crop(source, expected_size, expected_box):
    # GIVEN a 128x128 cover preset
    preset = cover_preset(128, 128)
    # WHEN it is placed
    placement = place(preset, source)
    # THEN the output fills as much of the box as the source allows, cropped around the centre
    assert placement.size == expected_size
    assert placement.box == pytest.approx(expected_box)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(
    source=st.tuples(st.integers(1, 70_000), st.integers(1, 70_000)),
    box=st.tuples(st.integers(1, MAX_SIDE), st.integers(1, MAX_SIDE)),
    cover=st.booleans(),
)
def test_placement_never_upscales_never_zero_never_outside(source, box, cover):
    # GIVEN any source size and any preset box
    preset = cover_preset(*box) if cover else fit_preset(*box)
    # WHEN it is placed
    placement = place(preset, source)
    # THEN the output is 1..box pixels per side, its region lies inside the source,
    # and every output pixel has at least one source pixel behind it
    width, height = placement.size
    assert 1 <= width <= box[0]
    assert 1 <= height <= box[1]
    left, top, right, bottom = placement.box
    assert -1e-6 <= left < right <= source[0] + 1e-6
    assert -1e-6 <= top < bottom <= source[1] + 1e-6
    assert placement.shrink >= 1 - 1e-9 or min(source) < max(1, min(width, height))
    assert right - left >= width - 1e-6 or right - left == source[0]
    assert bottom - top >= height - 1e-6 or bottom - top == source[1]


@pytest.mark.parametrize(
    ("source", "output_width", "expected_scale"),
    [
        ((4000, 3000), 1024, 2),  # 1/4 would leave 1000 px for a 1024 output
        ((4000, 3000), 500, 8),
        ((4000, 3000), 501, 4),
        ((4000, 3000), 4000, 1),
        ((7, 7), 1, 4),  # 7 // 8 == 0 px: the decoder cannot shrink that far
    ],
)
def test_jpeg_draft_scale_is_the_largest_that_leaves_enough_pixels(source, output_width, expected_scale):
    # GIVEN one fit placement
    placement = place(fit_preset(output_width), source)
    # WHEN the DCT shrink is chosen
    scale = jpeg_draft_scale(source, (placement,), min_shrink_left=1.0)
    # THEN it is the expected power of two
    assert scale == expected_scale


def test_draft_scale_serves_the_most_demanding_placement():
    # GIVEN a small and a large placement
    placements = (
        Placement(size=(128, 128), box=(500, 0, 3500, 3000)),
        Placement(size=(1024, 768), box=(0, 0, 4000, 3000)),
    )
    # WHEN the shrink is chosen  THEN the large one decides
    assert jpeg_draft_scale((4000, 3000), placements, min_shrink_left=1.0) == 2


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orient_box_lands_where_pillow_moves_the_pixels(orientation):
    # GIVEN a 10x5 stored image with a lit 3x1 block, and the block's box
    stored = Image.new("L", (10, 5), 0)
    stored.paste(255, (1, 1, 4, 2))
    # WHEN the image is transposed for the orientation, and the box carried through it
    method = ORIENTATION_TRANSPOSE.get(orientation)
    upright = stored.transpose(method) if method is not None else stored
    box = orient_box((1, 1, 4, 2), (10, 5), orientation)
    # THEN the box is exactly where the lit pixels are now
    assert box == upright.getbbox()
