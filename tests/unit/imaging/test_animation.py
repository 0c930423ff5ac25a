"""Animations: first frame by default, animated WebP on request, bounded by the frame cap when animated."""

import pytest
from PIL import Image

from tests.builders import DEFAULT_LIMITS, DEFAULT_PRESETS, limits_with
from thumbnailer.imaging.engine import make_thumbnails
from thumbnailer.imaging.rejections import ImageRejected, RejectReason

from . import samples
from .samples import decode, fit_preset

FRAMES = samples.numbered_frames(5)
ANIMATIONS = {
    "gif": samples.animation("GIF", FRAMES),
    "webp": samples.animation("WEBP", FRAMES, lossless=True),
    "apng": samples.animation("PNG", FRAMES),
}
ANIMATED = fit_preset(32, name="anim", image_format="webp", animated=True, quality=100)


def _close(actual, expected, tolerance=6):
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


@pytest.mark.parametrize("container", ANIMATIONS)
def test_stills_come_from_the_first_frame(container):
    # GIVEN a 5-frame animation whose frames are different flat colours
    # WHEN the default (still) presets are made
    rendition = make_thumbnails(ANIMATIONS[container], DEFAULT_PRESETS, DEFAULT_LIMITS)
    # THEN the source is animated (its frames not counted), and every output is a still of frame 0
    assert rendition.source.animated
    assert rendition.source.frames is None
    for thumbnail in rendition.thumbnails:
        output = decode(thumbnail.data)
        assert getattr(output, "n_frames", 1) == 1
        assert _close(output.convert("RGB").getpixel((10, 10)), FRAMES[0].getpixel((0, 0)))


@pytest.mark.parametrize("container", ANIMATIONS)
def test_an_animated_preset_keeps_every_frame_and_its_timing(container):
    # GIVEN a 5-frame animation at 80 ms per frame
    # WHEN an animated WebP preset is made beside a still one
    rendition = make_thumbnails(ANIMATIONS[container], (ANIMATED, fit_preset(32, name="still")), DEFAULT_LIMITS)
    animated, still = (decode(thumbnail.data) for thumbnail in rendition.thumbnails)
    # THEN the animated output is a WebP with the 5 frames in order, each lasting 80 ms
    assert animated.format == "WEBP"
    assert animated.n_frames == 5
    assert animated.size == (32, 24)
    for index, frame in enumerate(FRAMES):
        animated.seek(index)
        assert _close(animated.convert("RGB").getpixel((16, 12)), frame.getpixel((0, 0)))
        assert animated.info["duration"] == 80
    # AND the still preset is still frame 0
    assert getattr(still, "n_frames", 1) == 1


def test_an_animated_preset_on_a_still_source_is_a_still_webp():
    # GIVEN a single-frame PNG
    data = samples.png(FRAMES[2])
    # WHEN  THEN the animated preset gives a one-frame WebP of it
    output = decode(make_thumbnails(data, (ANIMATED,), DEFAULT_LIMITS).thumbnails[0].data)
    assert getattr(output, "n_frames", 1) == 1
    assert _close(output.convert("RGB").getpixel((5, 5)), FRAMES[2].getpixel((0, 0)))


@pytest.mark.parametrize("container", ANIMATIONS)
def test_more_frames_than_the_cap_is_refused_only_when_animating(container):
    # GIVEN a 5-frame animation and a frame cap of 4
    data = ANIMATIONS[container]
    # WHEN an animated preset is asked for  THEN it is refused before decoding; at a cap of 5 it is accepted
    with pytest.raises(ImageRejected) as refused:
        make_thumbnails(data, (ANIMATED,), limits_with(max_frames=4))
    assert refused.value.reason == RejectReason.TOO_MANY_FRAMES
    assert make_thumbnails(data, (ANIMATED,), limits_with(max_frames=5)).source.frames == 5
    # WHEN only stills are asked for  THEN the cap does not apply: they come from frame 0
    assert make_thumbnails(data, DEFAULT_PRESETS, limits_with(max_frames=4)).source.animated


def test_animating_counts_the_pixels_of_every_frame_against_the_pixel_cap():
    # GIVEN 5 frames of 64x48 (3072 px each, 15360 px in all) and a cap between the two
    limits = limits_with(max_source_pixels=10_000)
    data = ANIMATIONS["gif"]
    # WHEN stills are asked for  THEN only frame 0 is decoded, within the cap
    assert make_thumbnails(data, (fit_preset(32),), limits).source.animated
    # WHEN an animation is asked for  THEN all 5 frames would be decoded: over the cap
    with pytest.raises(ImageRejected) as refused:
        make_thumbnails(data, (ANIMATED,), limits)
    assert refused.value.reason == RejectReason.TOO_MANY_PIXELS


def test_zero_delay_gif_frames_play_at_browser_speed():
    # GIVEN a GIF whose frames have no delay (browsers show them for 100 ms)
    data = samples.animation("GIF", FRAMES[:3], duration_ms=0)
    # WHEN animated  THEN each output frame lasts 100 ms rather than flashing by
    output = decode(make_thumbnails(data, (ANIMATED,), DEFAULT_LIMITS).thumbnails[0].data)
    assert output.n_frames == 3
    assert output.info["duration"] == 100


def test_transparent_gif_animation_keeps_transparency():
    # GIVEN an animated GIF with a transparent background around a moving square
    frames = []
    for index in range(3):
        frame = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
        frame.paste((200, 40, 40, 255), (index * 10, 10, index * 10 + 10, 20))
        frames.append(frame)
    data = samples.animation("GIF", frames, disposal=2)
    # WHEN animated  THEN the output frames have alpha: transparent background, opaque square
    output = decode(
        make_thumbnails(data, (fit_preset(40, image_format="webp", animated=True),), DEFAULT_LIMITS).thumbnails[0].data
    )
    output.seek(2)
    frame = output.convert("RGBA")
    assert frame.getpixel((35, 35))[3] == 0
    assert frame.getpixel((25, 15))[3] == 255
    assert frame.getpixel((5, 15))[3] == 0  # frame 0's square was disposed, not left behind
