"""Name a file's format from its first bytes, without running any decoder.

Pillow decides whether an allowed format really decodes; this module only explains a
refusal: bytes that look like another image format are `unsupported_format`, anything
else is `not_an_image`. Names are lower-case, matching `SourceInfo.format` for the formats
the engine decodes.
"""

from __future__ import annotations

# Only the first bytes are ever inspected: enough for every signature below and for an
# SVG's XML prolog, comments and doctype before the root element.
HEAD_BYTES = 1024

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"II+\x00", "tiff"),  # BigTIFF
    (b"MM\x00+", "tiff"),
    (b"8BPS", "psd"),
    (b"%PDF", "pdf"),
    (b"%!PS", "eps"),
    (b"\xc5\xd0\xd3\xc6", "eps"),  # DOS EPS binary header
    (b"\x00\x00\x01\x00", "ico"),
    (b"\x00\x00\x02\x00", "cur"),
    (b"icns", "icns"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "jpeg2000"),
    (b"\xff\x4f\xff\x51", "jpeg2000"),
    (b"\xff\x0a", "jpegxl"),
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n", "jpegxl"),
    (b"qoif", "qoi"),
    (b"DDS ", "dds"),
    (b"gimp xcf", "xcf"),
    (b"\x76\x2f\x31\x01", "exr"),
    (b"#?RADIANCE", "hdr"),
    (b"\x0a\x05\x01\x08", "pcx"),
)

# How people write a format's name, where it is not simply the name in capitals.
_DISPLAY_NAMES = {"webp": "WebP", "jpeg2000": "JPEG 2000", "jpegxl": "JPEG XL"}

# ISO base media (HEIF family) brands, read from the `ftyp` box.
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"mif2"})


def _iso_brands(head: bytes) -> set[bytes]:
    """Major and compatible brands of an ISO-BMFF `ftyp` box at the start of the file, or empty."""
    if head[4:8] != b"ftyp" or len(head) < 16:
        return set()
    box_size = int.from_bytes(head[0:4], "big")
    end = min(max(box_size, 16), len(head))
    brands = {head[8:12]}
    brands.update(head[offset : offset + 4] for offset in range(16, end - 3, 4))
    return brands


def _looks_like_svg(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"<svg"):
        return True
    return text.startswith((b"<?xml", b"<!--", b"<!doctype svg")) and b"<svg" in text


def identify(data: bytes) -> str | None:
    """The format the leading bytes claim, or None when they look like no image format at all."""
    head = data[:HEAD_BYTES]
    for signature, name in _SIGNATURES:
        if head.startswith(signature):
            return name
    if head[0:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    brands = _iso_brands(head)
    if brands & _AVIF_BRANDS:
        return "avif"
    if brands & _HEIF_BRANDS:
        return "heif"
    if _looks_like_svg(head):
        return "svg"
    return None


def display_name(image_format: str) -> str:
    """A format's name as people write it ("PNG", "WebP"), for rejection details."""
    return _DISPLAY_NAMES.get(image_format, image_format.upper())


def _iso_boxes_end_early(data: bytes) -> bool:
    """True when a top-level ISO-BMFF box claims more bytes than the file has."""
    offset = 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        header = 8
        if size == 1:  # 64-bit size follows the type
            if offset + 16 > len(data):
                return True
            size, header = int.from_bytes(data[offset + 8 : offset + 16], "big"), 16
        elif size == 0:  # box runs to the end of the file
            return False
        if size < header:
            return False  # malformed, not short: let the decoder call it corrupt
        offset += size
    return offset > len(data)


def ends_early(image_format: str, data: bytes) -> bool:
    """Whether the bytes stop before the container says they should (a cut-short upload).

    Used only to explain a decoder failure: Pillow says "truncated" for JPEG, PNG and GIF,
    but a short WebP, AVIF or HEIF fails as a generic decoder error.
    """
    match image_format:
        case "webp":
            return int.from_bytes(data[4:8], "little") + 8 > len(data)
        case "avif" | "heif":
            return _iso_boxes_end_early(data)
        case "png":
            return b"IEND" not in data[-64:]
        case "gif":
            return not data.rstrip(b"\x00").endswith(b";")
        case "jpeg":
            return b"\xff\xd9" not in data[-1024:]
        case _:
            return False
