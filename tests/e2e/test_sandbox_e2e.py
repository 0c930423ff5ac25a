"""The CLI as an operator runs it: a separate process (`python -m operations`, what the `thumbnails` console
script runs), over HTTP, against moto's server on localhost with the stack deployed into it (`make sandbox`)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from local.sandbox import deploy_sandbox, moto_server, use_endpoint

pytestmark = pytest.mark.slow


@pytest.fixture
def endpoint() -> Iterator[str]:
    """moto's server on a free localhost port; this process's clients point at it; the environment is restored."""
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        port = probe.getsockname()[1]
    saved = dict(os.environ)
    try:
        with moto_server(port) as url:
            use_endpoint(url)
            yield url
    finally:
        os.environ.clear()
        os.environ.update(saved)


def thumbnails(*args: str) -> dict[str, Any]:
    """`python -m operations ARGS --json` in a child process with this process's (sandbox) environment."""
    completed = subprocess.run(
        [sys.executable, "-m", "operations", *args, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=dict(os.environ),
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def test_the_cli_process_backfills_originals_in_the_sandbox(endpoint: str) -> None:
    # GIVEN the stack deployed into moto's server, with 6 originals that never had events
    pipeline = deploy_sandbox(seed=6)
    assert os.environ["AWS_ENDPOINT_URL"] == endpoint

    # WHEN an operator's process looks, backfills with --local, and the function drains the backfill queue
    before = thumbnails("status")
    sent = thumbnails("backfill", "--local")
    queued = thumbnails("status")
    report = pipeline.run()
    after = thumbnails("status")

    # THEN it saw them missing, sent one message each into the backfill queue, and they all completed
    assert (before["originals"]["total"], before["originals"]["missing"]) == (6, 6)
    assert sent["sent"] == 6
    assert queued["queues"]["backfill"]["visible"] == 6
    assert report.succeeded == 6
    assert (after["manifests"]["complete"], after["originals"]["missing"], after["queues"]["backfill"]["visible"]) == (
        6,
        0,
        0,
    )
