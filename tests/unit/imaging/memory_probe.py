"""Run the engine on a worst allowed input in a fresh process and report its peak memory.

    python -m imaging.memory_probe generate KIND PATH     (PYTHONPATH=functions:tests/unit)
    python -m imaging.memory_probe measure PATH LIMIT_MB

`measure` caps the process's address space (RLIMIT_AS) at LIMIT_MB before importing the
engine, runs the default presets under the default limits, and prints the peak RSS as JSON.
Pillow's pixel buffers are C allocations that tracemalloc cannot see, so only a separate
process's RSS and address-space limit are honest measures.
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path

from tests.builders import DEFAULT_LIMITS, DEFAULT_PRESETS

MEBIBYTE = 1024 * 1024
# 7071 x 7071 = 49,999,041 pixels: just under the default 50 MP cap.
SIDE = 7071


def _webp_padded_to(data: bytes, total_bytes: int) -> bytes:
    """A WebP grown to `total_bytes` with an unknown RIFF chunk (decoders skip it): max bytes and max pixels."""
    padding = total_bytes - len(data) - 8
    body = data[12:] + b"PADD" + padding.to_bytes(4, "little") + bytes(padding)
    return b"RIFF" + (len(body) + 4).to_bytes(4, "little") + b"WEBP" + body


def generate(kind: str, path: Path) -> None:
    from PIL import Image

    from . import colour_science

    # Flat colour: decoding memory depends on the pixel count, not the content, and flat
    # images encode in a fraction of a second.
    size = (SIDE, SIDE)
    half_transparent = Image.new("RGBA", size, (200, 100, 50, 128))
    p3 = colour_science.display_p3_profile()
    if kind == "webp":
        half_transparent.save(path, "WEBP", lossless=True, method=0, icc_profile=p3)
        path.write_bytes(_webp_padded_to(path.read_bytes(), DEFAULT_LIMITS.max_source_bytes))
    elif kind == "png":
        half_transparent.save(path, "PNG", compress_level=1, icc_profile=p3)
    elif kind == "avif":
        half_transparent.save(path, "AVIF", quality=30, speed=10, icc_profile=p3)
    elif kind == "png-16-bit-grey":
        Image.new("I;16", size, 40000).save(path, "PNG", compress_level=1)
    elif kind == "gif":
        palette = Image.new("P", size, 1)
        palette.putpalette([0, 0, 0, 200, 30, 30] + [0] * 762)
        palette.save(path, "GIF", transparency=0)
    else:
        raise SystemExit(f"unknown kind {kind!r}")


def measure(path: Path, limit_mb: int) -> dict[str, object]:
    limit = limit_mb * MEBIBYTE
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from thumbnailer.imaging.engine import make_thumbnails

    data = path.read_bytes()
    rendition = make_thumbnails(data, DEFAULT_PRESETS, DEFAULT_LIMITS)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {
        "bytes": len(data),
        "pixels": rendition.source.width * rendition.source.height,
        "outputs": len(rendition.thumbnails),
        "peak_rss_mb": round(peak_kib / 1024),
    }


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    if command == "generate":
        generate(arguments[0], Path(arguments[1]))
    elif command == "measure":
        print(json.dumps(measure(Path(arguments[0]), int(arguments[1]))))
    else:
        raise SystemExit(f"unknown command {command!r}")
