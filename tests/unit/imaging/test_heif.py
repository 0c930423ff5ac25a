"""HEIC/HEIF input: sniffed from the bytes, capped before decode, upright exactly once, sRGB, no metadata out.

The inputs are encoded here with pillow-heif (dev only) as an iPhone writes them; the engine decodes them with
pi-heif, the decode-only library the layer ships.
"""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from tests.builders import DEFAULT_LIMITS, DEFAULT_PRESETS, limits_with
from thumbnailer.imaging.engine import make_thumbnails, plan
from thumbnailer.imaging.rejections import ImageRejected, RejectReason
from thumbnailer.imaging.sniff import identify

from . import colour_science as cs
from . import samples
from .heif_samples import heic, heic_with_exif_orientation_only, with_declared_size
from .samples import cover_preset, decode, fit_preset
from .test_colour import RGB_PATCHES, _delta_e, _patch_strip
from .test_privacy import EXIF, FORBIDDEN, FORBIDDEN_INFO, XMP

UPRIGHT = samples.quadrants(64, 48)
QUADRANT_TOLERANCE = 40  # HEVC at q95 on flat quadrants, measured in each quadrant's middle


def _quadrant_colours(image):
    rgb = image.convert("RGB")
    width, height = rgb.size
    points = [(width // 4, height // 4), (3 * width // 4, height // 4), (width // 4, 3 * height // 4)]
    return [rgb.getpixel(point) for point in points]


def _near(actual, expected, tolerance=QUADRANT_TOLERANCE):
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def test_heic_is_sniffed_from_its_brand_not_its_name():
    # GIVEN a HEIC as pillow-heif writes it (major brand heic, compatible mif1)
    data = heic(UPRIGHT)
    # WHEN  THEN the bytes say HEIF, not AVIF (which shares the ISO-BMFF container)
    assert data[4:12] == b"ftypheic"
    assert identify(data) == "heif"
    assert identify(samples.encoded(UPRIGHT, "AVIF")) == "avif"


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_is_applied_exactly_once(orientation):
    # GIVEN a HEIC stored turned or mirrored, with the container's irot/imir AND the EXIF tag saying so
    stored = samples.stored_for_orientation(UPRIGHT, orientation)
    data = heic(stored, orientation=orientation)
    if orientation != 1:
        assert b"irot" in data or b"imir" in data
    # WHEN thumbnailed at its own size
    rendition = make_thumbnails(data, (fit_preset(64),), DEFAULT_LIMITS)
    output = decode(rendition.thumbnails[0].data)
    # THEN it stands upright (turning it again by EXIF would show another quadrant in the corner)
    assert (rendition.source.width, rendition.source.height) == (64, 48)
    assert output.size == (64, 48)
    tl, tr, bl = _quadrant_colours(output)
    assert _near(tl, samples.TOP_LEFT), (orientation, tl)
    assert _near(tr, samples.TOP_RIGHT), (orientation, tr)
    assert _near(bl, samples.BOTTOM_LEFT), (orientation, bl)


def test_the_planned_size_is_the_upright_size_before_any_decode():
    # GIVEN a portrait HEIC stored sideways (orientation 6)
    data = heic(samples.stored_for_orientation(UPRIGHT, 6), orientation=6)
    # WHEN planned  THEN the header already gives the upright size, and no EXIF turn is planned on top
    decode_plan = plan(data, DEFAULT_PRESETS, DEFAULT_LIMITS)
    assert (decode_plan.source.width, decode_plan.source.height) == (64, 48)
    assert decode_plan.orientation == 1


def test_exif_orientation_without_a_container_transform_is_not_applied():
    # GIVEN a HEIC whose EXIF says "turn 90°" but whose container has no transform: the HEIF
    # specification makes the container authoritative, and Apple's and libheif's viewers show it as stored
    data = heic_with_exif_orientation_only(UPRIGHT, 6)
    assert b"irot" not in data
    # WHEN
    output = decode(make_thumbnails(data, (fit_preset(64),), DEFAULT_LIMITS).thumbnails[0].data)
    # THEN it is shown as stored, not turned
    assert output.size == (64, 48)
    assert _near(_quadrant_colours(output)[0], samples.TOP_LEFT)


def test_display_p3_heic_is_converted_to_srgb():
    # GIVEN colour patches in a HEIC tagged Display P3 (what an iPhone writes), encoded near-losslessly
    strip = _patch_strip(RGB_PATCHES)
    data = heic(strip, quality=100, icc_profile=cs.display_p3_profile(), chroma=444)
    expected = cs.rgb_space_to_srgb8(np.array(RGB_PATCHES, dtype=float), cs.DISPLAY_P3_PRIMARIES, cs.srgb_decode)
    # WHEN thumbnailed at the same size
    output = decode(make_thumbnails(data, (fit_preset(strip.width),), DEFAULT_LIMITS).thumbnails[0].data)
    # THEN every patch is the true sRGB colour (within the lossy-source budget), and no profile is written
    assert "icc_profile" not in output.info
    centre = 48 // 2
    measured = np.array([output.getpixel((i * 48 + centre, centre)) for i in range(len(RGB_PATCHES))], dtype=float)
    assert _delta_e(measured, expected).max() <= 2.5
    # AND reading the numbers as sRGB would have missed by far more
    assert _delta_e(np.array(RGB_PATCHES, dtype=float), expected).max() > 5.0


def test_heic_alpha_is_kept_for_formats_with_alpha():
    # GIVEN a half-transparent HEIC
    data = heic(Image.new("RGBA", (64, 48), (200, 100, 50, 128)))
    # WHEN made into PNG
    output = decode(make_thumbnails(data, (fit_preset(64),), DEFAULT_LIMITS).thumbnails[0].data)
    # THEN the alpha is there
    assert output.mode == "RGBA"
    assert abs(output.getpixel((32, 24))[3] - 128) <= 2


def test_no_heic_metadata_reaches_any_output():
    # GIVEN a HEIC carrying GPS and camera EXIF, XMP and a Display P3 profile
    data = heic(samples.photo(320, 240), exif=EXIF, xmp=XMP, icc_profile=cs.display_p3_profile())
    assert b"SecretCam" in data
    assert b"xmpmeta" in data
    # WHEN every default preset, a PNG and an AVIF are made
    presets = (*DEFAULT_PRESETS, fit_preset(200, name="png-out"), fit_preset(200, name="avif-out", image_format="avif"))
    for thumbnail in make_thumbnails(data, presets, DEFAULT_LIMITS).thumbnails:
        # THEN none of it is in any output
        for marker in FORBIDDEN:
            assert marker not in thumbnail.data, f"{thumbnail.preset.name}: found {marker!r}"
        output = decode(thumbnail.data)
        assert not output.getexif()
        assert not set(FORBIDDEN_INFO) & set(output.info)


def _decoding_is_forbidden(monkeypatch):
    from pi_heif.as_plugin import _LibHeifImageFile

    def refuse(self):
        raise AssertionError("the HEIF pixels were decoded")

    monkeypatch.setattr(_LibHeifImageFile, "load", refuse)


def test_a_heic_over_the_pixel_cap_is_refused_from_its_header(monkeypatch):
    # GIVEN a small HEIC whose header claims 9000x6000 (54 MP, over the 50 MP default cap but under
    # the decoder's own bomb limit), and a decoder that fails the test if asked for pixels
    data = with_declared_size(heic(Image.new("RGB", (64, 64), (10, 200, 30))), 9000, 6000)
    _decoding_is_forbidden(monkeypatch)
    # WHEN  THEN it is refused by the configured cap, before any pixel is decoded
    with pytest.raises(ImageRejected) as refused:
        make_thumbnails(data, DEFAULT_PRESETS, DEFAULT_LIMITS)
    assert refused.value.reason == RejectReason.TOO_MANY_PIXELS
    assert "9000x6000" in refused.value.detail


def test_a_heic_bomb_is_refused_before_decode_even_with_a_generous_cap(monkeypatch):
    # GIVEN a HEIC claiming 30000x20000 (600 MP) and a cap raised above it
    data = with_declared_size(heic(Image.new("RGB", (64, 64), (10, 200, 30))), 30000, 20000)
    _decoding_is_forbidden(monkeypatch)
    # WHEN  THEN Pillow's decompression-bomb guard refuses it from the header, as for every format
    with pytest.raises(ImageRejected) as refused:
        make_thumbnails(data, DEFAULT_PRESETS, limits_with(max_source_pixels=500_000_000))
    assert refused.value.reason == RejectReason.TOO_MANY_PIXELS


def test_a_heic_over_the_byte_cap_is_refused_before_opening(monkeypatch):
    # GIVEN a HEIC one byte over a small byte cap
    data = heic(UPRIGHT)
    # WHEN  THEN
    with pytest.raises(ImageRejected) as refused:
        make_thumbnails(data, DEFAULT_PRESETS, limits_with(max_source_bytes=len(data) - 1))
    assert refused.value.reason == RejectReason.TOO_LARGE


@pytest.mark.parametrize(("cut", "reason"), [(0.5, RejectReason.TRUNCATED), (None, RejectReason.CORRUPT)])
def test_a_broken_heic_is_a_typed_rejection(cut, reason):
    # GIVEN the first half of a HEIC, or one whose coded picture is overwritten
    data = heic(samples.photo(128, 96))
    if cut is not None:
        data = data[: int(len(data) * cut)]
    else:
        at = data.index(b"mdat") + 8
        data = data[:at] + bytes(len(data) - at)
    # WHEN  THEN a typed rejection, never another error
    with pytest.raises(ImageRejected) as refused:
        make_thumbnails(data, DEFAULT_PRESETS, DEFAULT_LIMITS)
    assert refused.value.reason == reason


def test_a_cover_preset_of_a_heic_has_the_preset_size():
    # GIVEN a 4:3 HEIC photo  WHEN a square cover is made  THEN it is the box's size
    data = heic(samples.photo(320, 240))
    rendition = make_thumbnails(data, (cover_preset(96, 96, image_format="jpeg"),), DEFAULT_LIMITS)
    assert decode(rendition.thumbnails[0].data).size == (96, 96)
    assert rendition.source.format == "heif"


LAZY_IMPORT_PROBE = textwrap.dedent(
    """
    import io, sys
    from PIL import Image
    from tests.builders import DEFAULT_LIMITS, DEFAULT_PRESETS
    from thumbnailer.imaging.engine import make_thumbnails
    jpeg = io.BytesIO()
    Image.new("RGB", (64, 48), (1, 2, 3)).save(jpeg, "JPEG")
    make_thumbnails(jpeg.getvalue(), DEFAULT_PRESETS, DEFAULT_LIMITS)
    print("pi_heif" in sys.modules)
    make_thumbnails(open(sys.argv[1], "rb").read(), DEFAULT_PRESETS, DEFAULT_LIMITS)
    print("pi_heif" in sys.modules)
    """
)


def test_the_heif_decoder_is_imported_only_when_a_heif_arrives(tmp_path):
    # GIVEN a fresh interpreter that makes thumbnails of a JPEG, then of a HEIC
    source = tmp_path / "photo.heic"
    source.write_bytes(heic(UPRIGHT))
    # WHEN
    result = subprocess.run(
        [sys.executable, "-c", LAZY_IMPORT_PROBE, str(source)], capture_output=True, text=True, check=False
    )
    # THEN pi-heif was not loaded for the JPEG (cold start and other formats do not pay for it), only for the HEIC
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]
