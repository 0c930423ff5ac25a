"""`make` alone lists the targets, one line each."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
DOCUMENTED = {
    "demo",
    "test",
    "local-up",
    "local-down",
    "local-logs",
    "smoke",
    "smoke-disposable",
    "bootstrap",
    "synth",
    "diff",
    "deploy",
    "destroy",
    "clean",
    "distclean",
    "help",
}


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_alone_lists_every_documented_target_once() -> None:
    output = subprocess.run(
        ["make", "--no-print-directory"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout
    targets = [line.split()[0] for line in output.splitlines()[1:]]
    assert set(targets) >= DOCUMENTED
    assert len(targets) == len(set(targets))
