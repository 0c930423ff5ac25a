"""An embedded AWS to try the `thumbnails` CLI against: `make sandbox` (or `python -m local.sandbox`).

Starts moto's server on localhost, deploys the synthesized stack into it (as the e2e tests do in-process), puts
some originals in the bucket *without* events (as if they predated the pipeline), and then plays the function:
it drains the ingest and backfill queues, once a second, until Ctrl-C. In another terminal:

    export AWS_ENDPOINT_URL=http://localhost:4566 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \\
           AWS_REGION=us-east-1
    thumbnails status
    thumbnails backfill --local
    thumbnails status

Only localhost is served, and nothing here reaches real AWS: the AWS variables of the calling shell are
replaced before any client exists. moto executes no Distributed Map with an ItemBatcher, so use `--local`.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import boto3

from local.demo import _isolate_from_real_aws as isolate_from_real_aws
from local.moto_cloud import synthesize
from local.pipeline import LocalPipeline
from local.poller import QueueNotDrained

HOST = "localhost"  # moto's CloudFormation resolves bucket URLs by host name; 127.0.0.1 breaks change sets
DEFAULT_PORT = 4566
DEFAULT_SEED = 24
DEFAULT_LOG = Path("out/sandbox/function.log")
POLL_SECONDS = 1.0


@contextlib.contextmanager
def moto_server(port: int) -> Iterator[str]:
    """moto's server in a thread of this process, on localhost only; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address=HOST, port=port, verbose=False)
    server.start()
    try:
        yield f"http://{HOST}:{port}"
    finally:
        server.stop()


def use_endpoint(endpoint: str) -> None:
    """Every client this process creates from now on talks to `endpoint` (after isolation from real AWS)."""
    isolate_from_real_aws()
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    os.environ["AWS_REGION"] = os.environ["AWS_DEFAULT_REGION"]


def sample_image(index: int) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), ((index * 37) % 256, (index * 91) % 256, 160)).save(buffer, format="JPEG")
    return buffer.getvalue()


def deploy_sandbox(*, seed: int) -> LocalPipeline:
    """Synthesize, deploy into the server this process points at, seed originals without events."""
    with tempfile.TemporaryDirectory() as outdir:
        pipeline = LocalPipeline.deploy(synthesize(outdir=Path(outdir)), session=boto3.Session())
    pipeline.seed_existing({f"existing/{index:03d}.jpg": sample_image(index) for index in range(seed)})
    return pipeline


def serve(pipeline: LocalPipeline, *, until: float | None = None) -> None:
    """Drain the queues the function consumes, once a second, until Ctrl-C (or `until`, a monotonic time)."""
    while until is None or time.monotonic() < until:
        with contextlib.suppress(QueueNotDrained):
            pipeline.run(deadline_seconds=60)
        time.sleep(POLL_SECONDS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.sandbox", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"on localhost (default {DEFAULT_PORT})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="originals put there without events")
    parser.add_argument("--log", type=Path, default=DEFAULT_LOG, help=f"the function's log (default {DEFAULT_LOG})")
    arguments = parser.parse_args(argv)
    arguments.log.parent.mkdir(parents=True, exist_ok=True)
    with moto_server(arguments.port) as endpoint, arguments.log.open("w", encoding="utf-8") as log:
        use_endpoint(endpoint)
        print(f"deploying the stack into moto at {endpoint}...", file=sys.stderr)
        with contextlib.redirect_stdout(log):  # the handler module is imported in here: its logs go to the file
            pipeline = deploy_sandbox(seed=arguments.seed)
        print(
            f"ready: {arguments.seed} originals without thumbnails in {pipeline.originals_bucket}.\n"
            f"In another terminal:\n"
            f"  export AWS_ENDPOINT_URL={endpoint} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing "
            f"AWS_REGION={os.environ['AWS_REGION']}\n"
            f"  thumbnails status; thumbnails backfill --local; thumbnails status\n"
            f"The function drains the queues here (its log: {arguments.log}); Ctrl-C stops.",
            file=sys.stderr,
        )
        with contextlib.redirect_stdout(log), contextlib.suppress(KeyboardInterrupt):
            serve(pipeline)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
