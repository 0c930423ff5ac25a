"""Resampling quality: every variant within 38 dB PSNR of a full-resolution LANCZOS reference.

The engine's speed comes from shrinking JPEGs while decoding, a cheaper filter on a halved
decode, box-reducing before LANCZOS and chaining presets. This test proves none of it costs
visible quality: each preset's pixels are compared with the same region of the fully
decoded source resized once with LANCZOS. Outputs are requested as PNG with the presets'
geometry, so encoder loss does not blur the measurement.
"""

import functools
import io

import numpy as np
import pytest
from PIL import Image, ImageOps

from tests.builders import DEFAULT_LIMITS, DEFAULT_PRESETS
from thumbnailer.imaging.engine import make_thumbnails, plan
from thumbnailer.imaging.geometry import place
from thumbnailer.imaging.presets import COVER, Preset

from . import samples
from .samples import decode

MIN_PSNR_DB = 38.0


def _lossless(*presets):
    """The same geometry as `presets`, encoded losslessly."""
    return tuple(
        Preset(name=f"p{index}", width=preset.width, height=preset.height, mode=preset.mode, format="png")
        for index, preset in enumerate(presets)
    )


PRESET_SETS = {
    "default": _lossless(*DEFAULT_PRESETS),
    # Sets that drive the JPEG decoder to other shrinks (1/4, 1/8) and steps that cannot chain.
    "cover-128-only": _lossless(Preset("x", 128, 128, mode=COVER)),
    "w256-only": _lossless(Preset("x", 256, None)),
    "w700-only": _lossless(Preset("x", 700, None)),
    "banner-400x100": _lossless(Preset("x", 400, 100, mode=COVER)),
    "w1500-only": _lossless(Preset("x", 1500, None)),
    "covers-only": _lossless(Preset("x", 1024, 1024, mode=COVER), Preset("y", 128, 128, mode=COVER)),
}


@functools.cache
def _photo(width, height):
    return samples.photo(width, height, seed=11)


SOURCES = {
    # The benchmark's case: a 12 MP phone-like JPEG (DCT shrink 1/2, then 2000 -> 1024).
    "jpeg-12mp": lambda: samples.jpeg(_photo(4000, 3000), quality=90),
    # Odd size (a part-pixel edge after the DCT shrink) stored rotated (EXIF orientation 6).
    "jpeg-odd-rotated": lambda: samples.jpeg(
        samples.stored_for_orientation(_photo(2999, 2001), 6), quality=90, exif=samples.exif_bytes(orientation=6)
    ),
    "jpeg-progressive": lambda: samples.jpeg(_photo(3000, 2000), quality=90, progressive=True),
    "png": lambda: samples.png(_photo(2400, 1800), compress_level=1),
    "webp": lambda: samples.webp(_photo(2400, 1800), lossless=False, quality=90),
    "gif": lambda: samples.gif(_photo(1600, 1200).quantize(256)),
}
CASES = [(source, "default") for source in SOURCES] + [
    (source, preset_set)
    for source in ("jpeg-12mp", "jpeg-odd-rotated", "jpeg-progressive")
    for preset_set in PRESET_SETS
    if preset_set != "default"
]


@functools.cache
def _source(name):
    return SOURCES[name]()


@functools.cache
def _reference(name):
    """The slow, obviously right way: full decode, upright, RGB."""
    return ImageOps.exif_transpose(Image.open(io.BytesIO(_source(name)))).convert("RGB")


def _psnr(a, b):
    error = np.mean((np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)) ** 2)
    return float("inf") if error == 0 else 10 * np.log10(255**2 / error)


@pytest.mark.parametrize(("source", "preset_set"), CASES)
def test_every_variant_is_within_38_db_of_a_full_resolution_lanczos_reference(source, preset_set):
    # GIVEN a photo-like source and a set of presets
    reference = _reference(source)
    # WHEN they are rendered
    rendition = make_thumbnails(_source(source), PRESET_SETS[preset_set], DEFAULT_LIMITS)
    # THEN each variant matches the reference resized once with LANCZOS from full resolution
    for thumbnail in rendition.thumbnails:
        placement = place(thumbnail.preset, reference.size)
        expected = reference.resize(placement.size, Image.Resampling.LANCZOS, box=placement.box)
        actual = decode(thumbnail.data).convert("RGB")
        assert actual.size == expected.size
        assert _psnr(actual, expected) >= MIN_PSNR_DB, f"{source} {preset_set} {thumbnail.preset.name}"


def test_the_quality_test_can_tell_a_bad_resample():
    # GIVEN the 12 MP JPEG and a deliberately poor thumbnail (nearest neighbour from the 1/8 decode)
    coarse = Image.open(io.BytesIO(_source("jpeg-12mp")))
    coarse.draft("RGB", (500, 375))
    poor = coarse.convert("RGB").resize((256, 192), Image.Resampling.NEAREST)
    # WHEN it is measured like the engine's  THEN it fails the bar, so passing means something
    expected = _reference("jpeg-12mp").resize((256, 192), Image.Resampling.LANCZOS)
    assert _psnr(poor, expected) < MIN_PSNR_DB


def test_the_12mp_jpeg_is_decoded_halved():
    # GIVEN the 12 MP JPEG  WHEN planned  THEN the decoder halves it (2000x1500 covers 1024)
    assert plan(_source("jpeg-12mp"), DEFAULT_PRESETS, DEFAULT_LIMITS).draft_scale == 2


def test_progressive_presets_write_progressive_jpeg():
    # GIVEN a progressive and a baseline JPEG preset
    presets = (
        Preset(name="progressive", width=200, height=None, progressive=True),
        Preset(name="baseline", width=200, height=None),
    )
    # WHEN
    progressive, baseline = make_thumbnails(samples.jpeg(_photo(400, 300)), presets, DEFAULT_LIMITS).thumbnails
    # THEN only the first uses a progressive scan (SOF2 marker)
    assert decode(progressive.data).info.get("progressive") == 1
    assert b"\xff\xc2" in progressive.data
    assert "progressive" not in decode(baseline.data).info
