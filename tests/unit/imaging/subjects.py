"""A generated set of photos whose subject sits off-centre, with the subject's box known: for smart crop.

Each picture is a soft, low-contrast background (smooth colour fields, out-of-focus blobs, sensor grain)
with one in-focus subject away from the middle, of one of three kinds, so no single cue decides:
- "face": a skin-toned head with hair, eyes and mouth (skin tone, edges);
- "flower": saturated petals round a contrasting centre (colour saturation, edges);
- "gadget": a grey, nearly colourless object with fine stripes and text-like marks (edges only).
Landscape pictures are cropped to a square (the subject left or right of centre), portrait pictures
too (the subject above or below). Deterministic: the same seed gives the same pixels and boxes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

KINDS = ("face", "flower", "gadget")
Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Subject:
    """One picture, where its subject is (left, top, right, bottom, in pixels), and what the subject is."""

    image: Image.Image
    box: Box
    kind: str


def _background(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    # Muted colours: a real background is rarely as saturated as the subject in focus.
    small = rng.integers(70, 190, (4, 5, 3)).astype(np.float32)
    grey = small.mean(axis=2, keepdims=True)
    small = grey + (small - grey) * 0.35
    base = Image.fromarray(small.clip(0, 255).astype(np.uint8)).resize((width, height), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(base)
    for _ in range(6):  # out-of-focus blobs (bokeh)
        radius = int(rng.integers(min(width, height) // 12, min(width, height) // 5))
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        shade = tuple(int(value) for value in rng.integers(90, 200, 3))
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=shade)
    base = base.filter(ImageFilter.GaussianBlur(min(width, height) / 25))
    grain = rng.normal(0, 4, (height, width, 1)).astype(np.float32)
    return Image.fromarray((np.asarray(base, dtype=np.float32) + grain).clip(0, 255).astype(np.uint8))


def _draw_face(draw: ImageDraw.ImageDraw, box: Box, rng: np.random.Generator) -> None:
    left, top, right, bottom = box
    width, height = right - left, bottom - top
    skin = (int(rng.integers(190, 230)), int(rng.integers(140, 170)), int(rng.integers(110, 135)))
    hair = tuple(int(value) for value in rng.integers(20, 70, 3))
    draw.ellipse(box, fill=hair)
    draw.ellipse((left + width * 0.1, top + height * 0.2, right - width * 0.1, bottom), fill=skin)
    for eye_x in (0.33, 0.67):
        x, y = left + width * eye_x, top + height * 0.52
        draw.ellipse((x - width * 0.07, y - height * 0.04, x + width * 0.07, y + height * 0.04), fill=(250, 250, 250))
        draw.ellipse((x - width * 0.03, y - height * 0.03, x + width * 0.03, y + height * 0.03), fill=(40, 30, 20))
    draw.arc(
        (left + width * 0.32, top + height * 0.62, right - width * 0.32, top + height * 0.85), 20, 160, (120, 40, 40), 3
    )


def _draw_flower(draw: ImageDraw.ImageDraw, box: Box, rng: np.random.Generator) -> None:
    left, top, right, bottom = box
    cx, cy = (left + right) / 2, (top + bottom) / 2
    radius = (right - left) / 2
    petal = tuple(int(value) for value in rng.permutation([int(rng.integers(200, 256)), int(rng.integers(20, 80)), 40]))
    for angle in np.linspace(0, 2 * np.pi, 9)[:-1]:
        px, py = cx + np.cos(angle) * radius * 0.55, cy + np.sin(angle) * radius * 0.55
        draw.ellipse((px - radius * 0.45, py - radius * 0.45, px + radius * 0.45, py + radius * 0.45), fill=petal)
    draw.ellipse((cx - radius * 0.3, cy - radius * 0.3, cx + radius * 0.3, cy + radius * 0.3), fill=(250, 200, 20))


def _draw_gadget(draw: ImageDraw.ImageDraw, box: Box, rng: np.random.Generator) -> None:
    left, top, right, bottom = box
    body = int(rng.integers(40, 90))
    draw.rounded_rectangle(box, radius=(right - left) // 10, fill=(body, body, body + 5))
    step = max(2, (bottom - top) // 24)
    for y in range(top + step * 2, bottom - step * 2, step * 2):  # fine stripes and marks, like print or a grille
        draw.line((left + (right - left) * 0.12, y, right - (right - left) * 0.12, y), fill=(225, 225, 220), width=1)
        mark = left + (right - left) * float(rng.uniform(0.15, 0.75))
        draw.rectangle((mark, y - step // 2, mark + step, y), fill=(10, 10, 10))


DRAW = {"face": _draw_face, "flower": _draw_flower, "gadget": _draw_gadget}


def off_centre_subject(index: int, *, long_side: int = 1200, short_side: int = 800) -> Subject:
    """Picture number `index` of the set: the kind cycles, orientation and side alternate, sizes vary."""
    rng = np.random.default_rng(20261201 + index)
    kind = KINDS[index % len(KINDS)]
    landscape = (index // len(KINDS)) % 2 == 0
    width, height = (long_side, short_side) if landscape else (short_side, long_side)
    image = _background(rng, width, height)
    # The subject spans 18-28 % of the long side and sits well off-centre: its centre 12-24 % from one end.
    size = int(long_side * rng.uniform(0.18, 0.28))
    along = int(long_side * rng.uniform(0.12, 0.24))
    if rng.random() < 0.5:
        along = long_side - along
    across = int(short_side * rng.uniform(0.35, 0.65))
    centre = (along, across) if landscape else (across, along)
    half = size // 2
    left = min(max(0, centre[0] - half), width - size)
    top = min(max(0, centre[1] - half), height - size)
    box = (left, top, left + size, top + size)
    DRAW[kind](ImageDraw.Draw(image), box, rng)
    return Subject(image=image, box=box, kind=kind)


def off_centre_subjects(count: int = 24) -> list[Subject]:
    return [off_centre_subject(index) for index in range(count)]


def kept_fraction(subject: Box, crop: tuple[float, float, float, float]) -> float:
    """How much of the subject's box area lies inside the crop box (0 to 1)."""
    width = max(0.0, min(subject[2], crop[2]) - max(subject[0], crop[0]))
    height = max(0.0, min(subject[3], crop[3]) - max(subject[1], crop[1]))
    return width * height / ((subject[2] - subject[0]) * (subject[3] - subject[1]))
