"""Peak memory increase of one run, measured in a fresh process per (implementation, input).

tracemalloc does not see Pillow's image buffers (they are malloc'd in C), so the honest measure is
the process's resident set: its high-water mark after one run minus its size once the input bytes
are loaded. On Linux the high-water mark is reset just before the run (/proc/self/clear_refs), so
whatever the imports touched earlier does not hide the run's peak. The child is this module:
`python -m bench.memory IMPLEMENTATION PATH` prints one JSON line.
"""

from __future__ import annotations

import json
import re
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
IMPLEMENTATIONS = ("engine", "naive")
STATUS = Path("/proc/self/status")
CLEAR_REFS = Path("/proc/self/clear_refs")
RESET_PEAK = "5"  # clear_refs code that sets VmHWM back to the current RSS (Linux >= 4.0)


@dataclass(frozen=True)
class PeakIncrease:
    mebibytes: float
    method: str


def _status_kib(field: str) -> int:
    match = re.search(rf"^{field}:\s+(\d+) kB$", STATUS.read_text(), re.MULTILINE)
    if match is None:
        raise RuntimeError(f"{field} not found in {STATUS}")
    return int(match.group(1))


def _measure_in_this_process(implementation: str, path: Path) -> dict[str, object]:
    # Import everything the run needs before the baseline is taken, so imports are not counted.
    from stacks.cdk_json import default_function_config
    from thumbnailer.imaging import heif
    from thumbnailer.imaging.engine import make_thumbnails

    heif.register_decoder()  # the engine imports pi-heif on the first HEIF: an import, not the run's memory

    from .naive import naive_thumbnails

    config = default_function_config()
    data = path.read_bytes()
    try:
        CLEAR_REFS.write_text(RESET_PEAK)
        before_kib, method = _status_kib("VmRSS"), "VmHWM after the run - VmRSS before (peak reset)"
    except OSError:
        before_kib, method = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "ru_maxrss after - before"
    if implementation == "engine":
        make_thumbnails(data, config.presets, config.limits)
    else:
        naive_thumbnails(data, config.presets)
    after_kib = (
        _status_kib("VmHWM") if method.startswith("VmHWM") else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    )
    return {"increase_kib": after_kib - before_kib, "method": method}


def peak_increase(implementation: str, path: Path) -> PeakIncrease:
    """Run `implementation` once on the file at `path` in a fresh interpreter; its peak RSS increase."""
    if implementation not in IMPLEMENTATIONS:
        raise ValueError(f"implementation: expected one of {', '.join(IMPLEMENTATIONS)}, got {implementation!r}")
    completed = subprocess.run(
        [sys.executable, "-m", "bench.memory", implementation, str(path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    return PeakIncrease(mebibytes=result["increase_kib"] / 1024, method=result["method"])


if __name__ == "__main__":
    print(json.dumps(_measure_in_this_process(sys.argv[1], Path(sys.argv[2]))))
