"""Colour maths for the tests, written from the published formulas (not via LittleCMS).

The engine converts with ImageCms (LittleCMS); these independent formulas say what the
right answer is, and the ICC profile builders make the test inputs, so a test that passes
shows LittleCMS + our plumbing agree with the colour science, not with themselves.
Pillow cannot create Display P3, Adobe RGB, grey or CMYK profiles (`ImageCms.createProfile`
knows only sRGB, LAB and XYZ), so minimal ICC v2 profiles are assembled byte by byte here.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence

import numpy as np

D65_XY = (0.3127, 0.3290)
ICC_D50 = np.array([0.9642, 1.0, 0.8249])  # the PCS illuminant, as the ICC spec rounds it
D65 = np.array([0.95047, 1.0, 1.08883])

SRGB_PRIMARIES = ((0.64, 0.33), (0.30, 0.60), (0.15, 0.06))
DISPLAY_P3_PRIMARIES = ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060))
ADOBE_RGB_PRIMARIES = ((0.64, 0.33), (0.21, 0.71), (0.15, 0.06))
ADOBE_RGB_GAMMA = 563 / 256  # 2.19921875, exactly as the Adobe RGB (1998) spec writes it

_BRADFORD = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])


# ---------------------------------------------------------------- transfer curves and matrices


def srgb_decode(encoded: np.ndarray) -> np.ndarray:
    encoded = np.asarray(encoded, dtype=np.float64)
    return np.where(encoded <= 0.04045, encoded / 12.92, ((encoded + 0.055) / 1.055) ** 2.4)


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    linear = np.asarray(linear, dtype=np.float64)
    return np.where(linear <= 0.0031308, linear * 12.92, 1.055 * np.abs(linear) ** (1 / 2.4) - 0.055)


def rgb_to_xyz_matrix(primaries: Sequence[tuple[float, float]], white_xy: tuple[float, float] = D65_XY) -> np.ndarray:
    """Linear RGB -> XYZ (white has Y = 1), from chromaticities."""
    columns = np.array([[x / y, 1.0, (1 - x - y) / y] for x, y in primaries]).T
    white = np.array([white_xy[0] / white_xy[1], 1.0, (1 - white_xy[0] - white_xy[1]) / white_xy[1]])
    return columns * np.linalg.solve(columns, white)


def bradford(source_white: np.ndarray, target_white: np.ndarray) -> np.ndarray:
    source_cone, target_cone = _BRADFORD @ source_white, _BRADFORD @ target_white
    return np.linalg.inv(_BRADFORD) @ np.diag(target_cone / source_cone) @ _BRADFORD


def xyz_to_lab(xyz: np.ndarray, white: np.ndarray) -> np.ndarray:
    ratio = np.asarray(xyz, dtype=np.float64) / white
    epsilon, kappa = 216 / 24389, 24389 / 27
    f = np.where(ratio > epsilon, np.cbrt(ratio), (kappa * ratio + 16) / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def lab_to_xyz(lab: np.ndarray, white: np.ndarray) -> np.ndarray:
    lab = np.asarray(lab, dtype=np.float64)
    fy = (lab[..., 0] + 16) / 116
    fx, fz = fy + lab[..., 1] / 500, fy - lab[..., 2] / 200
    epsilon, kappa = 216 / 24389, 24389 / 27

    def inverse(f: np.ndarray) -> np.ndarray:
        return np.where(f**3 > epsilon, f**3, (116 * f - 16) / kappa)

    return np.stack([inverse(fx), inverse(fy), inverse(fz)], axis=-1) * white


_SRGB_TO_XYZ = rgb_to_xyz_matrix(SRGB_PRIMARIES)


def srgb8_to_lab(rgb8: np.ndarray) -> np.ndarray:
    """8-bit sRGB -> CIELAB (D65 white), the space ΔE is measured in."""
    linear = srgb_decode(np.asarray(rgb8, dtype=np.float64) / 255)
    return xyz_to_lab(linear @ _SRGB_TO_XYZ.T, D65)


def xyz_d65_to_srgb8(xyz: np.ndarray) -> np.ndarray:
    linear = np.asarray(xyz, dtype=np.float64) @ np.linalg.inv(_SRGB_TO_XYZ).T
    return np.clip(srgb_encode(linear) * 255, 0, 255)


def delta_e76(lab_a: np.ndarray, lab_b: np.ndarray) -> np.ndarray:
    return np.linalg.norm(np.asarray(lab_a) - np.asarray(lab_b), axis=-1)


def rgb_space_to_srgb8(
    device8: np.ndarray, primaries: Sequence[tuple[float, float]], decode: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """What an RGB colour in another D65 space looks like in sRGB (unrounded 0-255)."""
    linear = decode(np.asarray(device8, dtype=np.float64) / 255)
    return xyz_d65_to_srgb8(linear @ rgb_to_xyz_matrix(primaries).T)


# ---------------------------------------------------------------- ICC v2 profile assembly


def _s15f16(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz_tag(xyz: Sequence[float]) -> bytes:
    return b"XYZ " + bytes(4) + b"".join(_s15f16(value) for value in xyz)


def _desc_tag(text: str) -> bytes:
    ascii_text = text.encode("ascii") + b"\x00"
    return (
        b"desc" + bytes(4) + struct.pack(">I", len(ascii_text)) + ascii_text + bytes(4) + bytes(4) + bytes(2 + 1 + 67)
    )


def _text_tag(text: str) -> bytes:
    return b"text" + bytes(4) + text.encode("ascii") + b"\x00"


def _gamma_curve(gamma: float) -> bytes:
    return b"curv" + bytes(4) + struct.pack(">IH", 1, round(gamma * 256)) + bytes(2)


def _table_curve(decode: Callable[[np.ndarray], np.ndarray], entries: int = 1024) -> bytes:
    values = np.clip(np.round(decode(np.linspace(0, 1, entries)) * 65535), 0, 65535).astype(">u2")
    return b"curv" + bytes(4) + struct.pack(">I", entries) + values.tobytes()


def _assemble(device_class: bytes, colour_space: bytes, pcs: bytes, tags: dict[bytes, bytes]) -> bytes:
    header_size, entry_size = 128, 12
    offset = header_size + 4 + entry_size * len(tags)
    table, body = [], b""
    for signature, payload in tags.items():
        padded = payload + bytes(-len(payload) % 4)
        table.append(struct.pack(">4sII", signature, offset + len(body), len(payload)))
        body += padded
    size = offset + len(body)
    header = (
        struct.pack(">I", size)
        + b"none"
        + struct.pack(">I", 0x02100000)
        + device_class
        + colour_space
        + pcs
        + struct.pack(">6H", 2026, 1, 1, 0, 0, 0)
        + b"acsp"
        + bytes(4 + 4 + 4 + 4 + 8)
        + struct.pack(">I", 0)  # rendering intent: perceptual
        + b"".join(_s15f16(value) for value in ICC_D50)
        + bytes(4 + 16 + 28)
    )
    assert len(header) == header_size
    return header + struct.pack(">I", len(tags)) + b"".join(table) + body


def rgb_matrix_profile(
    name: str,
    primaries: Sequence[tuple[float, float]],
    *,
    gamma: float | None = None,
    decode: Callable[[np.ndarray], np.ndarray] | None = None,
) -> bytes:
    """A matrix/TRC display profile: D50-adapted colorants (Bradford) and one tone curve for all channels."""
    to_d50 = bradford(rgb_to_xyz_matrix(primaries) @ np.ones(3), ICC_D50) @ rgb_to_xyz_matrix(primaries)
    curve = _gamma_curve(gamma) if gamma is not None else _table_curve(decode or srgb_decode)
    return _assemble(
        b"mntr",
        b"RGB ",
        b"XYZ ",
        {
            b"desc": _desc_tag(name),
            b"cprt": _text_tag("No copyright, test profile"),
            b"wtpt": _xyz_tag(ICC_D50),
            b"rXYZ": _xyz_tag(to_d50[:, 0]),
            b"gXYZ": _xyz_tag(to_d50[:, 1]),
            b"bXYZ": _xyz_tag(to_d50[:, 2]),
            b"rTRC": curve,
            b"gTRC": curve,
            b"bTRC": curve,
        },
    )


def display_p3_profile() -> bytes:
    return rgb_matrix_profile("Test Display P3", DISPLAY_P3_PRIMARIES, decode=srgb_decode)


def adobe_rgb_profile() -> bytes:
    return rgb_matrix_profile("Test Adobe RGB (1998)", ADOBE_RGB_PRIMARIES, gamma=ADOBE_RGB_GAMMA)


def grey_gamma_profile(gamma: float) -> bytes:
    """A greyscale display profile with a pure gamma tone curve (like Photoshop's 'Gray Gamma 1.8')."""
    return _assemble(
        b"mntr",
        b"GRAY",
        b"XYZ ",
        {
            b"desc": _desc_tag(f"Test Gray Gamma {gamma}"),
            b"cprt": _text_tag("No copyright, test profile"),
            b"wtpt": _xyz_tag(ICC_D50),
            b"kTRC": _gamma_curve(gamma),
        },
    )


# A made-up press: paper and inks as linear-sRGB transmittances, inks multiply (subtractive).
PAPER = np.array([0.90, 0.89, 0.84])
INKS = {
    "C": np.array([0.03, 0.40, 0.80]),
    "M": np.array([0.75, 0.06, 0.35]),
    "Y": np.array([0.92, 0.80, 0.05]),
    "K": np.array([0.025, 0.025, 0.03]),
}


def press_corner_srgb_linear(cmyk_on: Sequence[bool]) -> np.ndarray:
    """Linear sRGB of paper with full ink in the channels that are on (C, M, Y, K order)."""
    colour = PAPER.copy()
    for on, ink in zip(cmyk_on, "CMYK", strict=True):
        if on:
            colour = colour * INKS[ink]
    return colour


def cmyk_press_profile() -> bytes:
    """A CMYK output profile whose A2B0 (CMYK -> Lab) is a 2x2x2x2 CLUT of the made-up press.

    With two grid points per ink, any CMYK value of 0 or 255 in every channel is a grid
    corner, so its colour is exactly the press model's, whatever interpolation LittleCMS uses.
    """
    grid = 2
    clut = bytearray()
    to_d50 = bradford(D65, ICC_D50)
    for c in range(grid):
        for m in range(grid):
            for y in range(grid):
                for k in range(grid):
                    linear = press_corner_srgb_linear((bool(c), bool(m), bool(y), bool(k)))
                    lab = xyz_to_lab(to_d50 @ (_SRGB_TO_XYZ @ linear), ICC_D50)
                    # ICC v2 16-bit Lab: L 0..100 -> 0..0xFF00; a, b -128..+128 -> 0..0xFFFF (0 at 0x8000).
                    encoded = (
                        round(lab[0] * 0xFF00 / 100),
                        min(0xFFFF, max(0, round((lab[1] + 128) * 256))),
                        min(0xFFFF, max(0, round((lab[2] + 128) * 256))),
                    )
                    clut += struct.pack(">3H", *encoded)
    identity = b"".join(_s15f16(value) for value in (1, 0, 0, 0, 1, 0, 0, 0, 1))
    linear_table = struct.pack(">2H", 0, 0xFFFF)
    lut = (
        b"mft2"
        + bytes(4)
        + struct.pack(">BBBB", 4, 3, grid, 0)
        + identity
        + struct.pack(">HH", 2, 2)
        + linear_table * 4
        + bytes(clut)
        + linear_table * 3
    )
    return _assemble(
        b"prtr",
        b"CMYK",
        b"Lab ",
        {
            b"desc": _desc_tag("Test press CMYK"),
            b"cprt": _text_tag("No copyright, test profile"),
            b"wtpt": _xyz_tag(ICC_D50),
            b"A2B0": lut,
        },
    )


def press_corner_srgb8(cmyk_on: Sequence[bool]) -> np.ndarray:
    """The sRGB colour (unrounded 0-255) a managed conversion must give for a CMYK grid corner."""
    return np.clip(srgb_encode(press_corner_srgb_linear(cmyk_on)) * 255, 0, 255)
