"""Frames are counted only for an animated preset: still thumbnails of an animation cost one frame's work."""

import io
from datetime import UTC, datetime

import pytest
from PIL import Image

from tests.builders import DEFAULT_LIMITS, DEFAULT_PRESETS, limits_with
from thumbnailer.imaging import engine
from thumbnailer.imaging.engine import make_thumbnails
from thumbnailer.imaging.presets import Limits
from thumbnailer.imaging.rejections import ImageRejected, RejectReason
from thumbnailer.manifest import SourceFacts, complete_manifest

from . import samples
from .samples import decode, fit_preset

FIRST = (200, 30, 30)
ANIMATED = fit_preset(16, name="anim", image_format="webp", animated=True)
NOW = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)


def _gif(frames: int) -> bytes:
    """A GIF of `frames` 8x6 frames: the first red, then blue and green by turns (so none merge)."""
    colours = [FIRST] + [(30, 30, 200) if index % 2 else (30, 200, 30) for index in range(1, frames)]
    return samples.animation("GIF", [Image.new("RGB", (8, 6), colour) for colour in colours])


class CountingBytesIO(io.BytesIO):
    """The engine's in-memory source stream, counting every read Pillow makes from it."""

    reads = 0

    def read(self, size: int | None = -1) -> bytes:
        CountingBytesIO.reads += 1
        return super().read(size)


def _reads_to_make(data: bytes, limits: Limits, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(engine, "BytesIO", CountingBytesIO)
    CountingBytesIO.reads = 0
    make_thumbnails(data, DEFAULT_PRESETS, limits)
    return CountingBytesIO.reads


def _manifest_source(data: bytes, presets) -> dict:
    rendition = make_thumbnails(data, presets, DEFAULT_LIMITS)
    facts = SourceFacts(bucket="b", key="k", etag="e", version_id=None, sequencer=None, size=len(data))
    keys = [f"k/{preset.name}" for preset in presets]
    manifest = complete_manifest(source=facts, rendition=rendition, variant_keys=keys, generated_at=NOW)
    return manifest["source"]


def test_an_animation_over_the_frame_cap_still_gets_first_frame_stills():
    # GIVEN a 150-frame GIF, over the default cap of 100 frames
    data = _gif(150)
    # WHEN only still presets are asked for
    rendition = make_thumbnails(data, DEFAULT_PRESETS, DEFAULT_LIMITS)
    # THEN every preset is a still of the first frame
    for thumbnail in rendition.thumbnails:
        output = decode(thumbnail.data)
        assert getattr(output, "n_frames", 1) == 1
        assert samples.mean_colour(output) == pytest.approx(FIRST, abs=8)
    # AND the source says it is animated, without a frame count it never made
    assert rendition.source.animated
    assert rendition.source.frames is None


def test_an_animated_preset_still_applies_the_frame_cap():
    # GIVEN the same 150-frame GIF
    data = _gif(150)
    # WHEN an animated preset is asked for beside a still one  THEN the frame cap refuses it
    with pytest.raises(ImageRejected) as refused:
        make_thumbnails(data, (ANIMATED, fit_preset(16)), DEFAULT_LIMITS)
    assert refused.value.reason == RejectReason.TOO_MANY_FRAMES
    # AND under a cap that fits, the frames are counted and reported
    assert make_thumbnails(data, (ANIMATED,), limits_with(max_frames=150)).source.frames == 150


def test_still_thumbnails_of_an_animation_do_not_walk_its_frames(monkeypatch):
    # GIVEN GIFs of 50 and of 5,000 tiny frames with the same first two frames, and a cap above both
    limits = limits_with(max_frames=10_000)
    few, many = _gif(50), _gif(5_000)
    # WHEN still thumbnails of each are made, counting the reads from the source stream
    reads_for_few = _reads_to_make(few, limits, monkeypatch)
    reads_for_many = _reads_to_make(many, limits, monkeypatch)
    # THEN the work is the same: nothing past the second frame is read (walking 5,000 frames
    # takes one read per data block of every frame)
    assert reads_for_few > 0
    assert reads_for_many == reads_for_few


@pytest.mark.parametrize(
    ("data", "presets", "expected"),
    [
        (samples.png(Image.new("RGB", (8, 6))), DEFAULT_PRESETS, {"animated": False, "frames": 1}),
        (_gif(5), (ANIMATED,), {"animated": True, "frames": 5}),
        (_gif(5), DEFAULT_PRESETS, {"animated": True}),
    ],
    ids=["still", "animated-counted", "animated-not-counted"],
)
def test_the_manifest_reports_frames_only_when_they_were_counted(data, presets, expected):
    # GIVEN a source and the presets asked for  WHEN the manifest is built
    source = _manifest_source(data, presets)
    # THEN it says whether the source is animated, and gives a frame count only when one was made
    assert {name: source[name] for name in ("animated", "frames") if name in source} == expected
