"""Cold import time of the handler module against `import boto3, PIL.Image`, each in a fresh interpreter.

Lambda pays the handler's import on every cold start, so this is the part of cold start the project
controls. The clock runs inside the child around the import statement only (interpreter start-up is
the same for both and is not ours to cut), and it is CPU time, like the engine timings, so other
processes on a busy machine do not inflate it. PYTHONPATH is `functions`, as in Lambda, where the code
asset is the `functions/` folder, and the function's environment contract is set with dummy values.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from stacks.cdk_json import default_settings

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


def _lambda_like_environment() -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "AWS_"))}
    environment.update(
        PYTHONPATH=str(FUNCTIONS_DIR),
        AWS_REGION="us-east-1",
        AWS_DEFAULT_REGION="us-east-1",
        **default_settings(originals_bucket="bench-originals", thumbnails_bucket="bench-thumbnails").to_environment(),
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


def measure_import_times(repeats: int) -> ImportTimes:
    """Median cold import of the handler and of the baseline; one unmeasured run first writes the .pyc files."""
    environment = _lambda_like_environment()
    for statement in (HANDLER_STATEMENT, BASELINE_STATEMENT):
        _time_import(statement, environment)
    handler, baseline = [], []
    for _ in range(repeats):  # interleaved, so noise hits both alike
        handler.append(_time_import(HANDLER_STATEMENT, environment))
        baseline.append(_time_import(BASELINE_STATEMENT, environment))
    return ImportTimes(handler_ms=statistics.median(handler), baseline_ms=statistics.median(baseline), repeats=repeats)
