"""HEIF/HEIC input (iPhone photos), decoded by libheif + libde265 through pi-heif, loaded only when needed.

pi-heif is the decode-only build of pillow-heif: its wheels bundle libheif and libde265 (both LGPL-3.0,
dynamically linked; pi-heif's own code is BSD-3-Clause) and no HEVC encoder (x265, which is GPL, is not
in them). Importing it costs ~25 ms and maps two shared libraries, so it happens the first time a HEIF
file is sniffed, not at cold start: uploads of other formats never pay for it.

Behaviour the engine relies on (tests/unit/imaging/test_heif.py proves each):
- libheif applies the container's transformations (`irot` rotation, `imir` mirror, `clap` crop) while
  decoding, and the size pi-heif reports from the header is already the transformed one. pi-heif then
  resets the EXIF orientation tag to 1, since the HEIF specification makes the container's transforms
  authoritative (an iPhone writes both). So a HEIF is never turned again by EXIF orientation.
- Only the header is parsed when the file is opened; pixels are decoded by `load()`, so the engine's
  pixel cap, checked in between, refuses a bomb before any decoding.
- An ICC profile (`colr` of type `prof`/`rICC`, e.g. an iPhone's Display P3) arrives in `info["icc_profile"]`
  and is converted to sRGB like any other format's.
"""

from __future__ import annotations

DECODER = "HEIF"  # the format name pi-heif registers with Pillow


def register_decoder() -> None:
    """Make `Image.open(..., formats=[DECODER])` use pi-heif. Cheap after the first call (dict updates).

    Called for every HEIF source rather than once, so the decoder is pi-heif's even if something else in
    the process (a test's encoder, say) registered another HEIF plugin under the same name.
    Thumbnails, depth maps and auxiliary images (HDR gain maps) stored in the file are not read: the
    engine uses the primary image only.
    """
    from pi_heif import register_heif_opener  # imported here, lazily: see the module docstring

    register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)
