"""The engine end to end: bytes in, thumbnails out, for every allowed format and the core rules."""

import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile, PngImagePlugin

from tests.builders import DEFAULT_LIMITS, DEFAULT_PRESETS, limits_with
from thumbnailer.imaging.engine import make_thumbnails, plan
from thumbnailer.imaging.rejections import ImageRejected, RejectReason

from . import samples
from .samples import BOTTOM_LEFT, BOTTOM_RIGHT, TOP_LEFT, TOP_RIGHT, cover_preset, decode, fit_preset

LIMITS = DEFAULT_LIMITS
PHOTO = samples.photo(640, 480)


def _close(actual, expected, tolerance):
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


@pytest.mark.parametrize(
    ("source_format", "data"),
    [
        ("jpeg", samples.jpeg(PHOTO)),
        ("png", samples.png(PHOTO)),
        ("webp", samples.webp(PHOTO)),
        ("gif", samples.gif(PHOTO.quantize(256))),
        ("avif", samples.encoded(PHOTO, "AVIF", quality=90)),
    ],
)
def test_every_allowed_format_becomes_every_default_preset(source_format, data):
    # GIVEN a 640x480 photo in an allowed format
    # WHEN the default presets are made
    rendition = make_thumbnails(data, DEFAULT_PRESETS, LIMITS)
    # THEN the source is described from its bytes
    assert rendition.source.format == source_format
    assert (rendition.source.width, rendition.source.height, rendition.source.frames) == (640, 480, 1)
    # AND each output is the preset's format and size, never upscaled, with the source's colours
    expected_sizes = {"square-128": (128, 128), "w256": (256, 192), "w512": (512, 384), "w1024": (640, 480)}
    assert [thumbnail.preset for thumbnail in rendition.thumbnails] == list(DEFAULT_PRESETS)
    for thumbnail in rendition.thumbnails:
        output = decode(thumbnail.data)
        assert output.format.lower() == thumbnail.preset.format
        assert output.size == (thumbnail.width, thumbnail.height) == expected_sizes[thumbnail.preset.name]
        if thumbnail.preset.mode == "fit":
            assert _close(samples.mean_colour(output), samples.mean_colour(PHOTO), 4.0)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", RejectReason.NOT_AN_IMAGE),
        (b"hello, world\n" * 20, RejectReason.NOT_AN_IMAGE),
        (b"<!DOCTYPE html><html><body><img src=x></body></html>", RejectReason.NOT_AN_IMAGE),
        (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', None),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", None),
        (samples.encoded(PHOTO, "BMP"), None),
        (samples.encoded(PHOTO, "TIFF"), None),
        (samples.encoded(PHOTO, "PDF"), None),
        (samples.encoded(PHOTO.resize((64, 64)), "ICO"), None),
        (samples.encoded(PHOTO, "EPS"), None),
        (b"8BPS\x00\x01" + bytes(40), None),  # Photoshop
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64), RejectReason.CORRUPT),  # HEIC brand only
        (samples.encoded(PHOTO, "JPEG2000"), None),
        (samples.encoded(PHOTO, "QOI"), None),
    ],
)
def test_anything_but_an_allowed_image_is_refused_by_its_bytes(data, reason):
    # GIVEN bytes that are not an allowed image (None: a known, refused image format)
    expected = reason or RejectReason.UNSUPPORTED_FORMAT
    # WHEN they are offered  THEN they are refused with the typed reason
    with pytest.raises(ImageRejected) as refused:
        make_thumbnails(data, DEFAULT_PRESETS, LIMITS)
    assert refused.value.reason == expected


def test_the_name_does_not_matter_only_the_bytes():
    # GIVEN a PNG whose bytes are all the engine sees (no name is ever passed)
    data = samples.png(PHOTO)
    # WHEN it is thumbnailed  THEN it is recognised as PNG
    assert make_thumbnails(data, DEFAULT_PRESETS, LIMITS).source.format == "png"


def test_bytes_over_the_cap_are_too_large():
    # GIVEN a valid image one byte over a tight byte cap
    data = samples.png(PHOTO)
    limits = limits_with(max_source_bytes=len(data) - 1)
    # WHEN  THEN
    with pytest.raises(ImageRejected) as refused:
        make_thumbnails(data, DEFAULT_PRESETS, limits)
    assert refused.value.reason == RejectReason.TOO_LARGE


def test_pixels_over_the_cap_are_refused_from_the_header():
    # GIVEN a PNG header claiming 20000x20000 pixels with no pixel data behind it
    data = samples.png_header_only(20_000, 20_000)
    # WHEN it is offered  THEN it is refused before decoding (no decode could succeed on it)
    with pytest.raises(ImageRejected) as refused:
        make_thumbnails(data, DEFAULT_PRESETS, LIMITS)
    assert refused.value.reason == RejectReason.TOO_MANY_PIXELS


def test_pixels_over_our_cap_but_under_pillows_threshold_are_refused_before_decoding():
    # GIVEN a PNG header claiming 8000x8000 (64 MP: over our 50 MP cap, under Pillow's 89 MP
    # warning) and no pixel data: decoding it would fail as truncated, and cost 192 MB first
    data = samples.png_header_only(8_000, 8_000)
    # WHEN  THEN the cap refuses it from the header alone
    with pytest.raises(ImageRejected) as refused:
        make_thumbnails(data, DEFAULT_PRESETS, LIMITS)
    assert refused.value.reason == RejectReason.TOO_MANY_PIXELS


def test_pillows_bomb_warning_is_an_error_even_under_a_generous_cap():
    # GIVEN a cap above Pillow's warning threshold (89.5 MP) and a 100 MP header
    limits = limits_with(max_source_pixels=500_000_000)
    data = samples.png_header_only(10_000, 10_000)
    # WHEN  THEN Pillow's decompression-bomb warning refuses it
    with pytest.raises(ImageRejected) as refused:
        make_thumbnails(data, DEFAULT_PRESETS, limits)
    assert refused.value.reason == RejectReason.TOO_MANY_PIXELS


def test_pixel_cap_counts_exactly():
    # GIVEN a 640x480 image and caps one pixel either side of its size
    data = samples.png(PHOTO)
    # WHEN  THEN exactly at the cap is accepted, one under is refused
    assert make_thumbnails(data, DEFAULT_PRESETS, limits_with(max_source_pixels=640 * 480)).source.width == 640
    with pytest.raises(ImageRejected) as refused:
        make_thumbnails(data, DEFAULT_PRESETS, limits_with(max_source_pixels=640 * 480 - 1))
    assert refused.value.reason == RejectReason.TOO_MANY_PIXELS


@pytest.mark.parametrize(
    "data",
    [
        samples.jpeg(PHOTO),
        samples.jpeg(PHOTO, progressive=True),
        samples.png(PHOTO),
        samples.webp(PHOTO),
        samples.webp(PHOTO, lossless=False),
        samples.gif(PHOTO.quantize(64)),
        samples.encoded(PHOTO, "AVIF"),
    ],
    ids=["jpeg", "progressive-jpeg", "png", "webp-lossless", "webp-lossy", "gif", "avif"],
)
@pytest.mark.parametrize("kept", [0.3, 0.7, 0.97])
def test_a_cut_short_upload_is_truncated(data, kept):
    # GIVEN the first part of a valid image
    cut = data[: int(len(data) * kept)]
    # WHEN  THEN
    with pytest.raises(ImageRejected) as refused:
        make_thumbnails(cut, DEFAULT_PRESETS, LIMITS)
    assert refused.value.reason == RejectReason.TRUNCATED


@pytest.mark.parametrize(
    ("data", "marker"),
    [
        (samples.jpeg(PHOTO), b"\xff\xc4"),  # Huffman tables
        (samples.png(PHOTO), b"IDAT"),
        (samples.gif(PHOTO.quantize(64)), b","),  # image descriptor, then LZW data
        (samples.webp(PHOTO, lossless=False), b"VP8 "),
    ],
    ids=["jpeg", "png", "gif", "webp"],
)
def test_garbage_inside_a_valid_container_is_corrupt(data, marker):
    # GIVEN a valid image with the bytes after a structural marker scrambled
    # (libjpeg, like browsers, paints over damage deeper inside JPEG scan data instead)
    broken = bytearray(data)
    start = data.index(marker) + 8
    for index in range(start, start + 64):
        broken[index] ^= 0x5A
    # WHEN  THEN
    with pytest.raises(ImageRejected) as refused:
        make_thumbnails(bytes(broken), DEFAULT_PRESETS, LIMITS)
    assert refused.value.reason == RejectReason.CORRUPT


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("container", ["jpeg", "png", "webp"])
def test_exif_orientation_makes_the_output_upright(orientation, container):
    # GIVEN an upright 803x401 quadrant image stored rotated/flipped with an EXIF orientation tag
    # (803x401: not a multiple of 8, so a JPEG shrink leaves a part-pixel edge to map correctly)
    upright = samples.quadrants(803, 401)
    stored = samples.stored_for_orientation(upright, orientation)
    exif = samples.exif_bytes(orientation=orientation)
    encoders = {"jpeg": samples.jpeg, "png": samples.png, "webp": samples.webp}
    data = encoders[container](stored, exif=exif)
    presets = (fit_preset(100, name="small"), fit_preset(400, name="large", image_format="jpeg"))
    # WHEN thumbnails are made
    rendition = make_thumbnails(data, presets, LIMITS)
    # THEN the source reads upright and every output is upright with the rotated dimensions
    assert (rendition.source.width, rendition.source.height) == (803, 401)
    for thumbnail in rendition.thumbnails:
        output = decode(thumbnail.data)
        assert output.width > output.height
        quarter_w, quarter_h = output.width // 4, output.height // 4
        assert _close(output.convert("RGB").getpixel((quarter_w, quarter_h)), TOP_LEFT, 12)
        assert _close(output.convert("RGB").getpixel((3 * quarter_w, quarter_h)), TOP_RIGHT, 12)
        assert _close(output.convert("RGB").getpixel((quarter_w, 3 * quarter_h)), BOTTOM_LEFT, 12)
        assert _close(output.convert("RGB").getpixel((3 * quarter_w, 3 * quarter_h)), BOTTOM_RIGHT, 12)
        # AND no orientation tag (or any EXIF) is carried over to be applied twice
        assert 0x0112 not in output.getexif()


def test_jpeg_is_decoded_shrunk_for_small_presets():
    # GIVEN a 4000x3000 JPEG
    data = samples.jpeg(Image.new("RGB", (4000, 3000), (90, 120, 150)))
    # WHEN the plan is made for the default presets (largest 1024 wide) and for thumbnails only
    default_plan = plan(data, DEFAULT_PRESETS, LIMITS)
    tiny_plan = plan(data, (cover_preset(128, 128),), LIMITS)
    # THEN the decoder shrinks as far as the largest output allows
    assert default_plan.draft_scale == 2
    assert tiny_plan.draft_scale == 8


def test_alpha_is_flattened_onto_the_preset_background_for_jpeg_and_kept_for_png_and_webp():
    # GIVEN a half-transparent red square on a fully transparent canvas
    source = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    source.paste((255, 0, 0, 128), (50, 50, 150, 150))
    presets = (
        fit_preset(100, name="white", image_format="jpeg"),
        fit_preset(100, name="navy", image_format="jpeg", background="#000080"),
        fit_preset(100, name="png"),
        fit_preset(100, name="webp", image_format="webp", quality=100),
    )
    # WHEN
    outputs = {t.preset.name: decode(t.data) for t in make_thumbnails(samples.png(source), presets, LIMITS).thumbnails}
    # THEN JPEG shows the background where the source was transparent, and a blend where half
    assert outputs["white"].mode == "RGB"
    assert _close(outputs["white"].getpixel((5, 5)), (255, 255, 255), 3)
    assert _close(outputs["white"].getpixel((50, 50)), (255, 127, 127), 6)
    assert _close(outputs["navy"].getpixel((5, 5)), (0, 0, 128), 3)
    assert _close(outputs["navy"].getpixel((50, 50)), (128, 0, 64), 6)
    # AND PNG and WebP keep the alpha channel as it was
    for name in ("png", "webp"):
        assert outputs[name].mode == "RGBA"
        assert outputs[name].getpixel((5, 5))[3] == 0
        assert _close(outputs[name].getpixel((50, 50)), (255, 0, 0, 128), 4)


def test_palette_with_transparency_keeps_its_transparency():
    # GIVEN a palette GIF whose background index is transparent
    source = Image.new("P", (120, 120), 0)
    source.putpalette([0, 0, 0, 200, 30, 30] + [0] * 762)
    source.paste(1, (30, 30, 90, 90))
    data = samples.gif(source, transparency=0)
    # WHEN a PNG is made  THEN the transparent index became alpha, the rest is the palette colour
    output = decode(make_thumbnails(data, (fit_preset(60),), LIMITS).thumbnails[0].data)
    assert output.mode == "RGBA"
    assert output.getpixel((2, 2))[3] == 0
    assert _close(output.getpixel((30, 30)), (200, 30, 30, 255), 2)


def test_cmyk_jpeg_becomes_rgb():
    # GIVEN a CMYK JPEG (Pillow writes Adobe-inverted CMYK) of pure cyan ink
    data = samples.jpeg(Image.new("CMYK", (64, 64), (255, 0, 0, 0)))
    # WHEN  THEN the output is RGB cyan
    output = decode(make_thumbnails(data, (fit_preset(32, image_format="jpeg"),), LIMITS).thumbnails[0].data)
    assert output.mode == "RGB"
    assert _close(output.getpixel((16, 16)), (0, 255, 255), 4)


def test_outputs_carry_no_exif():
    # GIVEN a JPEG with camera EXIF and GPS
    data = samples.jpeg(PHOTO, exif=samples.exif_bytes(gps=True))
    # WHEN  THEN no output has EXIF
    for thumbnail in make_thumbnails(data, DEFAULT_PRESETS, LIMITS).thumbnails:
        assert not decode(thumbnail.data).getexif()
        assert b"Exif" not in thumbnail.data


def test_gray_16_bit_is_scaled_not_clipped():
    # GIVEN a 16-bit greyscale gradient from black to full white
    ramp = np.tile(np.linspace(0, 65535, 256, dtype=np.float64).round().astype(np.uint16), (32, 1))
    data = samples.png(Image.fromarray(ramp))
    # WHEN a same-size PNG is made
    output = decode(make_thumbnails(data, (fit_preset(256),), LIMITS).thumbnails[0].data)
    # THEN the ramp still runs from 0 to 255 (not white from 1/256 onwards)
    row = np.asarray(output.convert("L"))[16]
    assert output.mode == "L"
    assert row[0] == 0
    assert row[-1] == 255
    assert abs(int(row[128]) - 128) <= 2


def test_a_png_text_bomb_is_refused_by_pillows_text_limits():
    # GIVEN a valid PNG carrying a zTXt chunk that inflates to 200 MB (a few hundred KB on disk)
    bomb = zlib.compress(b"\x00" * 200_000_000, 9)
    png = samples.png(PHOTO)
    after_header = 8 + 25  # signature + IHDR chunk
    data = png[:after_header] + samples.png_chunk(b"zTXt", b"Comment\x00\x00" + bomb) + png[after_header:]
    # WHEN  THEN Pillow's MAX_TEXT_CHUNK (kept at its 1 MB default) stops the inflation: corrupt
    assert PngImagePlugin.MAX_TEXT_CHUNK == ImageFile.SAFEBLOCK
    with pytest.raises(ImageRejected) as refused:
        make_thumbnails(data, DEFAULT_PRESETS, LIMITS)
    assert refused.value.reason == RejectReason.CORRUPT
