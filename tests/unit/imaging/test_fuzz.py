"""Fuzz: random and mutated bytes give thumbnails or a typed rejection; never another error, never a hang.

Hypothesis runs derandomized (the same examples every run) with a bounded count, so this
takes seconds and a failure reproduces. Each example runs under an alarm: a decoder that
spins trips it and fails the test instead of hanging the suite.
"""

import signal
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from tests.builders import DEFAULT_PRESETS
from thumbnailer.imaging.engine import Rendition, make_thumbnails
from thumbnailer.imaging.presets import Limits
from thumbnailer.imaging.rejections import ImageRejected

from . import samples
from .heif_samples import heic
from .samples import fit_preset

pytestmark = pytest.mark.filterwarnings("ignore:Tag data larger than file:UserWarning")  # EXIF parser noise

# Small caps keep every example fast: a mutated header can claim any size.
LIMITS = Limits(max_source_bytes=1_000_000, max_source_pixels=2_000_000, max_frames=20)
PRESETS = (*DEFAULT_PRESETS, fit_preset(48, name="anim", image_format="webp", animated=True))
HANG_SECONDS = 10
FUZZ = settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_small = samples.photo(48, 36, seed=3)
_rgba = _small.convert("RGBA")
_rgba.putalpha(Image.linear_gradient("L").resize(_small.size))
SEEDS = {
    "jpeg": samples.jpeg(_small, exif=samples.exif_bytes(orientation=6)),
    "progressive-jpeg": samples.jpeg(_small, progressive=True),
    "cmyk-jpeg": samples.jpeg(_small.convert("CMYK")),
    "png": samples.png(_rgba),
    "palette-png": samples.png(_small.quantize(16), transparency=0),
    "apng": samples.animation("PNG", samples.numbered_frames(3, (24, 18))),
    "webp-lossy": samples.webp(_small, lossless=False),
    "webp-lossless": samples.webp(_rgba),
    "animated-webp": samples.animation("WEBP", samples.numbered_frames(3, (24, 18))),
    "gif": samples.gif(_small.quantize(32)),
    "animated-gif": samples.animation("GIF", samples.numbered_frames(3, (24, 18))),
    "avif": samples.encoded(_small, "AVIF", quality=50),
    "heic": heic(_small, orientation=6, quality=50),
}


class Hang(Exception):
    pass


@contextmanager
def _alarm(seconds):
    def _raise(signum, frame):
        raise Hang(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _answer(data):
    """The engine's answer: a Rendition or an ImageRejected. Anything else propagates and fails."""
    with _alarm(HANG_SECONDS):
        try:
            return make_thumbnails(data, PRESETS, LIMITS)
        except ImageRejected as rejected:
            return rejected


def _mutate(data: bytearray, rng) -> None:
    """One random edit anywhere in the file: bit flip, overwrite, cut, insert, delete or a boundary value."""
    at = rng.randrange(len(data))
    kind = rng.choice(["flip", "overwrite", "truncate", "insert", "delete", "boundary"])
    if kind == "flip":
        data[at] ^= 1 << rng.randrange(8)
    elif kind == "overwrite":
        data[at : at + 8] = rng.randbytes(rng.randint(1, 8))
    elif kind == "truncate":
        del data[at:]
    elif kind == "insert":
        data[at:at] = rng.randbytes(rng.randint(1, 64))
    elif kind == "delete":
        del data[at : at + rng.randint(1, 64)]
    else:  # sizes and counts are where parsers break
        data[at : at + 2] = rng.choice([b"\xff\xff", b"\x00\x00", b"\x7f\xff", b"\x80\x00"])


@st.composite
def mutated(draw):
    # Positions come from a seeded Random rather than st.integers: Hypothesis favours small
    # and boundary integers, which would keep nearly every edit in the first bytes.
    data = bytearray(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    rng = draw(st.randoms(use_true_random=False))
    for _ in range(rng.randint(1, 4)):
        if data:
            _mutate(data, rng)
    return bytes(data)


MAGICS = [
    b"\xff\xd8\xff",
    b"\x89PNG\r\n\x1a\n",
    b"GIF89a",
    b"RIFF\x00\x01\x00\x00WEBPVP8 ",
    b"\x00\x00\x00\x1cftypavif",
]


@pytest.mark.parametrize("seed", sorted(SEEDS))
def test_every_seed_is_a_valid_image(seed):
    # GIVEN an unmutated seed  WHEN  THEN it makes thumbnails (mutations start from real images)
    assert isinstance(_answer(SEEDS[seed]), Rendition)


@FUZZ
@given(data=st.binary(max_size=4096))
def test_random_bytes_never_raise_anything_but_a_rejection(data):
    # GIVEN any bytes  WHEN offered  THEN thumbnails or a typed rejection
    assert isinstance(_answer(data), Rendition | ImageRejected)


@FUZZ
@given(magic=st.sampled_from(MAGICS), tail=st.binary(max_size=2048))
def test_random_bytes_behind_a_real_signature_never_raise_anything_but_a_rejection(magic, tail):
    # GIVEN garbage that claims to be an allowed format, so the real decoder runs on it
    assert isinstance(_answer(magic + tail), Rendition | ImageRejected)


@settings(FUZZ, max_examples=1000)
@given(data=mutated())
def test_mutated_images_never_raise_anything_but_a_rejection(data):
    # GIVEN a valid image of an allowed format with bits flipped, bytes patched, cut or spliced
    assert isinstance(_answer(data), Rendition | ImageRejected)
