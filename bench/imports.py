"""Cold import time of the handler module against `import boto3, PIL.Image`, each in a fresh interpreter.

Lambda pays the handler's import on every cold start, so this is the part of cold start the project
controls. The clock runs inside the child around the import statement only (interpreter start-up is
the same for both and is not ours to cut), and it is CPU time, like the engine timings, so other
processes on a busy machine do not inflate it. PYTHONPATH is `functions`, as in Lambda, where the code
asset is the `functions/` folder, and the function's environment contract is set with dummy values.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = REPO_ROOT / "functions"
HANDLER_MODULE = "thumbnailer.handler"
HANDLER_FILE = FUNCTIONS_DIR / "thumbnailer" / "handler.py"
BASELINE_STATEMENT = "import boto3, PIL.Image"
HANDLER_STATEMENT = f"import {HANDLER_MODULE}"

_TIMER = "import time; start = time.process_time(); {statement}; print(time.process_time() - start)"


@dataclass(frozen=True)
class ImportTimes:
    handler_ms: float
    baseline_ms: float
    repeats: int


def _lambda_like_environment(thumbnails_context: dict[str, object]) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "AWS_"))}
    environment.update(
        PYTHONPATH=str(FUNCTIONS_DIR),
        AWS_REGION="us-east-1",
        AWS_DEFAULT_REGION="us-east-1",
        ORIGINALS_BUCKET="bench-originals",
        THUMBNAILS_BUCKET="bench-thumbnails",
        PRESETS=json.dumps(thumbnails_context["presets"]),
        MAX_SOURCE_BYTES=str(thumbnails_context["maxSourceBytes"]),
        MAX_SOURCE_PIXELS=str(thumbnails_context["maxSourcePixels"]),
        MAX_FRAMES=str(thumbnails_context["maxFrames"]),
        KEY_PREFIX=str(thumbnails_context["keyPrefix"]),
        KEY_SUFFIXES=json.dumps(thumbnails_context["keySuffixes"]),
        CACHE_CONTROL=str(thumbnails_context["cacheControl"]),
        POWERTOOLS_SERVICE_NAME="thumbnailer",
        POWERTOOLS_LOG_LEVEL="INFO",
        POWERTOOLS_METRICS_NAMESPACE="ThumbnailPipeline",
    )
    return environment


def _time_import(statement: str, environment: dict[str, str]) -> float:
    completed = subprocess.run(
        [sys.executable, "-c", _TIMER.format(statement=statement)],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"`{statement}` failed in a fresh interpreter:\n{completed.stderr.strip()}")
    return float(completed.stdout.strip().splitlines()[-1]) * 1000


def measure_import_times(thumbnails_context: dict[str, object], repeats: int) -> ImportTimes:
    """Median cold import of the handler and of the baseline; one unmeasured run first writes the .pyc files."""
    environment = _lambda_like_environment(thumbnails_context)
    for statement in (HANDLER_STATEMENT, BASELINE_STATEMENT):
        _time_import(statement, environment)
    handler, baseline = [], []
    for _ in range(repeats):  # interleaved, so noise hits both alike
        handler.append(_time_import(HANDLER_STATEMENT, environment))
        baseline.append(_time_import(BASELINE_STATEMENT, environment))
    return ImportTimes(handler_ms=statistics.median(handler), baseline_ms=statistics.median(baseline), repeats=repeats)
