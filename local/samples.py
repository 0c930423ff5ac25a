"""Deterministic sample uploads for the demo and the end-to-end tests: the same bytes on every run.

Each sample exercises one thing the pipeline must get right: a large photo (shrink-on-decode), an
EXIF-rotated portrait carrying GPS (orientation applied, metadata not copied), an iPhone-style HEIC
(container rotation, decoded by the layer's pi-heif), a transparent PNG (alpha flattened for JPEG), an
animated GIF (frames) and a file that only pretends to be a JPEG (rejected).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

SEED = 20261127
EXIF_ORIENTATION = 0x0112
EXIF_MAKE = 0x010F
EXIF_GPS_IFD = 0x8825
ROTATE_90_CW_TO_DISPLAY = 6  # EXIF orientation 6: the stored pixels must be turned 90° clockwise


@dataclass(frozen=True)
class Sample:
    """One upload: the object key it goes to, its bytes, and what it is for."""

    key: str
    data: bytes
    description: str


def landscape_photo(*, width: int = 4000, height: int = 3000, quality: int = 90) -> bytes:
    """A photo-like JPEG: sky and ground gradients, a sun and mountains, plus sensor-like noise."""
    rng = np.random.default_rng(SEED)
    rows = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    columns = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    horizon = 0.62

    def plane(values: npt.ArrayLike) -> np.ndarray:
        return np.broadcast_to(values, (height, width))

    sky = np.stack([plane(90 + 80 * rows), plane(150 + 60 * rows), plane(235 - 30 * rows)], axis=-1)
    ground = np.stack([plane(60 + 50 * columns), plane(110 - 40 * rows), plane(np.float32(50))], axis=-1)
    pixels = np.where((rows < horizon)[..., None], sky, ground)
    pixels = pixels + rng.normal(0.0, 6.0, size=(height, width, 1)).astype(np.float32)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    sun = min(width, height) // 10
    draw.ellipse(
        (int(width * 0.72), int(height * 0.12), int(width * 0.72) + sun, int(height * 0.12) + sun), (255, 214, 90)
    )
    base = int(height * horizon)
    for left, peak, right, shade in ((0.0, 0.30, 0.45, 95), (0.30, 0.18, 0.75, 120), (0.60, 0.34, 1.0, 80)):
        draw.polygon(
            [
                (int(width * left), base),
                (int(width * (left + right) / 2), int(height * peak)),
                (int(width * right), base),
            ],
            fill=(shade, shade + 10, shade + 30),
        )
    return _encode(image, "JPEG", quality=quality)


def rotated_portrait(*, width: int = 1200, height: int = 1600) -> bytes:
    """A portrait stored sideways with EXIF orientation 6, plus camera make and GPS that must not leak."""
    stored = _upright_portrait(width, height).transpose(Image.Transpose.ROTATE_90)  # orientation 6 turns it back
    return _encode(stored, "JPEG", quality=90, exif=_leaky_exif())


def iphone_heic(*, width: int = 1200, height: int = 1600) -> bytes:
    """A HEIC as an iPhone writes a portrait: pixels stored sideways, the container's `irot` and the EXIF tag
    both saying "turn 90° clockwise", plus camera make and GPS that must not leak.

    Encoded with pillow-heif, a development-only dependency (its x265 encoder is GPL); the function decodes
    HEIC with the layer's decode-only pi-heif.
    """
    import pillow_heif  # only the demo and the tests make HEIC files

    stored = _upright_portrait(width, height).transpose(Image.Transpose.ROTATE_90)
    buffer = io.BytesIO()
    pillow_heif.from_pillow(stored).save(buffer, quality=80, exif=_leaky_exif())
    return buffer.getvalue()


def _leaky_exif() -> bytes:
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = ROTATE_90_CW_TO_DISPLAY
    exif[EXIF_MAKE] = "LeakyCam"
    exif.get_ifd(EXIF_GPS_IFD).update({1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)})
    return exif.tobytes()


def _upright_portrait(width: int, height: int) -> Image.Image:
    upright = Image.new("RGB", (width, height), (235, 235, 225))
    draw = ImageDraw.Draw(upright)
    # An arrow pointing up and a red band at the top: a thumbnail shows at a glance whether it is upright.
    draw.rectangle((0, 0, width, height // 10), fill=(200, 30, 30))
    middle = width // 2
    draw.polygon(
        [(middle, height // 5), (middle - width // 4, height // 2), (middle + width // 4, height // 2)],
        fill=(30, 30, 30),
    )
    draw.rectangle((middle - width // 12, height // 2, middle + width // 12, height * 4 // 5), fill=(30, 30, 30))
    return upright


def transparent_png(*, width: int = 800, height: int = 600) -> bytes:
    """An RGBA PNG: half-transparent shapes on a fully transparent background."""
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((width // 10, height // 10, width * 6 // 10, height * 9 // 10), fill=(20, 120, 220, 200))
    draw.rectangle((width * 4 // 10, height * 3 // 10, width * 9 // 10, height * 7 // 10), fill=(240, 80, 40, 140))
    return _encode(image, "PNG")


def animated_gif(*, width: int = 320, height: int = 240, frames: int = 4) -> bytes:
    """A small looping GIF: a ball crossing the frame."""
    images = []
    for index in range(frames):
        frame = Image.new("RGB", (width, height), (250, 250, 240))
        x = (width - height // 3) * index // max(1, frames - 1)
        ImageDraw.Draw(frame).ellipse((x, height // 3, x + height // 3, height * 2 // 3), fill=(200, 40, 120))
        images.append(frame.convert("P", palette=Image.Palette.ADAPTIVE))
    buffer = io.BytesIO()
    images[0].save(buffer, "GIF", save_all=True, append_images=images[1:], duration=120, loop=0)
    return buffer.getvalue()


def noisy_jpeg(*, width: int, height: int, quality: int = 92) -> bytes:
    """Random pixels compress badly, so this is the cheapest way to a real JPEG of several megabytes."""
    rng = np.random.default_rng(SEED)
    pixels = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    return _encode(Image.fromarray(pixels, "RGB"), "JPEG", quality=quality)


NOT_AN_IMAGE = b"This is a plain-text file that only pretends to be a JPEG.\n" * 20


def demo_samples(*, photo_width: int = 4000, photo_height: int = 3000) -> list[Sample]:
    """The demo's uploads, in upload order."""
    return [
        Sample(
            "samples/landscape photo.jpg", landscape_photo(width=photo_width, height=photo_height), "photo-like JPEG"
        ),
        Sample("samples/portrait-exif-6.jpg", rotated_portrait(), "EXIF orientation 6, GPS and camera make"),
        Sample("samples/iphone-portrait.heic", iphone_heic(), "iPhone-style HEIC: irot + EXIF orientation 6, GPS"),
        Sample("samples/transparent.png", transparent_png(), "RGBA PNG with transparency"),
        Sample("samples/bouncing.gif", animated_gif(), "animated GIF, 4 frames"),
        Sample("samples/not-an-image.jpg", NOT_AN_IMAGE, "text named .jpg"),
    ]


def _encode(image: Image.Image, image_format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()
