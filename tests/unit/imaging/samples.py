"""Deterministic test images, generated in code: nothing binary is committed.

Every builder takes explicit sizes and a seed, so a failing golden test reproduces exactly.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Sequence

import numpy as np
from PIL import Image

from thumbnailer.imaging.presets import COVER, FIT, Preset

# Upright quadrant colours for orientation tests: every flip or rotation moves at least one.
TOP_LEFT = (230, 30, 30)
TOP_RIGHT = (30, 200, 30)
BOTTOM_LEFT = (30, 30, 230)
BOTTOM_RIGHT = (240, 240, 240)

# Stored image = upright image transformed by the inverse of what EXIF orientation asks a viewer to do.
_TO_STORED = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def _upsampled(small: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Each channel of a small float array resized (bicubic) to `size` (width, height)."""
    return np.stack(
        [
            np.asarray(Image.fromarray(small[..., band].astype(np.float32), "F").resize(size, Image.Resampling.BICUBIC))
            for band in range(small.shape[-1])
        ],
        axis=-1,
    )


def photo(width: int, height: int, *, seed: int = 7) -> Image.Image:
    """A photo-like RGB image: smooth colour gradients, soft blobs, texture at three scales, hard edges.

    Natural photos have most energy at low frequencies and some at every scale; pure noise
    or flat colour would make resampling-quality tests either impossible or meaningless.
    A 4000x3000 JPEG of it at q90 is ~3 MB, like a phone photo.
    """
    rng = np.random.default_rng(seed)
    # Low frequencies (gradients, soft blobs) are computed at 1/8 size and upsampled: smooth anyway.
    small_w, small_h = max(1, width // 8), max(1, height // 8)
    ys, xs = np.mgrid[0:small_h, 0:small_w].astype(np.float64)
    u, v = xs / small_w, ys / small_h
    base = np.stack([60 + 150 * u, 50 + 140 * v, 170 - 90 * u * v], axis=-1)
    for _ in range(6):
        cx, cy = rng.uniform(0, small_w), rng.uniform(0, small_h)
        radius = rng.uniform(0.05, 0.3) * min(small_w, small_h)
        colour = rng.uniform(-60, 60, size=3)
        base += colour * np.exp(-(((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * radius**2)))[..., None]
    channels = _upsampled(base, (width, height))
    # Texture: smoothed noise like foliage and fabric, and per-pixel sensor grain.
    for cell, amplitude in ((16, 18.0), (4, 8.0)):
        small = rng.normal(0, amplitude, size=(max(1, height // cell), max(1, width // cell), 3))
        channels += _upsampled(small, (width, height))
    channels += rng.standard_normal(size=(height, width, 3), dtype=np.float32) * 5.0
    # Hard edges: a few dark bars, like window frames.
    for _ in range(3):
        x0 = int(rng.uniform(0, width * 0.9))
        bar = max(1, width // 100)
        channels[:, x0 : x0 + bar, :] *= 0.35
    return Image.fromarray(np.clip(channels, 0, 255).astype(np.uint8), "RGB")


def quadrants(width: int, height: int) -> Image.Image:
    """Upright image with four coloured quadrants (see TOP_LEFT etc.)."""
    image = Image.new("RGB", (width, height), BOTTOM_RIGHT)
    half_w, half_h = width // 2, height // 2
    image.paste(TOP_LEFT, (0, 0, half_w, half_h))
    image.paste(TOP_RIGHT, (half_w, 0, width, half_h))
    image.paste(BOTTOM_LEFT, (0, half_h, half_w, height))
    return image


def stored_for_orientation(upright: Image.Image, orientation: int) -> Image.Image:
    """The pixels a camera would store so that a viewer applying `orientation` shows `upright`."""
    method = _TO_STORED[orientation]
    return upright.transpose(method) if method is not None else upright.copy()


def exif_bytes(*, orientation: int | None = None, gps: bool = False, maker_note: bytes | None = None) -> bytes:
    """EXIF with an optional orientation, a GPS position and a maker note (to prove they are stripped)."""
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0110] = "SecretModel X"  # Model
    if orientation is not None:
        exif[0x0112] = orientation
    if gps:
        gps_ifd = exif.get_ifd(0x8825)
        gps_ifd[1] = "N"  # GPSLatitudeRef
        gps_ifd[2] = (51.0, 30.0, 12.34)  # GPSLatitude
        gps_ifd[3] = "W"  # GPSLongitudeRef
        gps_ifd[4] = (0.0, 7.0, 39.0)  # GPSLongitude
    if maker_note is not None:
        exif.get_ifd(0x8769)[0x927C] = maker_note
    return exif.tobytes()


def encoded(image: Image.Image, image_format: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **params)
    return buffer.getvalue()


def jpeg(image: Image.Image, *, quality: int = 92, **params: object) -> bytes:
    return encoded(image, "JPEG", quality=quality, **params)


def png(image: Image.Image, **params: object) -> bytes:
    return encoded(image, "PNG", **params)


def webp(image: Image.Image, *, lossless: bool = True, **params: object) -> bytes:
    return encoded(image, "WEBP", lossless=lossless, **params)


def gif(image: Image.Image, **params: object) -> bytes:
    return encoded(image, "GIF", **params)


def animation(image_format: str, frames: Sequence[Image.Image], *, duration_ms: int = 80, **params: object) -> bytes:
    buffer = io.BytesIO()
    frames[0].save(
        buffer,
        format=image_format,
        save_all=True,
        append_images=list(frames[1:]),
        duration=duration_ms,
        loop=0,
        **params,
    )
    return buffer.getvalue()


def numbered_frames(count: int, size: tuple[int, int] = (64, 48)) -> list[Image.Image]:
    """Frames whose flat colour says which frame they are (red rises, blue falls)."""
    return [Image.new("RGB", size, (min(255, 40 + index * 50), 90, max(0, 220 - index * 50))) for index in range(count)]


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def fit_preset(
    width: int, height: int | None = None, *, name: str = "t", image_format: str = "png", **kw: object
) -> Preset:
    return Preset(name=name, width=width, height=height, mode=FIT, format=image_format, **kw)  # type: ignore[arg-type]


def cover_preset(width: int, height: int, *, name: str = "c", image_format: str = "png", **kw: object) -> Preset:
    return Preset(name=name, width=width, height=height, mode=COVER, format=image_format, **kw)  # type: ignore[arg-type]


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return len(payload).to_bytes(4, "big") + kind + payload + zlib.crc32(kind + payload).to_bytes(4, "big")


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims `width` x `height` RGB pixels but carries almost no data (a bomb's header)."""
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def mean_colour(image: Image.Image, box: tuple[int, int, int, int] | None = None) -> tuple[float, ...]:
    region = image.convert("RGB").crop(box) if box else image.convert("RGB")
    return tuple(float(value) for value in np.asarray(region, dtype=np.float64).reshape(-1, 3).mean(axis=0))


def png_16bit(pixels: np.ndarray, *, trns: int | None = None) -> bytes:
    """A 16-bit PNG written by hand (Pillow writes 16-bit greyscale only).

    `pixels`: uint16, shape (h, w) for greyscale, (h, w, 3) RGB, (h, w, 4) RGBA.
    `trns`: a greyscale value to mark transparent (a tRNS key colour).
    """
    height, width = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([16, colour_type, 0, 0, 0])
    rows = pixels.astype(">u2").reshape(height, width * channels)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)
    chunks = [png_chunk(b"IHDR", ihdr)]
    if trns is not None:
        chunks.append(png_chunk(b"tRNS", trns.to_bytes(2, "big")))
    chunks += [png_chunk(b"IDAT", zlib.compress(raw)), png_chunk(b"IEND", b"")]
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)
