"""Format from the first bytes: allowed ones by name, known others as refusable, the rest as not images."""

import pytest
from PIL import Image

from tests.builders import DEFAULT_LIMITS, DEFAULT_PRESETS
from thumbnailer.imaging.engine import decode_only
from thumbnailer.imaging.sniff import ends_early, identify

from . import samples

TINY = Image.new("RGB", (8, 8), (10, 20, 30))


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (samples.jpeg(TINY), "jpeg"),
        (samples.png(TINY), "png"),
        (samples.gif(TINY), "gif"),
        (samples.webp(TINY), "webp"),
        (samples.encoded(TINY, "AVIF"), "avif"),
        (b"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1avif", "avif"),  # AVIF under a generic HEIF brand
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "heif"),
        (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic", "heif"),
        (samples.encoded(TINY, "BMP"), "bmp"),
        (samples.encoded(TINY, "TIFF"), "tiff"),
        (b"%PDF-1.7\n", "pdf"),
        (b"%!PS-Adobe-3.0 EPSF-3.0\n", "eps"),
        (b"8BPS\x00\x01", "psd"),
        (b"\xef\xbb\xbf  <svg xmlns='http://www.w3.org/2000/svg'/>", "svg"),
        (b"<?xml version='1.0'?><!-- drawn by hand --><svg/>", "svg"),
        (b"<?xml version='1.0'?><note>not an image</note>", None),
        (b"<!doctype html><title>x</title>", None),
        (b"GIF", None),  # too short to be a GIF signature
        (b"", None),
    ],
)
def test_identify_reads_the_signature(data, expected):
    # GIVEN leading bytes  WHEN identified  THEN the format they claim, or None
    assert identify(data) == expected


@pytest.mark.parametrize("image_format", ["jpeg", "png", "gif", "webp", "avif"])
def test_ends_early_tells_a_cut_file_from_a_whole_one(image_format):
    # GIVEN a whole file of the format and its first half
    whole = samples.encoded(samples.photo(64, 48), image_format.upper())
    # WHEN  THEN only the half is short
    assert not ends_early(image_format, whole)
    assert ends_early(image_format, whole[: len(whole) // 2])


def test_decode_only_is_the_shrunk_upright_decode_the_engine_resamples():
    # GIVEN a portrait 3000x4000 photo stored sideways as a 4000x3000 JPEG (EXIF orientation 6)
    stored = samples.stored_for_orientation(Image.new("RGB", (3000, 4000), (40, 80, 120)), 6)
    data = samples.jpeg(stored, exif=samples.exif_bytes(orientation=6))
    # WHEN decoded for the default presets (largest 1024 wide, upright 3000 wide)
    decoded = decode_only(data, DEFAULT_PRESETS, DEFAULT_LIMITS)
    # THEN the JPEG decoder halved it (1500 >= 1024 covers it) and it stands upright
    assert decoded.size == (1500, 2000)
    assert decoded.mode == "RGB"
