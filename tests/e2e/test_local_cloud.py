"""The user's path, end to end: `local-up` (moto server, the pinned CDK CLI's bootstrap and deploy, the real
`lambda_handler` in a memory-capped process), `smoke` against it, `local-down` leaving nothing behind.

Slow (about a minute on 2 cores: three CDK CLI runs and a synth with the layer build) and needs node_modules;
it uses a free port and a state folder of its own, so it runs next to a developer's own `make local-up`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from local.cloud import CDK, REPO_ROOT, free_port, port_in_use

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CDK.exists() or shutil.which("node") is None, reason="needs node and node_modules"),
]
UP_TIMEOUT_SECONDS = 600
SMOKE_TIMEOUT_SECONDS = 300


def run(*arguments: str, env: dict[str, str] | None = None, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *arguments], cwd=REPO_ROOT, capture_output=True, text=True, env=env, timeout=timeout
    )


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def test_local_up_then_smoke_then_local_down(tmp_path: Path) -> None:
    # GIVEN a free port and a state folder of the test's own
    port = free_port()
    state_dir = tmp_path / "local-cloud"
    cloud = ["-m", "local.cloud", "--state-dir", str(state_dir)]
    up = None
    try:
        # WHEN the local cloud is started
        up = run(*cloud, "up", "--port", str(port), timeout=UP_TIMEOUT_SECONDS)
        assert up.returncode == 0, up.stdout + up.stderr

        # THEN it printed the endpoint on a line of its own, the buckets, and ready-to-paste commands
        lines = up.stdout.splitlines()
        assert f"AWS_ENDPOINT_URL=http://localhost:{port}" in lines
        assert any(line.startswith("originals bucket:") for line in lines)
        assert any(" s3 cp " in line for line in lines)
        # AND the function runs under its deployed memory size, from the code asset the CLI published
        runtime = json.loads((state_dir / "runtime.json").read_text())
        assert runtime["memoryMb"] == 1536
        assert runtime["handler"] == "thumbnailer.handler.lambda_handler"
        assert runtime["codeDir"].startswith(str(state_dir))

        # WHEN the smoke test runs against it, with the environment file local-up wrote
        env = dict(os.environ)
        for line in (state_dir / "env").read_text().splitlines():
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").partition("=")
                env[name] = value
        smoke = run("-m", "local.smoke", env=env, timeout=SMOKE_TIMEOUT_SECONDS)

        # THEN it passed, and the real entry point logged through Powertools with Lambda's platform lines
        assert smoke.returncode == 0, smoke.stderr
        assert "smoke: passed" in smoke.stderr
        log = [json.loads(line) for line in (state_dir / "function.log").read_text().splitlines() if line]
        assert any(entry.get("message") == "record completed" and entry.get("cold_start") is not None for entry in log)
        reports = [entry for entry in log if entry.get("type") == "platform.report"]
        assert reports
        assert {report["record"]["metrics"]["memorySizeMB"] for report in reports} == {1536}
    finally:
        cloud_state = json.loads((state_dir / "cloud.json").read_text()) if (state_dir / "cloud.json").exists() else {}
        down = run(*cloud, "down", timeout=60)

    # AND local-down stopped every process it started and nothing listens on the port
    assert down.returncode == 0, down.stdout + down.stderr
    assert not port_in_use(port)
    for role in ("motoPid", "pollerPid", "runtimePid"):
        if cloud_state.get(role):
            assert not alive(cloud_state[role]), f"{role} {cloud_state[role]} is still running"
