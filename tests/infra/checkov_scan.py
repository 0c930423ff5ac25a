"""checkov over a synthesized template, with the repository's one skip file (.checkov.yaml), as `make scan` runs it.

checkov lives in a venv of its own (.tools/checkov, `make install`): it pins a boto3 the project outgrew.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHECKOV = ROOT / ".tools" / "checkov" / "bin" / "checkov"
SKIP_FILE = ROOT / ".checkov.yaml"
# Skipped for the default's service-managed encryption; with `encryption: "kms"` they must pass, so the kms
# templates are scanned without these skips.
CUSTOMER_MANAGED_KEY_CHECKS = ("CKV_AWS_27", "CKV_AWS_158", "CKV_AWS_173")


@dataclass(frozen=True)
class CheckovReport:
    passed: int
    failed: list[str]  # "CKV_AWS_27 AWS::SQS::Queue.LogicalId"


def checkov(template: Path, *, unskip: Iterable[str] = ()) -> CheckovReport:
    """checkov with the skip file, less the `unskip` checks (which must then pass like any other)."""
    assert CHECKOV.exists(), f"{CHECKOV} is missing: run `make install`"
    settings = yaml.safe_load(SKIP_FILE.read_text())
    removed = set(unskip)
    assert removed <= set(settings["skip-check"]), f"not skipped in {SKIP_FILE.name}: {removed}"
    settings["skip-check"] = [check for check in settings["skip-check"] if check not in removed]
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", dir=template.parent, delete=False) as config:
        yaml.safe_dump(settings, config)
    completed = subprocess.run(
        [str(CHECKOV), "--config-file", config.name, "--file", str(template), "--output", "json"],
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
