"""Deterministic, photo-like benchmark inputs, generated in code and cached on disk.

Photo-like means JPEG sizes close to a camera's (~3 MB for 12 MP at q90): smooth colour gradients,
soft-edged shapes, thin lines (edges that alias if a resize cuts corners), a mid-frequency texture
and per-pixel grain. Pure noise would make every codec slower than on photos; flat colour would
make them faster.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

# Bump when the pictures or their encodings change: the cache is keyed by it.
GENERATOR_VERSION = 1
CACHE_DIR = Path(__file__).resolve().parent / ".inputs" / f"v{GENERATOR_VERSION}"

SEED = 20261127
# x265 quality for the HEIC input: gives a file of a phone's size for 12 MP of this picture (~2-3 MB).
HEIC_QUALITY = 50
CAMERA_EXIF_MAKE = 0x010F
CAMERA_EXIF_MODEL = 0x0110
EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True)
class BenchInput:
    """One benchmark input: a name for `--only`, what it is, and how to make its bytes."""

    name: str
    description: str
    filename: str
    make: Callable[[], bytes]


def photo_like(width: int, height: int, seed: int) -> Image.Image:
    """An RGB picture with a photo's mix of smooth areas, edges and grain; same seed, same pixels."""
    rng = np.random.default_rng(seed)
    # Large smooth colour fields, like sky and out-of-focus background.
    base = Image.fromarray(rng.integers(30, 226, (6, 8, 3), dtype=np.uint8)).resize(
        (width, height), Image.Resampling.BICUBIC
    )
    shapes = Image.new("RGB", (width, height))
    coverage = Image.new("L", (width, height), 0)
    draw_shapes = ImageDraw.Draw(shapes)
    draw_coverage = ImageDraw.Draw(coverage)
    for _ in range(60):
        left, top = int(rng.integers(0, width)), int(rng.integers(0, height))
        box = [
            left,
            top,
            left + int(rng.integers(width // 30, width // 4)),
            top + int(rng.integers(height // 30, height // 4)),
        ]
        colour = tuple(int(channel) for channel in rng.integers(40, 216, 3))
        opacity = int(rng.integers(120, 256))
        kind = int(rng.integers(0, 3))
        if kind == 0:
            draw_shapes.ellipse(box, fill=colour)
            draw_coverage.ellipse(box, fill=opacity)
        elif kind == 1:
            draw_shapes.rectangle(box, fill=colour)
            draw_coverage.rectangle(box, fill=opacity)
        else:
            corners = [(int(rng.integers(0, width)), int(rng.integers(0, height))) for _ in range(3)]
            draw_shapes.polygon(corners, fill=colour)
            draw_coverage.polygon(corners, fill=opacity)
    # Thin lines: the high-frequency edges that show aliasing when a resize cuts corners.
    line_width = max(1, width // 1500)
    for _ in range(40):
        ends = [(int(rng.integers(0, width)), int(rng.integers(0, height))) for _ in range(2)]
        colour = tuple(int(channel) for channel in rng.integers(0, 256, 3))
        draw_shapes.line(ends, fill=colour, width=line_width)
        draw_coverage.line(ends, fill=255, width=line_width)
    coverage = coverage.filter(ImageFilter.GaussianBlur(max(1, width // 2000)))
    picture = np.asarray(Image.composite(shapes, base, coverage), dtype=np.float32)
    # Mid-frequency luminance texture (foliage, fabric), then per-pixel grain with a little chroma noise.
    texture = rng.normal(0, 6, (height // 64 + 1, width // 64 + 1)).astype(np.float32)
    picture += np.asarray(Image.fromarray(texture, mode="F").resize((width, height), Image.Resampling.BICUBIC))[
        :, :, None
    ]
    picture += rng.normal(0, 5.0, (height, width, 1)).astype(np.float32)
    picture += rng.normal(0, 1.5, (height, width, 3)).astype(np.float32)
    return Image.fromarray(np.clip(picture, 0, 255).astype(np.uint8))


def _camera_exif() -> bytes:
    """The EXIF a camera writes (make, model, upright orientation); the engine must read and drop it."""
    exif = Image.Exif()
    exif[CAMERA_EXIF_MAKE] = "BenchCam"
    exif[CAMERA_EXIF_MODEL] = "Generated 1"
    exif[EXIF_ORIENTATION] = 1
    return exif.tobytes()


def _encode(image: Image.Image, format_name: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format_name, **params)
    return buffer.getvalue()


def _jpeg_12mp() -> bytes:
    return _encode(photo_like(4000, 3000, SEED), "JPEG", quality=90, exif=_camera_exif())


def _jpeg_24mp() -> bytes:
    return _encode(photo_like(6000, 4000, SEED + 1), "JPEG", quality=90, exif=_camera_exif())


def _jpeg_12mp_progressive() -> bytes:
    return _encode(photo_like(4000, 3000, SEED + 2), "JPEG", quality=90, progressive=True, exif=_camera_exif())


def _png_12mp_rgba() -> bytes:
    picture = photo_like(4000, 3000, SEED + 3)
    width, height = picture.size
    # Alpha: a soft vertical fade, a fully transparent hole and an opaque band, so flattening matters.
    rows = np.linspace(255, 64, height, dtype=np.float32)[:, None]
    alpha = Image.fromarray(np.broadcast_to(rows, (height, width)).astype(np.uint8))
    draw = ImageDraw.Draw(alpha)
    draw.ellipse([width // 3, height // 3, width // 2, height // 2], fill=0)
    draw.rectangle([0, height - height // 8, width, height], fill=255)
    picture.putalpha(alpha)
    return _encode(picture, "PNG")


def _webp_12mp() -> bytes:
    return _encode(photo_like(4000, 3000, SEED + 4), "WEBP", quality=90)


def _heic_12mp() -> bytes:
    """As an iPhone stores a 12 MP photo: HEVC in a HEIF container, with EXIF (encoded by the dev-only
    pillow-heif; the engine decodes it with pi-heif). No colour profile, so the PSNR reference (which
    ignores profiles) compares like with like."""
    import pillow_heif  # only needed to make this input; slow (x265), so the file is cached

    buffer = io.BytesIO()
    pillow_heif.from_pillow(photo_like(4000, 3000, SEED + 6)).save(buffer, quality=HEIC_QUALITY, exif=_camera_exif())
    return buffer.getvalue()


def _gif_animated() -> bytes:
    width, height, frame_count = 800, 600, 20
    # One palette for the whole animation and shapes moving over a still background, as in real GIFs:
    # the encoder then stores only the changed rectangle of each frame.
    background = photo_like(width, height, SEED + 5).quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    frames = []
    for index in range(frame_count):
        frame = background.copy()
        draw = ImageDraw.Draw(frame)
        left = 40 + index * 30
        draw.ellipse([left, 200, left + 160, 360], fill=7)
        draw.rectangle([600 - index * 20, 420, 700 - index * 20, 520], fill=200)
        frames.append(frame)
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0)
    return buffer.getvalue()


INPUTS: tuple[BenchInput, ...] = (
    BenchInput("jpeg-12mp", "12 MP JPEG 4000x3000 q90 baseline, EXIF", "jpeg-12mp.jpg", _jpeg_12mp),
    BenchInput("jpeg-24mp", "24 MP JPEG 6000x4000 q90 baseline, EXIF", "jpeg-24mp.jpg", _jpeg_24mp),
    BenchInput(
        "jpeg-12mp-progressive", "12 MP progressive JPEG q90", "jpeg-12mp-progressive.jpg", _jpeg_12mp_progressive
    ),
    BenchInput("png-12mp-rgba", "12 MP PNG RGBA with transparency", "png-12mp-rgba.png", _png_12mp_rgba),
    BenchInput("webp-12mp", "12 MP WebP lossy q90", "webp-12mp.webp", _webp_12mp),
    BenchInput("gif-animated", "GIF 800x600, 20 frames (first frame thumbnailed)", "gif-animated.gif", _gif_animated),
    BenchInput("heic-12mp", f"12 MP HEIC 4000x3000 (x265 q{HEIC_QUALITY}), EXIF", "heic-12mp.heic", _heic_12mp),
)
INPUT_NAMES = tuple(item.name for item in INPUTS)


def select_inputs(only: str | None) -> tuple[BenchInput, ...]:
    """All inputs, or the one named by `--only`; an unknown name is an error naming the allowed ones."""
    if only is None:
        return INPUTS
    chosen = tuple(item for item in INPUTS if item.name == only)
    if not chosen:
        raise ValueError(f"--only: expected one of {', '.join(INPUT_NAMES)}, got {only!r}")
    return chosen


def input_path(item: BenchInput) -> Path:
    """The cached file for `item`, generated on first use (written atomically, so a killed run leaves no half file)."""
    path = CACHE_DIR / item.filename
    if not path.exists():
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(path.suffix + f".{os.getpid()}.partial")
        partial.write_bytes(item.make())
        partial.replace(path)
    return path


BYTE_CAP_QUALITIES = (100, 98, 95, 90, 85, 75)


def byte_cap_jpeg_path(max_bytes: int, max_pixels: int) -> Path:
    """A JPEG as close under `max_bytes` as a noisy photo gets at up to `max_pixels` (48 MP at most): the
    biggest source the function downloads, for the pipeline's memory. Cached like the other inputs."""
    path = CACHE_DIR / f"byte-cap-{max_bytes}-{max_pixels}.jpg"
    if not path.exists():
        width = min(8000, int((max_pixels * 4 / 3) ** 0.5))
        height = width * 3 // 4
        # Grain on top of the photo: camera noise at high ISO, which is what makes a JPEG this large.
        pixels = np.asarray(photo_like(width, height, SEED + 6), dtype=np.int16)
        pixels += np.random.default_rng(SEED + 7).normal(0, 13, (height, width, 1)).astype(np.int16)
        picture = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
        data = b""
        for quality in BYTE_CAP_QUALITIES:
            data = _encode(picture, "JPEG", quality=quality)
            if len(data) <= max_bytes:
                break
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.partial")
        partial.write_bytes(data)
        partial.replace(path)
    return path
