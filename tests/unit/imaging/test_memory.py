"""Memory: the worst input the default caps allow fits the function's memory with room to spare.

The function has cdk.json's memoryMb (1536 MB by default). The engine gets at most ENGINE_BUDGET_MB
of it; the rest (Python, boto3, Powertools, the handler's copy of the bytes) is the margin.
Each worst case runs in a fresh process whose address space is capped at the budget.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.builders import DEFAULT_LIMITS

REPO = Path(__file__).resolve().parents[3]
# The memory the function is deployed with, as configured; the default limits must fit it.
FUNCTION_MEMORY_MB = json.loads((REPO / "cdk.json").read_text())["context"]["thumbnails"]["memoryMb"]
RUNTIME_MARGIN_MB = 512  # Python, boto3, Powertools and the handler's copy of the source bytes
ENGINE_BUDGET_MB = FUNCTION_MEMORY_MB - RUNTIME_MARGIN_MB


def _probe(*arguments):
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "functions"), str(REPO / "tests/unit")])}
    completed = subprocess.run(
        [sys.executable, "-m", "imaging.memory_probe", *arguments],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    return completed.stdout


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["webp", "png", "avif", "png-16-bit-grey", "gif"])
def test_worst_allowed_input_fits_the_engine_budget(kind, tmp_path):
    # GIVEN a 50 MP source (RGBA with a Display P3 profile where the format allows; the WebP
    # also padded to the 50 MiB byte cap) — the most the default limits let through
    source = tmp_path / f"worst.{kind}"
    _probe("generate", kind, str(source))
    # WHEN the default presets are made in a process capped at the engine's budget
    result = json.loads(_probe("measure", str(source), str(ENGINE_BUDGET_MB)))
    # THEN it completes within the cap: every output made, peak RSS under the budget
    assert result["pixels"] <= DEFAULT_LIMITS.max_source_pixels
    assert result["pixels"] > 0.99 * DEFAULT_LIMITS.max_source_pixels
    assert result["bytes"] <= DEFAULT_LIMITS.max_source_bytes
    assert result["outputs"] == 4
    assert result["peak_rss_mb"] <= ENGINE_BUDGET_MB < FUNCTION_MEMORY_MB
