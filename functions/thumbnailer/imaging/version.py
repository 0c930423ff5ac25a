"""The imaging core's version: part of every manifest's fingerprint (see `thumbnailer.fingerprint`).

Bump rule: increase ENGINE_VERSION by one in the same commit as any change that can alter the bytes of a
thumbnail made from the same source and preset (a resampling filter or chain, the JPEG draft rule, colour
conversion, an encoder setting, the pinned Pillow version in layers/imaging/requirements.txt). Every set
made by the previous version then reads as stale, and `thumbnails backfill --mode stale` re-renders them.
Do not bump for changes that cannot alter output bytes (refactoring, faster code with identical output,
new rejection details): a bump re-renders the whole bucket, which costs money.
"""

from __future__ import annotations

ENGINE_VERSION = 1
