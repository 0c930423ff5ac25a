"""checkov over a synthesized template, with the repository's one skip file (.checkov.yaml), as `make scan` runs it.

checkov lives in a venv of its own (.tools/checkov, `make install`): it pins a boto3 the project outgrew.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECKOV = ROOT / ".tools" / "checkov" / "bin" / "checkov"
SKIP_FILE = ROOT / ".checkov.yaml"


@dataclass(frozen=True)
class CheckovReport:
    passed: int
    failed: list[str]  # "CKV_AWS_27 AWS::SQS::Queue.LogicalId"


def checkov(template: Path) -> CheckovReport:
    assert CHECKOV.exists(), f"{CHECKOV} is missing: run `make install`"
    completed = subprocess.run(
        [str(CHECKOV), "--config-file", str(SKIP_FILE), "--file", str(template), "--output", "json"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    # Exit code 1 means failed checks, which the report lists; anything else unparseable is a real error.
    assert completed.returncode in (0, 1), completed.stderr
    report = json.loads(completed.stdout)
    failed = [f"{check['check_id']} {check['resource']}" for check in report["results"]["failed_checks"]]
    return CheckovReport(passed=report["summary"]["passed"], failed=failed)
