"""Deploy a uniquely named disposable copy of the stack, smoke-test it, and destroy it whatever happened.

    python -m local.disposable [--stack NAME] [--dry-run]      # make smoke-disposable

Runs, with the pinned CDK CLI and whatever the credentials (or AWS_ENDPOINT_URL) point at:

    cdk deploy NAME -c stackName=NAME -c thumbnailsOverrides='{"disposable": true}' --require-approval never
    python -m local.smoke --stack NAME
    python -m local.teardown --stack NAME        # empties its buckets (they are DeletionPolicy Delete)
    cdk destroy NAME -c stackName=NAME -c thumbnailsOverrides='{"disposable": true}' --force

Against the local cloud (AWS_ENDPOINT_URL=http://localhost:...) nothing runs the new stack's function by
itself: after the deploy, what moto ignores is applied to the new stack and a poller is started for it (the
one `make local-up` starts for its own stack), and stopped before the destroy.

The last two run in a `finally`, also after a failed deploy or smoke test, Ctrl-C or SIGTERM. Exit status:
the smoke test's (1 if the deploy failed), or 1 if the stack could not be destroyed (the line says which
stack to delete by hand). `--dry-run` prints the commands and runs nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
CDK = REPO_ROOT / "node_modules" / ".bin" / "cdk"
DISPOSABLE = json.dumps({"disposable": True})


class Interrupted(Exception):
    """SIGTERM, turned into an exception so that the stack is still destroyed."""


def disposable_name() -> str:
    return f"ThumbnailSmoke-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


def commands(stack: str) -> dict[str, list[str]]:
    context = ["-c", f"stackName={stack}", "-c", f"thumbnailsOverrides={DISPOSABLE}"]
    python = sys.executable
    return {
        "deploy": [str(CDK), "deploy", stack, *context, "--require-approval", "never", "--progress", "events"],
        "smoke": [python, "-m", "local.smoke", "--stack", stack],
        "empty": [python, "-m", "local.teardown", "--stack", stack],
        "destroy": [str(CDK), "destroy", stack, *context, "--force"],
    }


def is_local_cloud(endpoint: str | None) -> bool:
    return bool(endpoint) and str(endpoint).startswith(("http://localhost:", "http://127.0.0.1:"))


@contextlib.contextmanager
def local_function(stack: str) -> Iterator[None]:
    """On the local cloud: the moto gaps closed for `stack` and a poller running its function, for the block."""
    if not is_local_cloud(os.environ.get("AWS_ENDPOINT_URL")):
        yield
        return
    from local import cloud

    with tempfile.TemporaryDirectory(prefix="disposable-poller-") as state:
        state_dir = Path(state)
        print(f"==> local cloud: closing moto's gaps for {stack} and starting a poller for its function", flush=True)
        cloud._apply_moto_gaps(stack=stack, environment=dict(os.environ))
        poller = cloud._start_background(
            [sys.executable, "-m", "local.lambda_runtime", "--stack", stack, "--state-dir", state],
            log=state_dir / cloud.POLLER_LOG,
            environment=dict(os.environ),
        )
        try:
            cloud._wait_for_runtime(state_dir, poller)
            yield
        finally:
            cloud._stop_process_group(poller.pid, "poller")


def _run(name: str, command: list[str]) -> int:
    shown = " ".join(shlex.quote(part) for part in command).replace(str(REPO_ROOT) + "/", "")
    print(f"==> {name}: {shown}", flush=True)
    return subprocess.call(command, cwd=REPO_ROOT)  # noqa: S603 - the pinned CLI and our modules


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.disposable", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", default=None, help="default: ThumbnailSmoke-<time>-<random>")
    parser.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    options = parser.parse_args(argv)
    stack = options.stack or disposable_name()
    steps = commands(stack)
    if options.dry_run:
        for name, command in steps.items():
            print(f"{name}: {' '.join(shlex.quote(part) for part in command)}")
        return 0

    def on_term(*_: Any) -> None:
        raise Interrupted

    signal.signal(signal.SIGTERM, on_term)
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    status = 1
    print(f"==> disposable stack {stack}: deploy, smoke test, destroy", flush=True)
    try:
        if _run("deploy", steps["deploy"]) != 0:
            print(f"disposable: the deploy of {stack} failed", file=sys.stderr)
        else:
            with local_function(stack):
                status = _run("smoke", steps["smoke"])
    except (KeyboardInterrupt, Interrupted):
        print("\ninterrupted: destroying the disposable stack anyway", file=sys.stderr)
        status = 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the teardown itself is not interrupted
        emptied = _run("empty", steps["empty"])
        destroyed = _run("destroy", steps["destroy"])
        if emptied != 0 or destroyed != 0:
            print(
                f"disposable: could not destroy {stack}: delete it by hand (`make destroy STACK={stack}`)",
                file=sys.stderr,
            )
            status = status or 1
    left_behind = emptied != 0 or destroyed != 0
    outcome = "passed" if status == 0 else "FAILED"
    print(f"disposable: {outcome}; {stack} {'LEFT BEHIND' if left_behind else 'destroyed'}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
