"""A burst of uploads through the pipeline deployed in moto: `make load` (2,000) or `python -m local.load -n N`.

Every upload goes S3 -> EventBridge -> rule -> ingest queue inside moto and is processed by the real function
code through the local poller (one poller: one function instance). Checked at the end, and the exit status
says whether all held:
- every upload ends with a complete manifest whose variants are all there (nothing lost);
- no thumbnail or manifest was written twice (every PutObject the function made is counted by key);
- the ingest, backfill and every dead-letter queue are empty.
The drain time printed is moto's and one poller's, on this machine: it says the pipeline keeps up and loses
nothing under a burst, not how fast Lambda is (see README, Performance, for per-image costs).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from local.demo import _isolate_from_real_aws as isolate_from_real_aws
from local.moto_cloud import StackAssembly, synthesize
from local.pipeline import LocalPipeline

QUEUE_OUTPUTS = (
    "IngestQueueUrl",
    "IngestDeadLetterQueueUrl",
    "EventsDeadLetterQueueUrl",
    "BackfillQueueUrl",
    "BackfillDeadLetterQueueUrl",
)
VARIANTS_PER_UPLOAD = 4  # cdk.json's default presets
DEFAULT_LOG = Path("out/load/function.log")


@dataclass
class LoadReport:
    uploads: int
    upload_seconds: float
    drain_seconds: float
    records: int
    complete: int
    lost: list[str]
    written_twice: list[str]
    queues_left: dict[str, int]

    @property
    def ok(self) -> bool:
        return (
            self.complete == self.uploads
            and not self.lost
            and not self.written_twice
            and not any(self.queues_left.values())
        )

    @property
    def per_second(self) -> float:
        return round(self.uploads / self.drain_seconds, 1) if self.drain_seconds else 0.0


def small_image(index: int) -> bytes:
    """A distinct 160x120 JPEG per upload (distinct ETags), cheap to make and to render."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (160, 120), (index % 256, (index // 256) % 256, 90)).save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def run_load(assembly: StackAssembly, *, uploads: int, deadline_seconds: float = 3600.0) -> LoadReport:
    with mock_aws():
        pipeline = LocalPipeline.deploy(assembly, session=boto3.Session())
        puts: Counter[str] = Counter()

        def count(params: dict[str, Any], **_: Any) -> None:
            puts[params["Key"]] += 1

        pipeline.function_s3.meta.events.register("provide-client-params.s3.PutObject", count)
        keys = [f"load/{index:05d}.jpg" for index in range(uploads)]
        started = time.perf_counter()
        for index, key in enumerate(keys):
            pipeline.upload(key, small_image(index))
        upload_seconds = time.perf_counter() - started

        started = time.perf_counter()
        report = pipeline.run(deadline_seconds=deadline_seconds)
        drain_seconds = time.perf_counter() - started

        complete = 0
        lost = []
        for key in keys:
            manifest = pipeline.manifest(key)
            present = set(pipeline.thumbnail_keys(key))
            if (
                manifest is not None
                and manifest["status"] == "complete"
                and {variant["key"] for variant in manifest["variants"]} | {f"{key}/manifest.json"} == present
                and len(manifest["variants"]) == VARIANTS_PER_UPLOAD
            ):
                complete += 1
            else:
                lost.append(key)
        queues_left = {output: len(pipeline.queue_messages(output)) for output in QUEUE_OUTPUTS}
    return LoadReport(
        uploads=uploads,
        upload_seconds=round(upload_seconds, 1),
        drain_seconds=round(drain_seconds, 1),
        records=report.records,
        complete=complete,
        lost=lost,
        written_twice=sorted(key for key, times in puts.items() if times > 1),
        queues_left=queues_left,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.load", description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--uploads", type=int, default=2000)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--log", type=Path, default=DEFAULT_LOG, help=f"the function's log lines (default {DEFAULT_LOG})"
    )
    arguments = parser.parse_args(argv)
    isolate_from_real_aws()
    arguments.log.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as outdir, arguments.log.open("w", encoding="utf-8") as log:
        print(f"synthesizing and deploying into moto, then {arguments.uploads} uploads...", file=sys.stderr)
        assembly = synthesize(outdir=Path(outdir))
        # The handler module is first imported in here, so Powertools' logger writes to the log file too.
        with contextlib.redirect_stdout(log):
            load = run_load(assembly, uploads=arguments.uploads)
    if arguments.json:
        print(json.dumps({**asdict(load), "perSecond": load.per_second, "ok": load.ok}, indent=2))
    else:
        print(
            f"{load.uploads} uploads in {load.upload_seconds} s; drained in {load.drain_seconds} s "
            f"({load.per_second}/s, one poller in moto); {load.records} records; {load.complete} complete; "
            f"lost {len(load.lost)}; written twice {len(load.written_twice)}; queues left {load.queues_left}"
        )
    return 0 if load.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
