"""HEIC test inputs, encoded in the test with pillow-heif (a dev-only dependency; the layer decodes with pi-heif).

pillow-heif bundles the x265 HEVC encoder (GPL), which is why it is only a test and demo tool here and
never in the Lambda layer. Encoded the way an iPhone writes them: EXIF orientation N makes the encoder
store the pixels as given and add the container transforms (`irot`/`imir`) that display them turned, and
the EXIF block keeps the orientation tag too.
"""

from __future__ import annotations

import io

import pillow_heif
from PIL import Image
from pillow_heif.constants import HeifCompressionFormat
from pillow_heif.misc import CtxEncode

from . import samples


def heic(
    stored: Image.Image,
    *,
    orientation: int | None = None,
    quality: int = 95,
    exif: bytes | None = None,
    **params: object,
) -> bytes:
    """`stored` pixels as a HEIC; with `orientation`, the container's transforms and EXIF both say it."""
    if orientation is not None and exif is None:
        exif = samples.exif_bytes(orientation=orientation)
    if exif is not None:
        params["exif"] = exif
    buffer = io.BytesIO()
    pillow_heif.from_pillow(stored).save(buffer, quality=quality, **params)
    return buffer.getvalue()


def heic_with_exif_orientation_only(stored: Image.Image, orientation: int) -> bytes:
    """A HEIC whose EXIF says `orientation` but whose container has no transform (as some converters write)."""
    context = CtxEncode(HeifCompressionFormat.HEVC, quality=95)
    context.add_image(
        stored.size,
        stored.mode,
        stored.tobytes(),
        image_orientation=1,
        exif=samples.exif_bytes(orientation=orientation),
        primary=True,
    )
    buffer = io.BytesIO()
    context.save(buffer)
    return buffer.getvalue()


def with_declared_size(data: bytes, width: int, height: int) -> bytes:
    """The same HEIC claiming another size in its `ispe` box (a bomb's header). Needs a single-image HEIC
    whose sides are multiples of 64, so the encoder wrote no `clap` crop that would override the claim."""
    at = data.index(b"ispe")
    assert data.count(b"ispe") == 1, "expected a single image"
    assert b"clap" not in data, "expected no crop box (sides that are multiples of 64)"
    return data[: at + 8] + width.to_bytes(4, "big") + height.to_bytes(4, "big") + data[at + 16 :]
