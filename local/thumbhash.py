"""A ThumbHash decoder, written from the reference `thumbHashToRGBA` (npm `thumbhash` 0.1.1, MIT licence).

The front-end side of the manifest's placeholder, for the demo gallery and the tests: independent of the
engine's encoder (functions/thumbnailer/imaging/placeholder.py), it only reads the bytes, as a browser
with the reference package does.
"""

from __future__ import annotations

import math

from PIL import Image


def approximate_aspect_ratio(hash_bytes: bytes) -> float:
    has_alpha = hash_bytes[2] & 0x80
    is_landscape = hash_bytes[4] & 0x80
    lx = (5 if has_alpha else 7) if is_landscape else hash_bytes[3] & 7
    ly = hash_bytes[3] & 7 if is_landscape else (5 if has_alpha else 7)
    return lx / ly


def has_alpha(hash_bytes: bytes) -> bool:
    return bool(hash_bytes[2] & 0x80)


def thumbhash_to_image(hash_bytes: bytes) -> Image.Image:
    """The placeholder the reference decoder renders (32 px on the long side), as an RGBA image."""
    header24 = hash_bytes[0] | (hash_bytes[1] << 8) | (hash_bytes[2] << 16)
    header16 = hash_bytes[3] | (hash_bytes[4] << 8)
    l_dc = (header24 & 63) / 63
    p_dc = ((header24 >> 6) & 63) / 31.5 - 1
    q_dc = ((header24 >> 12) & 63) / 31.5 - 1
    l_scale = ((header24 >> 18) & 31) / 31
    alpha = header24 >> 23
    p_scale = ((header16 >> 3) & 63) / 63
    q_scale = ((header16 >> 9) & 63) / 63
    is_landscape = header16 >> 15
    lx = max(3, (5 if alpha else 7) if is_landscape else header16 & 7)
    ly = max(3, header16 & 7 if is_landscape else (5 if alpha else 7))
    a_dc = (hash_bytes[5] & 15) / 15 if alpha else 1
    a_scale = (hash_bytes[5] >> 4) / 15 if alpha else 0
    ac_start = 6 if alpha else 5
    index = 0

    def channel(nx: int, ny: int, scale: float) -> list[float]:
        nonlocal index
        ac = []
        for cy in range(ny):
            cx = 0 if cy else 1
            while cx * ny < nx * (ny - cy):
                nibble = (hash_bytes[ac_start + (index >> 1)] >> ((index & 1) << 2)) & 15
                ac.append((nibble / 7.5 - 1) * scale)
                index += 1
                cx += 1
        return ac

    l_ac = channel(lx, ly, l_scale)
    p_ac = channel(3, 3, p_scale * 1.25)
    q_ac = channel(3, 3, q_scale * 1.25)
    a_ac = channel(5, 5, a_scale) if alpha else []
    ratio = approximate_aspect_ratio(hash_bytes)
    width = round(32 if ratio > 1 else 32 * ratio)
    height = round(32 / ratio if ratio > 1 else 32)
    pixels: list[int] = []
    for y in range(height):
        for x in range(width):
            fx = [math.cos(math.pi / width * (x + 0.5) * cx) for cx in range(max(lx, 5 if alpha else 3))]
            fy = [math.cos(math.pi / height * (y + 0.5) * cy) for cy in range(max(ly, 5 if alpha else 3))]
            lum, p, q, a = l_dc, p_dc, q_dc, a_dc
            j = 0
            for cy in range(ly):
                cx = 0 if cy else 1
                while cx * ly < lx * (ly - cy):
                    lum += l_ac[j] * fx[cx] * fy[cy] * 2
                    j, cx = j + 1, cx + 1
            j = 0
            for cy in range(3):
                for cx in range(0 if cy else 1, 3 - cy):
                    f = fx[cx] * fy[cy] * 2
                    p += p_ac[j] * f
                    q += q_ac[j] * f
                    j += 1
            if alpha:
                j = 0
                for cy in range(5):
                    for cx in range(0 if cy else 1, 5 - cy):
                        a += a_ac[j] * fx[cx] * fy[cy] * 2
                        j += 1
            b = lum - 2 / 3 * p
            r = (3 * lum - b + q) / 2
            g = r - q
            pixels.extend(int(max(0, 255 * min(1, value))) for value in (r, g, b, a))
    return Image.frombytes("RGBA", (width, height), bytes(pixels))
