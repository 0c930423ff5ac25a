"""The issue-11 figures: HEIC decode, placeholder time, smart-crop cost and quality, AVIF against WebP.

Measured like the rest of the benchmark: CPU time of this process pinned to one core, median of the
repeats; nothing is asserted, the report prints targets with PASS/MISS.

- HEIC: pi-heif's decode of the 12 MP HEIC input alone (open + load, no resampling), next to the JPEG
  decode of the same picture size, so the price of the format is visible.
- Placeholder: `make_placeholder` on the smallest whole picture the default presets make (the w256 `fit`
  rendition), per input: the time the engine adds for it.
- Smart crop: the added cost per smart cover preset is `saliency` + `smart_box` on that same rendition
  (the engine analyses the smallest whole picture made before the cover preset). The quality figures are
  the share of the subject's box kept inside the square crop over the generated off-centre set
  (tests/unit/imaging/subjects.py), smart against centre.
- AVIF against WebP: the 12 MP JPEG's 1024-px rendition (what the engine hands the w1024 encoder) as WebP
  at the default preset's settings (q80, method 2), then as AVIF at the quality whose PSNR (against the
  image before encoding) first reaches WebP's, for a few speeds; bytes and encode time side by side,
  and SSIM on luma as a second opinion.
"""

from __future__ import annotations

import io
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from tests.unit.imaging.subjects import KINDS, kept_fraction, off_centre_subjects
from thumbnailer.imaging.engine import Rendition, make_thumbnails
from thumbnailer.imaging.geometry import place
from thumbnailer.imaging.placeholder import make_placeholder
from thumbnailer.imaging.presets import Limits, Preset
from thumbnailer.imaging.smartcrop import saliency, smart_box

from .quality import psnr
from .timing import time_interleaved

SMART_SQUARE = Preset(name="square", width=128, height=128, mode="cover", gravity="smart")
SUBJECT_SET_SIZE = 48
TIMED_SUBJECTS = 6  # the analysis is timed on the first few (its cost does not depend on the content)
AVIF_SPEEDS = (6, 7, 8, 10)
WEBP_SETTINGS = {"quality": 80, "method": 2}  # the default w1024 preset through encode.py
MATCH_WIDTH = 1024


@dataclass(frozen=True)
class PlaceholderTiming:
    input_name: str
    from_size: tuple[int, int]
    ms: float


@dataclass(frozen=True)
class SmartCropFigures:
    images: int
    smart_kept: float
    centre_kept: float
    smart_min: float
    per_kind: tuple[tuple[str, float, float], ...]  # kind, smart, centre
    analysis_ms: float  # saliency + smart_box on a 256-px rendition


@dataclass(frozen=True)
class FeatureFigures:
    """Everything this module measured in one run; a part is None when its input was not selected."""

    heic_decode_ms: float | None
    smart: SmartCropFigures | None
    codecs: tuple[CodecPoint, ...]


@dataclass(frozen=True)
class CodecPoint:
    codec: str  # "webp q80 m2", "avif s8 q53", ...
    quality: int
    bytes: int
    encode_ms: float
    psnr_db: float
    ssim: float


def _median_ms(run: Callable[[], object], repeats: int) -> float:
    return time_interleaved({"run": run}, repeats=repeats)["run"].cpu_ms


def smallest_whole_rendition(rendition: Rendition) -> Image.Image:
    """The smallest `fit` output, decoded: what the engine makes its placeholder and smart crops from."""
    fits = [thumbnail for thumbnail in rendition.thumbnails if thumbnail.preset.mode == "fit"]
    smallest = min(fits, key=lambda thumbnail: thumbnail.width * thumbnail.height)
    image = Image.open(io.BytesIO(smallest.data))
    image.load()
    return image.convert("RGBA" if image.mode in ("RGBA", "LA", "PA") else "RGB")


def placeholder_timing(input_name: str, rendition: Rendition, repeats: int) -> PlaceholderTiming:
    image = smallest_whole_rendition(rendition)
    return PlaceholderTiming(input_name, image.size, _median_ms(lambda: make_placeholder(image), repeats))


def smart_crop_figures(repeats: int) -> SmartCropFigures:
    subjects = off_centre_subjects(SUBJECT_SET_SIZE)
    smart: list[float] = []
    centre: list[float] = []
    timings: list[float] = []
    for subject in subjects:
        scale = 256 / max(subject.image.size)
        rendition = subject.image.resize(
            (round(subject.image.width * scale), round(subject.image.height * scale)), Image.Resampling.LANCZOS
        )
        planned = place(SMART_SQUARE, subject.image.size)
        box = smart_box(saliency(rendition), subject.image.size, planned.box)
        smart.append(kept_fraction(subject.box, box))
        centre.append(kept_fraction(subject.box, planned.box))
        if len(timings) < TIMED_SUBJECTS:
            timings.append(_median_ms(_analysis(rendition, subject.image.size, planned.box), repeats))
    per_kind = tuple(
        (
            kind,
            statistics.mean(value for value, item in zip(smart, subjects, strict=True) if item.kind == kind),
            statistics.mean(value for value, item in zip(centre, subjects, strict=True) if item.kind == kind),
        )
        for kind in KINDS
    )
    return SmartCropFigures(
        images=len(subjects),
        smart_kept=statistics.mean(smart),
        centre_kept=statistics.mean(centre),
        smart_min=min(smart),
        per_kind=per_kind,
        analysis_ms=statistics.median(timings),
    )


def _analysis(
    rendition: Image.Image, size: tuple[int, int], box: tuple[float, float, float, float]
) -> Callable[[], object]:
    return lambda: smart_box(saliency(rendition), size, box)


def heic_decode_ms(data: bytes, repeats: int) -> float:
    """pi-heif's decode of `data` alone (open + load), as the engine runs it."""
    from thumbnailer.imaging import heif

    heif.register_decoder()

    def run() -> object:
        image = Image.open(io.BytesIO(data), formats=[heif.DECODER])
        image.load()
        return image

    return _median_ms(run, repeats)


def _ssim_luma(actual: Image.Image, expected: Image.Image) -> float:
    """Mean SSIM over 8x8 blocks of luma (the classic constants); enough to rank codecs at equal PSNR."""
    a = np.asarray(actual.convert("L"), dtype=np.float64)
    b = np.asarray(expected.convert("L"), dtype=np.float64)
    height, width = (a.shape[0] // 8) * 8, (a.shape[1] // 8) * 8
    blocks_a = a[:height, :width].reshape(height // 8, 8, width // 8, 8).swapaxes(1, 2).reshape(-1, 64)
    blocks_b = b[:height, :width].reshape(height // 8, 8, width // 8, 8).swapaxes(1, 2).reshape(-1, 64)
    mean_a, mean_b = blocks_a.mean(axis=1), blocks_b.mean(axis=1)
    var_a, var_b = blocks_a.var(axis=1), blocks_b.var(axis=1)
    covariance = ((blocks_a - mean_a[:, None]) * (blocks_b - mean_b[:, None])).mean(axis=1)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    ssim = ((2 * mean_a * mean_b + c1) * (2 * covariance + c2)) / ((mean_a**2 + mean_b**2 + c1) * (var_a + var_b + c2))
    return float(ssim.mean())


def _encode(image: Image.Image, format_name: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format_name, **params)
    return buffer.getvalue()


def _point(
    label: str, image: Image.Image, format_name: str, quality: int, repeats: int, **params: object
) -> CodecPoint:
    data = _encode(image, format_name, quality=quality, **params)
    decoded = Image.open(io.BytesIO(data)).convert("RGB")
    return CodecPoint(
        codec=label,
        quality=quality,
        bytes=len(data),
        encode_ms=_median_ms(lambda: _encode(image, format_name, quality=quality, **params), repeats),
        psnr_db=psnr(decoded, image),
        ssim=_ssim_luma(decoded, image),
    )


def _avif_quality_matching(image: Image.Image, speed: int, target_db: float) -> int:
    """The lowest AVIF quality whose PSNR reaches `target_db` (bisection; PSNR rises with quality)."""
    low, high = 1, 100
    while low < high:
        middle = (low + high) // 2
        decoded = Image.open(io.BytesIO(_encode(image, "AVIF", quality=middle, speed=speed))).convert("RGB")
        if psnr(decoded, image) >= target_db:
            high = middle
        else:
            low = middle + 1
    return low


def avif_against_webp(image: Image.Image, repeats: int, speeds: Sequence[int] = AVIF_SPEEDS) -> list[CodecPoint]:
    """WebP at the default preset's settings, then AVIF at matched PSNR for each speed."""
    image = image.convert("RGB")
    webp = _point(f"webp q{WEBP_SETTINGS['quality']} m2", image, "WEBP", WEBP_SETTINGS["quality"], repeats, method=2)
    points = [webp]
    for speed in speeds:
        quality = _avif_quality_matching(image, speed, webp.psnr_db)
        points.append(_point(f"avif s{speed} q{quality}", image, "AVIF", quality, repeats, speed=speed))
    return points


def match_source(data: bytes) -> Image.Image:
    """The picture the AVIF/WebP comparison encodes: the engine's own 1024-wide rendition, kept lossless."""
    lossless = Preset(name="ref", width=MATCH_WIDTH, height=None, format="png")
    limits = Limits(max_source_bytes=len(data), max_source_pixels=10**9, max_frames=1)
    output = make_thumbnails(data, (lossless,), limits).thumbnails[0].data
    return Image.open(io.BytesIO(output)).convert("RGB")
