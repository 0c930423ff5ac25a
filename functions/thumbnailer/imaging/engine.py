"""Source bytes in, encoded thumbnails out: the pure imaging core (no AWS, no I/O).

One upload's path through here:
  1. `_open`: the format is decided from the bytes (sniff.py); only that one Pillow decoder
     may run, and anything else is refused before any decoder sees it. HEIF's decoder (heif.py)
     is imported only when a HEIF file arrives.
  2. `_plan`: byte, pixel and frame caps checked from the header, before any pixel is
     decoded (frames are counted only when an animated preset needs them); every preset
     becomes a Placement (output size + source region); a JPEG gets the largest DCT shrink
     that still leaves each output enough pixels to resample.
  3. `_decode` (= `decode_only`): decode once (shrunk), upright (EXIF orientation, or for HEIF
     the container's own transforms), 8-bit sRGB.
  4. `_render_stills`: presets largest to smallest, each resampled from the smallest
     earlier result that still has CHAIN_MIN_SHRINK x its pixels, else from the decode; a
     `smart` cover crop is moved to the subject first (smartcrop.py, on the smallest whole
     picture made so far). The placeholder (placeholder.py) is made from the smallest whole
     picture at the end.
  5. encode.py: each output saved with explicit parameters only, so no metadata survives.
Every permanent problem with the bytes surfaces as ImageRejected; anything else is a bug.
"""

from __future__ import annotations

import re
import struct
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from io import BytesIO

from PIL import ExifTags, Image, ImageFile, UnidentifiedImageError

from . import heif
from .colour import to_working_srgb
from .encode import encode_animation, encode_still
from .geometry import Box, Placement, Size, jpeg_draft_scale, orient_box, place, scale_box
from .placeholder import Placeholder, make_placeholder
from .presets import Limits, Preset
from .rejections import ImageRejected, RejectReason
from .sniff import display_name, ends_early, identify

# Format name (as `sniff.identify` and SourceInfo say it) -> the one Pillow decoder allowed for it.
# AVIF: the pinned Pillow wheel bundles libavif, so it is decoded like the others. HEIF: pi-heif (heif.py).
DECODERS: dict[str, str] = {
    "jpeg": "JPEG",
    "png": "PNG",
    "webp": "WEBP",
    "gif": "GIF",
    "avif": "AVIF",
    "heif": heif.DECODER,
}
# Formats whose extra images are not animation frames: a JPEG's MPO previews or stereo views, a HEIF's
# bursts, alternates or stereo pairs. Only the primary image is thumbnailed.
STILL_ONLY_FORMATS = frozenset({"jpeg", "heif"})
# Formats whose decoder turns the image upright itself (libheif applies `irot`/`imir`; pi-heif resets the
# EXIF tag to 1): EXIF orientation is not applied again.
SELF_ORIENTING_FORMATS = frozenset({"heif"})
SUPPORTED_FORMATS = tuple(DECODERS)

# After the JPEG decoder's DCT shrink, every output still gets at least this many decoded
# pixels per output pixel, so the resampling step has real detail to filter.
MIN_SHRINK_AFTER_DRAFT = 1.0
# A preset is resampled from an earlier, smaller result only when that result has at least
# this many pixels per output pixel; closer than that, resampling twice visibly softens.
CHAIN_MIN_SHRINK = 2.0
# Before LANCZOS, Pillow box-reduces by an integer factor while the shrink left over stays
# >= this: most of the speed of a box filter, nearly the quality of LANCZOS. Measured on a
# 12 MP PNG -> default presets: 1.5 is 4x faster than plain LANCZOS at >= 45 dB PSNR; 2.0
# would not reduce at all for the common ~4x shrink.
REDUCING_GAP = 1.5
# A step of under SMALL_STEP_MAX_SHRINK needs less than LANCZOS when its source is already
# band-limited (holds no detail above its own Nyquist limit): libjpeg's 1/2 shrink (a 4x4
# inverse DCT of each block's lowest coefficients, close to an ideal low-pass) and every earlier
# LANCZOS/HAMMING result in the chain get HAMMING (support 1) at under half LANCZOS's cost
# (12 MP -> 1024 px: 12 ms vs 28 ms at 46 dB; the chained 1024 -> 512 -> 256 halvings 44 dB).
# The 1/4 and 1/8 shrinks keep more aliasing (HAMMING after them measured 37-39 dB), so they get
# BICUBIC (support 2; 24 MP at 1/4 -> 1024 px: 12.5 ms vs 17 ms at 46 dB); a full-resolution
# decode, and any bigger step (3x chained HAMMING measured 37 dB), gets LANCZOS.
SMALL_STEP_MAX_SHRINK = 2.5
SMALL_STEP_FILTER_AFTER_DRAFT = {
    1: Image.Resampling.LANCZOS,
    2: Image.Resampling.HAMMING,
    4: Image.Resampling.BICUBIC,
    8: Image.Resampling.BICUBIC,
}
CHAINED_SMALL_STEP_FILTER = Image.Resampling.HAMMING
# The small copy of an animation's first frame kept for a smart crop and the placeholder (long side, pixels).
PREVIEW_SIDE = 64
# GIF frames of 0-1 centiseconds play at 100 ms in every browser; keep that on output.
DEFAULT_FRAME_MS = 100

# The pixel count in Pillow's decompression-bomb message ("Image size (N pixels) exceeds ...").
_BOMB_PIXELS = re.compile(r"\((\d+) pixels\)")

ORIENTATION_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SWAPS_AXES = frozenset({5, 6, 7, 8})


@dataclass(frozen=True)
class SourceInfo:
    """What the source is, as decided from its bytes; width/height are upright (after EXIF orientation).

    `frames` is 1 for a still image. For an animation it is the frame count when an animated
    preset asked for one, and None otherwise: counting a GIF's frames reads the whole file, so
    it is done only when every frame will be decoded anyway. None therefore means "more than
    one frame, not counted", never "unknown whether animated".
    """

    format: str  # one of SUPPORTED_FORMATS
    width: int
    height: int
    frames: int | None

    @property
    def animated(self) -> bool:
        """More than one frame (known without counting them)."""
        return self.frames != 1


@dataclass(frozen=True)
class Thumbnail:
    preset: Preset
    data: bytes
    width: int
    height: int


@dataclass(frozen=True)
class Rendition:
    source: SourceInfo
    thumbnails: tuple[Thumbnail, ...]  # in the order of the presets asked for
    placeholder: Placeholder | None = None  # always set by `make_thumbnails`; None only from stand-in engines


@dataclass(frozen=True)
class DecodePlan:
    """How the engine decodes a source for a set of presets (inspectable, e.g. by benchmarks)."""

    source: SourceInfo
    orientation: int  # EXIF orientation 1-8 (1 when absent or invalid)
    draft_scale: int  # JPEG DCT shrink 1, 2, 4 or 8; always 1 for other formats
    placements: tuple[Placement, ...]  # one per preset, in preset order


@dataclass(frozen=True)
class Decoded:
    """The single decode every still output is resampled from."""

    image: Image.Image  # upright, 8-bit sRGB, mode L/LA/RGB/RGBA
    content: Box  # where the whole upright source lies in `image` (a JPEG shrink can leave a part-pixel edge)
    small_step_filter: Image.Resampling  # for steps under SMALL_STEP_MAX_SHRINK from `image`


@dataclass(frozen=True)
class _Source:
    data: bytes
    format: str  # as sniffed from the bytes, one of SUPPORTED_FORMATS
    image: ImageFile.ImageFile


def _bomb_detail(error: Warning | Exception) -> str:
    """Pillow's decompression-bomb refusal in words. The limit is MAX_IMAGE_PIXELS because
    `_reading` makes Pillow's warning (over it) an error, not only its error (over twice it)."""
    limit = f"the decoder's limit of {Image.MAX_IMAGE_PIXELS:,} (a possible decompression bomb)"
    found = _BOMB_PIXELS.search(str(error))
    if found is None:
        return f"the image has more pixels than {limit}"
    return f"the image has {int(found.group(1)):,} pixels, over {limit}"


@contextmanager
def _reading(source_format: str, data: bytes, part: str) -> Iterator[None]:
    """Pillow's complaints about the source bytes, as typed rejections with a detail for people.

    Wraps only Pillow calls that parse or decode the source, so an error in our own resizing
    or encoding is never mistaken for a bad upload. The decompression-bomb warning is an error.
    `part` names what the wrapped calls read ("header", "pixel data", ...) for a corrupt file's
    detail. Pillow's own messages (exception names, reprs of bytes and objects) stay in the
    chained exception, out of the detail.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageRejected(RejectReason.TOO_MANY_PIXELS, _bomb_detail(error)) from error
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, RuntimeError, IndexError) as error:
        # How Pillow's decoders report bad data: the AVIF decoder raises RuntimeError, the GIF
        # parser IndexError on a cut image descriptor (both found by tests/unit/imaging/test_fuzz.py).
        # Pillow says "image file is truncated" for short JPEG/PNG/GIF; short WebP/AVIF fail
        # generically, so the container's own length fields decide.
        cut_short = "truncated" in str(error).lower() or isinstance(error, EOFError)
        if cut_short or ends_early(source_format, data):
            raise ImageRejected(RejectReason.TRUNCATED, "the image data ends early (truncated file)") from error
        name = display_name(source_format)
        if isinstance(error, UnidentifiedImageError):
            detail = f"the header does not parse as {name}"
        else:
            detail = f"the image data is corrupt (the {name} {part} is malformed)"
        raise ImageRejected(RejectReason.CORRUPT, detail) from error


def _open(data: bytes, limits: Limits) -> _Source:
    """Open with the single decoder the bytes call for; refuse anything else before decoding."""
    if not data:
        raise ImageRejected(RejectReason.NOT_AN_IMAGE, "the object is empty")
    if len(data) > limits.max_source_bytes:
        raise ImageRejected(
            RejectReason.TOO_LARGE,
            f"the file is {len(data):,} bytes, over the limit of {limits.max_source_bytes:,} bytes",
        )
    claimed = identify(data)
    if claimed is None:
        raise ImageRejected(RejectReason.NOT_AN_IMAGE, "the bytes match no image format")
    if claimed not in DECODERS:
        allowed = ", ".join(display_name(name) for name in SUPPORTED_FORMATS)
        raise ImageRejected(
            RejectReason.UNSUPPORTED_FORMAT, f"{display_name(claimed)} images are not accepted (allowed: {allowed})"
        )
    if claimed == "heif":
        heif.register_decoder()
    with _reading(claimed, data, "header"):
        image = Image.open(BytesIO(data), formats=[DECODERS[claimed]])
    return _Source(data=data, format=claimed, image=image)


def _orientation(image: ImageFile.ImageFile) -> int:
    orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    return orientation if orientation in ORIENTATION_TRANSPOSE else 1


def _frame_count(image: ImageFile.ImageFile, source_format: str, *, count: bool) -> int | None:
    """1 for a still; for an animation the number of frames when `count`, else None (see SourceInfo).

    `is_animated` only looks for a second frame. `n_frames` walks every block of a GIF (decoding
    nothing, but reading the whole file), so it is asked only when the frames will be decoded.
    """
    if source_format in STILL_ONLY_FORMATS or not getattr(image, "is_animated", False):
        return 1
    return max(1, int(getattr(image, "n_frames", 1))) if count else None


def _check_caps(image: ImageFile.ImageFile, frames: int | None, limits: Limits) -> None:
    """The pixel cap on one frame; when frames were counted (to animate them), the frame cap and
    the pixel cap across every frame, since animated output decodes them all."""
    width, height = image.size
    pixels, limit = width * height, limits.max_source_pixels
    if pixels > limit:
        raise ImageRejected(
            RejectReason.TOO_MANY_PIXELS,
            f"the image is {width}x{height} ({pixels:,} pixels), over the limit of {limit:,} pixels",
        )
    if frames is None:
        return
    if frames > limits.max_frames:
        raise ImageRejected(
            RejectReason.TOO_MANY_FRAMES,
            f"the animation has {frames:,} frames, over the limit of {limits.max_frames:,} frames",
        )
    if pixels * frames > limit:
        raise ImageRejected(
            RejectReason.TOO_MANY_PIXELS,
            f"{frames:,} frames of {width}x{height} are {pixels * frames:,} pixels to animate,"
            f" over the limit of {limit:,} pixels",
        )


def _plan(opened: _Source, presets: Sequence[Preset], limits: Limits) -> DecodePlan:
    """The caps checked from the header, then orientation, each preset's placement and the decode scale."""
    image, source_format = opened.image, opened.format
    animating = any(preset.animated for preset in presets)
    with _reading(source_format, opened.data, "frame structure"):
        frames = _frame_count(image, source_format, count=animating)
    _check_caps(image, frames, limits)
    # Only now: a PNG whose EXIF does not precede its pixel data is fully decoded to look for it.
    with _reading(source_format, opened.data, "pixel data" if source_format == "png" else "EXIF metadata"):
        orientation = 1 if source_format in SELF_ORIENTING_FORMATS else _orientation(image)
    stored_width, stored_height = image.size
    upright = (stored_height, stored_width) if orientation in _SWAPS_AXES else (stored_width, stored_height)
    source = SourceInfo(format=source_format, width=upright[0], height=upright[1], frames=frames)
    placements = tuple(place(preset, upright) for preset in presets)
    draft_scale = (
        jpeg_draft_scale(image.size, placements, min_shrink_left=MIN_SHRINK_AFTER_DRAFT)
        if source_format == "jpeg"
        else 1
    )
    return DecodePlan(source=source, orientation=orientation, draft_scale=draft_scale, placements=placements)


def _upright_working_frame(image: Image.Image, orientation: int, *, may_modify: bool) -> Image.Image:
    """A loaded frame turned upright and brought to 8-bit sRGB in a working mode."""
    icc_profile = image.info.get("icc_profile")
    method = ORIENTATION_TRANSPOSE.get(orientation)
    upright = image.transpose(method) if method is not None else image
    return to_working_srgb(upright, icc_profile=icc_profile, may_modify=may_modify or upright is not image)


def _decode(opened: _Source, plan: DecodePlan) -> Decoded:
    image = opened.image
    stored_size = image.size
    content: Box = (0.0, 0.0, float(stored_size[0]), float(stored_size[1]))
    with _reading(opened.format, opened.data, "pixel data"):
        if plan.draft_scale > 1:
            scale = plan.draft_scale
            drafted = image.draft(None, (stored_size[0] // scale, stored_size[1] // scale))
            if drafted is not None:
                content = drafted[1]
        image.load()
    decoded_size = image.size
    working = _upright_working_frame(image, plan.orientation, may_modify=not plan.source.animated)
    return Decoded(
        image=working,
        content=orient_box(content, decoded_size, plan.orientation),
        small_step_filter=SMALL_STEP_FILTER_AFTER_DRAFT[plan.draft_scale if image.size != stored_size else 1],
    )


def _resample(image: Image.Image, size: Size, box: Box, *, small_step_filter: Image.Resampling) -> Image.Image:
    shrink = min((box[2] - box[0]) / size[0], (box[3] - box[1]) / size[1])
    if shrink < SMALL_STEP_MAX_SHRINK and small_step_filter != Image.Resampling.LANCZOS:
        resized = image.resize(size, small_step_filter, box=box)
    else:
        resized = image.resize(size, Image.Resampling.LANCZOS, box=box, reducing_gap=REDUCING_GAP)
    resized.info = {}
    return resized


def _region_in(placement: Placement, source: Size, content: Box) -> Box:
    """The placement's source region in the coordinates of an image whose `content` shows the whole source."""
    x = (content[2] - content[0]) / source[0]
    y = (content[3] - content[1]) / source[1]
    return scale_box(placement.box, x=x, y=y, offset=(content[0], content[1]))


def _whole_picture(image: Image.Image, content: Box) -> Image.Image:
    """`image` cut to where the source lies in it (a JPEG shrink can leave a part-pixel edge)."""
    if content == (0.0, 0.0, float(image.width), float(image.height)):
        return image
    left, top, right, bottom = (round(edge) for edge in content)
    return image.crop((left, top, right, bottom))


def _render_stills(
    decoded: Decoded, plan: DecodePlan, placements: Sequence[Placement]
) -> tuple[dict[Placement, Image.Image], Image.Image]:
    """Each distinct placement, largest first, each from the smallest earlier result that is big enough;
    and the smallest image of the whole source made on the way (for the placeholder)."""
    source = (plan.source.width, plan.source.height)
    whole_source = (0.0, 0.0, float(source[0]), float(source[1]))
    # Images showing the whole source, largest first: the decode, then each `fit` result.
    whole_frames: list[tuple[Image.Image, Box]] = [(decoded.image, decoded.content)]
    analyses: dict[int, Callable[[Box], Box]] = {}  # per whole frame analysed (by index), for smart crops
    rendered: dict[Placement, Image.Image] = {}
    for planned in sorted(set(placements), key=lambda each: each.area, reverse=True):
        placement = planned
        if planned.smart:
            index = len(whole_frames) - 1
            if index not in analyses:
                analyses[index] = _smart_mover(_whole_picture(*whole_frames[index]), source)
            placement = replace(planned, box=analyses[index](planned.box))
        image, region = decoded.image, _region_in(placement, source, decoded.content)
        small_step_filter = decoded.small_step_filter
        for candidate, content in reversed(whole_frames[1:]):
            candidate_region = _region_in(placement, source, content)
            shrink_x = (candidate_region[2] - candidate_region[0]) / placement.size[0]
            shrink_y = (candidate_region[3] - candidate_region[1]) / placement.size[1]
            if min(shrink_x, shrink_y) >= CHAIN_MIN_SHRINK:
                image, region, small_step_filter = candidate, candidate_region, CHAINED_SMALL_STEP_FILTER
                break
        result = _resample(image, placement.size, region, small_step_filter=small_step_filter)
        rendered[planned] = result
        if placement.box == whole_source:
            whole_frames.append((result, (0.0, 0.0, float(result.width), float(result.height))))
    return rendered, _whole_picture(*whole_frames[-1])


def _smart_mover(picture: Image.Image, source: Size) -> Callable[[Box], Box]:
    """Where smart crops of `source` go, judged on `picture` (the whole source, any size).

    smartcrop.py is imported here, on the first smart preset: the default presets have none, so cold
    starts do not pay for it (~3 ms of ImageFilter, ImageOps, ImageStat).
    """
    from .smartcrop import saliency, smart_box

    profile = saliency(picture)
    return lambda box: smart_box(profile, source, box)


def _render_animation(
    opened: _Source, plan: DecodePlan, placement: Placement, preset: Preset
) -> tuple[bytes, Image.Image]:
    """Every frame resampled on its own as it is decoded, so memory holds one full-size frame at a time;
    and a small copy of the whole first frame (for a smart crop here, and the placeholder when no still
    is made). A smart crop is placed once, on the first frame, and kept for all of them.

    Only for an animated source with an animated preset, so `_plan` has counted the frames.
    """
    assert plan.source.frames is not None
    source = (plan.source.width, plan.source.height)
    frames: list[Image.Image] = []
    durations: list[int] = []
    loop = 0
    image = opened.image
    first_frame = None
    for index in range(plan.source.frames):
        with _reading(opened.format, opened.data, f"frame {index + 1}"):
            image.seek(index)
            image.load()
        loop = image.info.get("loop", loop)
        durations.append(int(image.info.get("duration") or DEFAULT_FRAME_MS))
        frame = _upright_working_frame(image, plan.orientation, may_modify=False)
        if first_frame is None:
            first_frame = _preview(frame)
            if placement.smart:
                placement = replace(placement, box=_smart_mover(first_frame, source)(placement.box))
        frames.append(_resample(frame, placement.size, placement.box, small_step_filter=Image.Resampling.LANCZOS))
    assert first_frame is not None
    return encode_animation(frames, durations_ms=durations, loop=loop, preset=preset), first_frame


def _preview(frame: Image.Image) -> Image.Image:
    """A small copy of a whole frame, enough for the smart-crop analysis and the placeholder."""
    scale = PREVIEW_SIDE / max(frame.size)
    if scale >= 1:
        return frame.copy()
    size = (max(1, round(frame.width * scale)), max(1, round(frame.height * scale)))
    return frame.resize(size, Image.Resampling.BOX, reducing_gap=2.0)


def plan(data: bytes, presets: Sequence[Preset], limits: Limits) -> DecodePlan:
    """How `make_thumbnails` would decode these bytes for these presets (caps checked, nothing decoded)."""
    return _plan(_open(data, limits), presets, limits)


def decode_only(data: bytes, presets: Sequence[Preset], limits: Limits) -> Image.Image:
    """The one decode `make_thumbnails` resamples from: same decoder, shrink, orientation and colour.

    A benchmark's "decode floor" is this plus one encode per preset.
    """
    opened = _open(data, limits)
    return _decode(opened, _plan(opened, presets, limits)).image


def make_thumbnails(data: bytes, presets: Sequence[Preset], limits: Limits) -> Rendition:
    """Thumbnails of `data` for each preset, or ImageRejected when the bytes cannot become any."""
    presets = tuple(presets)
    if not presets:
        raise ValueError("make_thumbnails needs at least one preset")
    opened = _open(data, limits)
    decode_plan = _plan(opened, presets, limits)
    animated = [preset.animated and decode_plan.source.animated for preset in presets]
    still_placements = [p for p, is_animated in zip(decode_plan.placements, animated, strict=True) if not is_animated]
    stills: dict[Placement, Image.Image] = {}
    smallest_whole: Image.Image | None = None  # the smallest picture of the whole source made on the way
    if still_placements:
        stills, smallest_whole = _render_stills(_decode(opened, decode_plan), decode_plan, still_placements)
    thumbnails = []
    for preset, placement, is_animated in zip(presets, decode_plan.placements, animated, strict=True):
        if is_animated:
            data_out, first_frame = _render_animation(opened, decode_plan, placement, preset)
            if smallest_whole is None:
                smallest_whole = first_frame
        else:
            data_out = encode_still(stills[placement], preset)
        thumbnails.append(Thumbnail(preset=preset, data=data_out, width=placement.size[0], height=placement.size[1]))
    assert smallest_whole is not None
    return Rendition(
        source=decode_plan.source, thumbnails=tuple(thumbnails), placeholder=make_placeholder(smallest_whole)
    )
