"""Bring any decoded frame to 8-bit sRGB in one of four working modes: L, LA, RGB, RGBA.

Why here and not at save time: palettes must become true colour before resampling (or
resizing is nearest-neighbour), 16-bit must be scaled rather than clipped, and `convert()`
ignores embedded ICC profiles, so colour management happens once, with ImageCms.
Outputs are untagged sRGB: pixels are converted to sRGB and no profile is written.
"""

from __future__ import annotations

import functools
import io

from PIL import Image, ImageCms

WORKING_MODES = frozenset({"L", "LA", "RGB", "RGBA"})

# 16-bit samples (0-65535) to 8-bit (0-255): divide rather than clip, or most pixels turn white.
_SIXTEEN_TO_EIGHT = 1 / 257
_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I"})

# ICC colour space of a profile (as LittleCMS names it) that fits each mode we transform.
_PROFILE_SPACE_FOR_MODE = {"RGB": "RGB", "RGBA": "RGB", "CMYK": "CMYK", "L": "GRAY"}


@functools.cache
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@functools.lru_cache(maxsize=16)
def _transform_to_srgb(icc_profile: bytes, in_mode: str, out_mode: str) -> ImageCms.ImageCmsTransform | None:
    """A cached transform from an embedded profile to sRGB, or None when the profile is unusable.

    Cached because one profile (an iPhone's Display P3, a camera's Adobe RGB) arrives on
    thousands of images and building a transform costs more than applying it to a thumbnail.
    A broken or mismatched profile is ignored, as browsers do: the pixels are taken as sRGB.
    """
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        if profile.profile.xcolor_space.strip() != _PROFILE_SPACE_FOR_MODE[in_mode]:
            return None
        return ImageCms.buildTransform(
            profile, _srgb_profile(), in_mode, out_mode, renderingIntent=ImageCms.Intent.PERCEPTUAL
        )
    except (OSError, ImageCms.PyCMSError, ValueError, TypeError):
        return None


def _to_eight_bit(image: Image.Image) -> Image.Image:
    """Scale 16/32-bit greyscale to L (keeping a tRNS key colour as alpha)."""
    if image.mode not in ("I", "I;16"):
        image = image.convert("I")  # Pillow scales only I and I;16 with `point`
    eight_bit = image.point(lambda value: value * _SIXTEEN_TO_EIGHT).convert("L")
    transparent_value = image.info.get("transparency")
    if not isinstance(transparent_value, int):
        return eight_bit
    alpha = image.convert("I").point([0 if value == transparent_value else 255 for value in range(65536)], "L")
    eight_bit.putalpha(alpha)
    return eight_bit


def _has_transparency(image: Image.Image) -> bool:
    """Like Pillow's `has_transparency_data`, but a palette image without a palette object
    (a damaged GIF frame can decode like that) is opaque instead of an AssertionError."""
    if image.mode in ("LA", "La", "PA", "RGBA", "RGBa") or "transparency" in image.info:
        return True
    return image.mode == "P" and image.palette is not None and image.palette.mode.endswith("A")


def _to_base_mode(image: Image.Image) -> Image.Image:
    """One of L, LA, RGB, RGBA or CMYK, with any palette or tRNS transparency made an alpha channel."""
    mode = image.mode
    if mode in _SIXTEEN_BIT_MODES:
        return _to_eight_bit(image)
    if mode == "CMYK":
        return image
    if mode in ("P", "PA", "1", "RGBX", "YCbCr", "LAB", "HSV", "La", "RGBa", "F"):
        if _has_transparency(image):
            return image.convert("RGBA") if mode != "1" else image.convert("LA")
        return image.convert("L" if mode in ("1", "F") else "RGB")
    if mode in ("L", "RGB") and _has_transparency(image):
        return image.convert("LA" if mode == "L" else "RGBA")
    if mode in WORKING_MODES:
        return image
    return image.convert("RGBA" if _has_transparency(image) else "RGB")


def _transformed(image: Image.Image, transform: ImageCms.ImageCmsTransform) -> Image.Image:
    """A new image with `transform` applied (ImageCms returns None only for in-place transforms)."""
    result = ImageCms.applyTransform(image, transform)
    if result is None:
        raise RuntimeError("ImageCms.applyTransform returned no image for a transform that is not in place")
    return result


def _apply_profile(image: Image.Image, icc_profile: bytes, *, in_place: bool) -> Image.Image:
    if image.mode in ("RGB", "RGBA"):
        transform = _transform_to_srgb(icc_profile, image.mode, image.mode)
        if transform is None:
            return image
        if in_place:
            ImageCms.applyTransform(image, transform, inPlace=True)
            return image
        return _transformed(image, transform)
    if image.mode == "CMYK":
        transform = _transform_to_srgb(icc_profile, "CMYK", "RGB")
        return _transformed(image, transform) if transform is not None else image
    # Greyscale with a grey profile (e.g. Photoshop's "Dot Gain 20%"): through sRGB and back,
    # exact for neutral tones, so the output stays a small one-channel image.
    transform = _transform_to_srgb(icc_profile, "L", "RGB")
    if transform is None:
        return image
    grey = _transformed(image.getchannel("L") if image.mode == "LA" else image, transform).convert("L")
    if image.mode == "LA":
        grey.putalpha(image.getchannel("A"))
    return grey


def to_working_srgb(image: Image.Image, *, icc_profile: bytes | None, may_modify: bool) -> Image.Image:
    """8-bit sRGB in a working mode, as `image` itself or a new image.

    `may_modify`: the caller owns `image` and will not read its old pixels again, so a
    colour transform may run in place and save a full-size copy. Animated decoders compose
    the next frame from the current one, so they must pass False.
    """
    based = _to_base_mode(image)
    if icc_profile:
        based = _apply_profile(based, icc_profile, in_place=may_modify or based is not image)
    if based.mode == "CMYK":
        based = based.convert("RGB")  # no usable profile: Pillow's naive ink formula
    return based
