"""A rejection's detail is one short line for people: what is wrong, never Pillow's or Python's own words."""

import re
import zlib

import pytest
from hypothesis import given, settings
from PIL import Image

from tests.builders import DEFAULT_LIMITS, DEFAULT_PRESETS, limits_with
from thumbnailer.imaging.engine import make_thumbnails
from thumbnailer.imaging.presets import Limits
from thumbnailer.imaging.rejections import ImageRejected, RejectReason

from . import samples
from .samples import fit_preset
from .test_fuzz import FUZZ, _answer, mutated

pytestmark = pytest.mark.filterwarnings(  # EXIF parser noise on mutated files, as in test_fuzz
    "ignore:Tag data larger than file:UserWarning", "ignore:Truncated File Read:UserWarning"
)

PHOTO = samples.photo(640, 480)  # as in test_engine, whose corruptions these repeat
LIMITS = DEFAULT_LIMITS
ANIMATED = fit_preset(32, name="anim", image_format="webp", animated=True)
ANIMATION = samples.animation("GIF", samples.numbered_frames(5))  # 5 frames of 64x48
TRUNCATED = "the image data ends early (truncated file)"

# Python's and Pillow's own words: exception class names, tracebacks, reprs of bytes or objects.
PYTHON_WORDS = re.compile(r"\w*(Error|Exception|Warning)\b|Traceback|\bb['\"]|\\x[0-9a-fA-F]{2}|object at 0x")
MAX_DETAIL_CHARS = 120


def _scrambled(data: bytes, marker: bytes) -> bytes:
    """`data` with 64 bytes just after `marker` garbled (as in test_engine's corruption test)."""
    broken = bytearray(data)
    start = data.index(marker) + 8
    for index in range(start, start + 64):
        broken[index] ^= 0x5A
    return bytes(broken)


def _png_with_text_bomb() -> bytes:
    """A valid PNG whose zTXt chunk inflates past Pillow's 1 MB text limit."""
    png = samples.png(PHOTO)
    after_header = 8 + 25  # signature + IHDR chunk
    ztxt = samples.png_chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"\x00" * 2_000_000, 9))
    return png[:after_header] + ztxt + png[after_header:]


_JPEG, _PNG = samples.jpeg(PHOTO), samples.png(PHOTO)
_GIF, _WEBP = samples.gif(PHOTO.quantize(64)), samples.webp(PHOTO, lossless=False)
_AVIF = samples.encoded(PHOTO, "AVIF")

# id -> (bytes, presets, limits, the reason it must get)
CASES = {
    "empty": (b"", DEFAULT_PRESETS, LIMITS, RejectReason.NOT_AN_IMAGE),
    "text": (b"hello, world\n" * 20, DEFAULT_PRESETS, LIMITS, RejectReason.NOT_AN_IMAGE),
    "bmp": (samples.encoded(PHOTO, "BMP"), DEFAULT_PRESETS, LIMITS, RejectReason.UNSUPPORTED_FORMAT),
    "too-large": (_PNG, DEFAULT_PRESETS, limits_with(max_source_bytes=1000), RejectReason.TOO_LARGE),
    "pixel-cap": (samples.png_header_only(8000, 8000), DEFAULT_PRESETS, LIMITS, RejectReason.TOO_MANY_PIXELS),
    "decompression-bomb": (
        samples.png_header_only(10_000, 10_000),
        DEFAULT_PRESETS,
        limits_with(max_source_pixels=500_000_000),
        RejectReason.TOO_MANY_PIXELS,
    ),
    "pixels-of-every-frame": (
        ANIMATION,
        (ANIMATED,),
        limits_with(max_source_pixels=10_000),
        RejectReason.TOO_MANY_PIXELS,
    ),
    "frame-cap": (ANIMATION, (ANIMATED,), limits_with(max_frames=4), RejectReason.TOO_MANY_FRAMES),
    "truncated-jpeg": (_JPEG[: len(_JPEG) // 2], DEFAULT_PRESETS, LIMITS, RejectReason.TRUNCATED),
    "truncated-png": (_PNG[: len(_PNG) // 2], DEFAULT_PRESETS, LIMITS, RejectReason.TRUNCATED),
    "truncated-gif": (_GIF[: len(_GIF) // 2], DEFAULT_PRESETS, LIMITS, RejectReason.TRUNCATED),
    "truncated-webp": (_WEBP[: len(_WEBP) // 2], DEFAULT_PRESETS, LIMITS, RejectReason.TRUNCATED),
    "truncated-avif": (_AVIF[: len(_AVIF) // 2], DEFAULT_PRESETS, LIMITS, RejectReason.TRUNCATED),
    "corrupt-jpeg": (_scrambled(_JPEG, b"\xff\xc4"), DEFAULT_PRESETS, LIMITS, RejectReason.CORRUPT),
    "corrupt-png": (_scrambled(_PNG, b"IDAT"), DEFAULT_PRESETS, LIMITS, RejectReason.CORRUPT),
    "corrupt-gif": (_scrambled(_GIF, b","), DEFAULT_PRESETS, LIMITS, RejectReason.CORRUPT),
    "corrupt-webp": (_scrambled(_WEBP, b"VP8 "), DEFAULT_PRESETS, LIMITS, RejectReason.CORRUPT),
    "png-text-bomb": (_png_with_text_bomb(), DEFAULT_PRESETS, LIMITS, RejectReason.CORRUPT),
    "header-not-png": (
        b"\x89PNG\r\n\x1a\n" + samples.png_chunk(b"tEXt", b"no IHDR first") + samples.png_chunk(b"IEND", b""),
        DEFAULT_PRESETS,
        LIMITS,
        RejectReason.CORRUPT,
    ),
}


def _rejection(data: bytes, presets, limits: Limits) -> ImageRejected:
    with pytest.raises(ImageRejected) as refused:
        make_thumbnails(data, presets, limits)
    return refused.value


def _assert_for_people(rejected: ImageRejected) -> None:
    detail = rejected.detail
    assert detail
    assert detail == detail.strip()
    assert "\n" not in detail
    assert len(detail) <= MAX_DETAIL_CHARS, detail
    assert not PYTHON_WORDS.search(detail), detail
    cause = rejected.__cause__
    if cause is not None:  # the library's own words stay in the chained exception, out of the detail
        assert type(cause).__name__ not in detail, detail
        if str(cause):
            assert str(cause) not in detail, detail


def test_every_reason_the_engine_gives_is_covered():
    # GIVEN the cases below  WHEN  THEN together they produce every RejectReason
    assert {case[3] for case in CASES.values()} == set(RejectReason)


@pytest.mark.parametrize("case", CASES)
def test_every_rejection_has_a_detail_for_people(case):
    # GIVEN bytes the engine refuses, for each reason it has
    data, presets, limits, reason = CASES[case]
    # WHEN they are offered
    rejected = _rejection(data, presets, limits)
    # THEN the reason is the typed one, and the detail is one short line of plain words
    assert rejected.reason == reason
    _assert_for_people(rejected)


@pytest.mark.parametrize("case", [case for case in CASES if case.startswith("truncated-")])
def test_a_cut_short_file_says_its_data_ends_early(case):
    # GIVEN the first half of a valid image  WHEN  THEN the detail says so in those words
    data, presets, limits, _ = CASES[case]
    assert _rejection(data, presets, limits).detail == TRUNCATED


@pytest.mark.parametrize("case", [case for case in CASES if case.startswith("corrupt-") or case == "png-text-bomb"])
def test_damaged_data_says_what_part_is_damaged(case):
    # GIVEN a valid image with bytes scrambled inside it  WHEN  THEN the detail names the damage
    data, presets, limits, _ = CASES[case]
    detail = _rejection(data, presets, limits).detail
    assert re.fullmatch(r"the image data is corrupt \(the (JPEG|PNG|GIF|WebP) [a-z ]+ is malformed\)", detail), detail


def test_an_unparseable_header_names_the_format_it_claimed():
    # GIVEN a PNG signature followed by chunks that are not a PNG header  WHEN  THEN
    data, presets, limits, _ = CASES["header-not-png"]
    assert _rejection(data, presets, limits).detail == "the header does not parse as PNG"


def test_a_decompression_bomb_states_its_pixels_against_the_limit():
    # GIVEN a 10000x10000 header, over Pillow's bomb threshold  WHEN  THEN both numbers are in words
    data, presets, limits, _ = CASES["decompression-bomb"]
    assert _rejection(data, presets, limits).detail == (
        f"the image has 100,000,000 pixels, over the decoder's limit of {Image.MAX_IMAGE_PIXELS:,}"
        " (a possible decompression bomb)"
    )


def test_our_own_caps_state_the_numbers_in_words():
    # GIVEN sources over the byte, pixel and frame caps  WHEN  THEN each detail gives the count and the limit
    cases = ("too-large", "pixel-cap", "pixels-of-every-frame", "frame-cap")
    details = {case: _rejection(*CASES[case][:3]).detail for case in cases}
    assert details == {
        "too-large": f"the file is {len(_PNG):,} bytes, over the limit of 1,000 bytes",
        "pixel-cap": "the image is 8000x8000 (64,000,000 pixels), over the limit of 50,000,000 pixels",
        "pixels-of-every-frame": "5 frames of 64x48 are 15,360 pixels to animate, over the limit of 10,000 pixels",
        "frame-cap": "the animation has 5 frames, over the limit of 4 frames",
    }


@settings(FUZZ, max_examples=300)
@given(data=mutated())
def test_rejections_of_mutated_images_have_details_for_people(data):
    # GIVEN a valid image with bits flipped, bytes patched, cut or spliced
    answer = _answer(data)
    # WHEN it is refused  THEN the detail is still one short line of plain words
    if isinstance(answer, ImageRejected):
        _assert_for_people(answer)
