"""Privacy: nothing but pixels reaches an output. Every input format gets GPS, camera EXIF,
a maker note, XMP, IPTC, comments and an ICC profile planted; no output may carry any of it."""

import pytest
from PIL import Image, PngImagePlugin

from tests.builders import DEFAULT_LIMITS, DEFAULT_PRESETS
from thumbnailer.imaging.engine import make_thumbnails

from . import colour_science as cs
from . import samples
from .samples import decode, fit_preset

XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="51,30.2N"'
    b' xmlns:dc="http://purl.org/dc/elements/1.1/" dc:creator="SECRET-XMP-AUTHOR"/></rdf:RDF></x:xmpmeta>'
)
EXIF = samples.exif_bytes(gps=True, maker_note=b"SECRET-MAKER-NOTE serial 12345")
ICC = cs.display_p3_profile()
SOURCE = samples.photo(320, 240)

# What must never appear in an output's bytes.
FORBIDDEN = [
    b"SECRET",  # every planted text carries this
    b"SecretCam",  # EXIF Make
    b"Exif\x00\x00",  # an EXIF block in any container
    b"xmpmeta",
    b"ns.adobe.com",
    b"Photoshop 3.0",  # IPTC lives in Photoshop's APP13 resources
    b"8BIM",
    b"ICC_PROFILE",  # JPEG APP2
    b"iCCP",  # PNG
    b"ICCP",  # WebP
    b"eXIf",  # PNG
    b"EXIF",  # WebP chunk
    b"XMP ",  # WebP chunk
    b"tEXt",
    b"iTXt",
    b"zTXt",
]
# What must not appear in what Pillow reads back.
FORBIDDEN_INFO = ("exif", "xmp", "icc_profile", "comment", "XML:com.adobe.xmp", "Comment", "Description", "photoshop")


def _iptc_app13(text: bytes) -> bytes:
    """A JPEG APP13 segment with one IPTC record (2:120 caption), as Photoshop writes it."""
    dataset = b"\x1c\x02\x78" + len(text).to_bytes(2, "big") + text
    resource = b"8BIM" + (0x0404).to_bytes(2, "big") + b"\x00\x00" + len(dataset).to_bytes(4, "big") + dataset
    payload = b"Photoshop 3.0\x00" + resource
    return b"\xff\xed" + (len(payload) + 2).to_bytes(2, "big") + payload


def _jpeg():
    data = samples.jpeg(SOURCE, exif=EXIF, icc_profile=ICC, comment=b"SECRET-JPEG-COMMENT", xmp=XMP)
    return data[:2] + _iptc_app13(b"SECRET-IPTC-CAPTION") + data[2:]  # right after SOI


def _png():
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "SECRET-PNG-COMMENT")
    text.add_text("Description", "SECRET-PNG-ZTXT", zip=True)
    text.add_itxt("XML:com.adobe.xmp", XMP.decode())
    return samples.png(SOURCE, exif=EXIF, icc_profile=ICC, pnginfo=text)


def _gif():
    data = samples.gif(SOURCE.quantize(128), comment=b"SECRET-GIF-COMMENT")
    # An XMP application extension (Pillow does not write one) before the first image.
    sub_blocks = b"".join(bytes([len(chunk)]) + chunk for chunk in (XMP[i : i + 255] for i in range(0, len(XMP), 255)))
    extension = b"\x21\xff\x0bXMP DataXMP" + sub_blocks + b"\x00"
    flags = data[10]
    first_block = 13 + (3 * 2 ** ((flags & 0x07) + 1) if flags & 0x80 else 0)
    return data[:first_block] + extension + data[first_block:]


INPUTS = {
    "jpeg": _jpeg,
    "png": _png,
    "webp": lambda: samples.webp(SOURCE, lossless=False, exif=EXIF, icc_profile=ICC, xmp=XMP),
    "gif": _gif,
    "avif": lambda: samples.encoded(SOURCE, "AVIF", exif=EXIF, icc_profile=ICC, xmp=XMP),
    "animated-webp": lambda: samples.animation(
        "WEBP", [SOURCE, SOURCE.transpose(Image.Transpose.FLIP_LEFT_RIGHT)], exif=EXIF, icc_profile=ICC, xmp=XMP
    ),
}
PRESETS = (
    *DEFAULT_PRESETS,
    fit_preset(200, name="png-out"),
    fit_preset(200, name="progressive", image_format="jpeg", progressive=True),
    fit_preset(200, name="animated", image_format="webp", animated=True),
)


@pytest.mark.parametrize("source_format", INPUTS)
def test_no_metadata_survives_into_any_output(source_format):
    # GIVEN an input of this format carrying GPS, EXIF, a maker note, XMP, IPTC, comments, ICC
    data = INPUTS[source_format]()
    assert b"SECRET" in data or b"Exif" in data  # the planting worked
    # WHEN every kind of output is made
    rendition = make_thumbnails(data, PRESETS, DEFAULT_LIMITS)
    for thumbnail in rendition.thumbnails:
        # THEN no output carries any of it, neither in its bytes nor in what a decoder reads
        for marker in FORBIDDEN:
            assert marker not in thumbnail.data, f"{thumbnail.preset.name}: found {marker!r}"
        output = decode(thumbnail.data)
        assert not output.getexif()
        assert not set(FORBIDDEN_INFO) & set(output.info), f"{thumbnail.preset.name}: {sorted(output.info)}"


def test_the_planted_metadata_is_visible_to_pillow():
    # GIVEN the planted JPEG  WHEN Pillow reads it  THEN it sees GPS, XMP, ICC and the comment,
    # so the test above would catch any of them leaking
    source = decode(_jpeg())
    assert source.getexif().get_ifd(0x8825)
    assert {"xmp", "icc_profile", "comment"} <= set(source.info)
