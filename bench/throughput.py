"""The I/O section: the function's own batch path on 12 MP JPEGs against S3, with and without a latency model.

What runs is what Lambda runs after the entry point: `handle_batch` with the real `ThumbnailService`, the real
engine, the function's own S3 client configuration (`s3_client_config`) and cdk.json's presets, on SQS batches
of 1, 5 and 10 Object Created events. S3 is moto, in this process; `LatencyModel` (bench/latency.py) adds
what the network would cost. Each batch is timed in several modes, interleaved round by round:

- pipelined, latency model: the default (`pipeline.PIPELINED`);
- pipelined, no injected latency: the same code, S3 costing only botocore's and moto's CPU;
- sequential, latency model: `pipeline.SEQUENTIAL`, the old path (one record, one request at a time);
- sequential, no injected latency;
- writes not overlapped, latency model: prefetch and concurrent requests, but each record's writes finish
  before the next render (the overlaps short of the last one).

Before each timed batch the thumbnails bucket is emptied, so every batch is a first upload of its keys (five
PUTs per image, no HEAD). The peak RSS (VmHWM, reset before each batch) is the whole process's: Python,
boto3, Pillow, moto and its copy of the objects included, so it overstates the function's own.

Wall time is measured, not CPU time, so the timing process asks for a scheduling priority above the machine's
other processes (`_raise_priority`; the report says whether it got it): on a shared machine their CPU would
otherwise be counted as the function's, where Lambda gives a function a CPU share of its own.

A second run, in a fresh process, measures the memory bound: a batch of 10 sources each just under
`maxSourceBytes` through the pipelined path with the latency model, peak RSS against cdk.json's memoryMb.

`python -m bench.throughput [--repeats N]` prints the figures as one JSON document (what `python -m bench`
reads); `python -m bench.throughput --memory` runs the memory batch alone.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import logging
import os
import re
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

REPO_ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
ORIGINALS_BUCKET = "bench-originals"
THUMBNAILS_BUCKET = "bench-thumbnails"
BATCH_SIZES = (1, 5, 10)
MEMORY_BATCH = 10
PRIORITY = -10  # nice value asked for: ahead of other processes at the default 0
STATUS = Path("/proc/self/status")
CLEAR_REFS = Path("/proc/self/clear_refs")
AUTOGROUP = Path("/proc/self/autogroup")


@dataclass(frozen=True)
class Mode:
    key: str
    label: str
    latency: bool


MODES = (
    Mode("pipelined", "pipelined, latency model", latency=True),
    Mode("pipelined-no-latency", "pipelined, no injected latency", latency=False),
    Mode("sequential", "sequential, latency model", latency=True),
    Mode("sequential-no-latency", "sequential, no injected latency", latency=False),
    Mode("writes-not-overlapped", "prefetch + concurrent requests, writes before the next render", latency=True),
)


@dataclass(frozen=True)
class BatchFigures:
    """Medians over the repeats for one batch size and mode; per image = per batch / batch size."""

    batch: int
    mode: str
    wall_ms_per_image: float
    cpu_ms_per_image: float  # the whole process's CPU (every thread, moto's included)
    peak_rss_mb: float  # the highest over the repeats
    repeats: int


@dataclass(frozen=True)
class MemoryFigures:
    batch: int
    source_bytes: int
    max_source_bytes: int
    wall_ms_per_image: float
    rss_before_mb: float
    peak_rss_mb: float


def _overlap(mode: Mode) -> Any:
    from thumbnailer.pipeline import PIPELINED, SEQUENTIAL, Overlap

    if mode.key.startswith("pipelined"):
        return PIPELINED
    if mode.key.startswith("sequential"):
        return SEQUENTIAL
    return Overlap(prefetch=True, parallel_requests=True, background_writes=0)


def _status_mb(field: str) -> float:
    match = re.search(rf"^{field}:\s+(\d+) kB$", STATUS.read_text(), re.MULTILINE)
    if match is None:
        raise RuntimeError(f"{field} not found in {STATUS}")
    return int(match.group(1)) / 1024


def _reset_peak() -> None:
    CLEAR_REFS.write_text("5")  # VmHWM back to the current RSS (Linux >= 4.0)


class Rig:
    """moto S3 in this process with the originals uploaded, and the function's service on its own client."""

    def __init__(self, source: bytes, count: int) -> None:
        import boto3
        from aws_lambda_powertools import Logger, Metrics
        from moto import mock_aws

        from stacks.cdk_json import default_settings
        from thumbnailer.handler import s3_client_config
        from thumbnailer.service import ThumbnailService

        from .latency import LatencyModel

        self._mock = mock_aws()
        self._mock.start()
        session = boto3.session.Session(region_name=REGION)
        self.admin = session.client("s3")  # uploads and clean-up, outside the timings, no latency
        self.settings = default_settings(originals_bucket=ORIGINALS_BUCKET, thumbnails_bucket=THUMBNAILS_BUCKET)
        client = session.client("s3", config=s3_client_config(self.settings))
        self.latency = LatencyModel(enabled=False)
        self.latency.install(client)
        self.service = ThumbnailService(self.settings, client)
        self.logger = Logger(service="bench-throughput", stream=io.StringIO())
        self.metrics = Metrics(namespace="Bench", service="bench-throughput")
        for bucket in (ORIGINALS_BUCKET, THUMBNAILS_BUCKET):
            self.admin.create_bucket(Bucket=bucket)
        self.bodies = [self._upload(f"bench/image-{index:02}.jpg", source, index) for index in range(count)]

    def _upload(self, key: str, data: bytes, index: int) -> str:
        put = self.admin.put_object(Bucket=ORIGINALS_BUCKET, Key=key, Body=data)
        detail = {
            "version": "0",
            "bucket": {"name": ORIGINALS_BUCKET},
            "object": {"key": key, "size": len(data), "etag": put["ETag"].strip('"'), "sequencer": f"{index + 1:016X}"},
            "reason": "PutObject",
        }
        return json.dumps({"version": "0", "id": str(uuid.uuid4()), "detail-type": "Object Created",
                           "source": "aws.s3", "region": REGION, "detail": detail})  # fmt: skip

    def empty_thumbnails(self) -> None:
        listed = self.admin.list_objects_v2(Bucket=THUMBNAILS_BUCKET).get("Contents", [])
        if listed:
            objects: list[ObjectIdentifierTypeDef] = [{"Key": item["Key"]} for item in listed]
            self.admin.delete_objects(Bucket=THUMBNAILS_BUCKET, Delete={"Objects": objects})

    def event(self, size: int) -> dict[str, Any]:
        """The SQS event of the first `size` uploads, as the mapping would deliver it."""
        return {
            "Records": [
                {"messageId": f"m-{index}", "body": body, "attributes": {"ApproximateReceiveCount": "1"}}
                for index, body in enumerate(self.bodies[:size])
            ]
        }

    def timed_batch(
        self, event: dict[str, Any], *, overlap: Any, label: str, around: AbstractContextManager[Any] | None = None
    ) -> tuple[float, float]:
        """handle_batch on `event` (inside `around`, if given): (wall seconds, CPU seconds). The logs and metrics it
        left are cleared; a failed record, or a set not complete, raises."""
        from thumbnailer.handler import handle_batch

        with around if around is not None else nullcontext():
            cpu, wall = time.process_time(), time.perf_counter()
            response = handle_batch(
                event, None, self.service, overlap=overlap, logger=self.logger, metrics=self.metrics
            )
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        self.metrics.clear_metrics()
        # The handler of the first Rig in this process: Powertools reuses a service's logger and its handler.
        handler = self.logger.handlers[0]
        if not isinstance(handler, logging.StreamHandler):
            raise TypeError(f"expected the logger's StreamHandler, got {handler!r}")
        handler.stream.seek(0)
        handler.stream.truncate()
        if response["batchItemFailures"]:
            raise RuntimeError(f"{label}: records failed: {response}")
        self._check_complete(len(event["Records"]))
        return wall, cpu

    def run(self, size: int, mode: Mode) -> tuple[float, float, float]:
        """One batch of `size` first uploads: (wall seconds, CPU seconds, peak RSS MB)."""
        event = self.event(size)
        self.empty_thumbnails()
        self.latency.enabled = mode.latency
        gc.collect()
        _reset_peak()
        wall, cpu = self.timed_batch(event, overlap=_overlap(mode), label=f"{mode.label}, batch of {size}")
        peak = _status_mb("VmHWM")
        self.latency.enabled = False
        return wall, cpu, peak

    def _check_complete(self, size: int) -> None:
        listed = self.admin.list_objects_v2(Bucket=THUMBNAILS_BUCKET).get("Contents", [])
        manifests = [item for item in listed if item["Key"].endswith("/manifest.json")]
        if len(manifests) != size or len(listed) != size * (len(self.settings.config.presets) + 1):
            raise RuntimeError(f"batch of {size}: {len(listed)} outputs, {len(manifests)} manifests")


def measure_batches(source: bytes, repeats: int, warmup: int = 1) -> list[BatchFigures]:
    rig = Rig(source, max(BATCH_SIZES))
    walls: dict[tuple[int, str], list[float]] = {}
    cpus: dict[tuple[int, str], list[float]] = {}
    peaks: dict[tuple[int, str], list[float]] = {}
    for round_number in range(warmup + repeats):
        for size in BATCH_SIZES:
            for mode in MODES:
                wall, cpu, peak = rig.run(size, mode)
                if round_number >= warmup:
                    walls.setdefault((size, mode.key), []).append(wall)
                    cpus.setdefault((size, mode.key), []).append(cpu)
                    peaks.setdefault((size, mode.key), []).append(peak)
        print(f"[io] round {round_number + 1}/{warmup + repeats}", file=sys.stderr, flush=True)
    return [
        BatchFigures(
            batch=size,
            mode=mode.key,
            wall_ms_per_image=statistics.median(walls[size, mode.key]) * 1000 / size,
            cpu_ms_per_image=statistics.median(cpus[size, mode.key]) * 1000 / size,
            peak_rss_mb=max(peaks[size, mode.key]),
            repeats=repeats,
        )
        for size in BATCH_SIZES
        for mode in MODES
    ]


def measure_memory() -> MemoryFigures:
    from stacks.cdk_json import default_function_config

    from .inputs import byte_cap_jpeg_path

    limits = default_function_config().limits
    path = byte_cap_jpeg_path(limits.max_source_bytes, limits.max_source_pixels)
    source = path.read_bytes()
    rig = Rig(source, MEMORY_BATCH)
    source_bytes = len(source)
    del source  # moto keeps its own copy (on disk above its 5 MB buffer)
    gc.collect()
    rss_before = _status_mb("VmRSS")
    wall, _, peak = rig.run(MEMORY_BATCH, MODES[0])
    return MemoryFigures(
        batch=MEMORY_BATCH,
        source_bytes=source_bytes,
        max_source_bytes=limits.max_source_bytes,
        wall_ms_per_image=wall * 1000 / MEMORY_BATCH,
        rss_before_mb=rss_before,
        peak_rss_mb=peak,
    )


@dataclass(frozen=True)
class ThroughputResult:
    latency_model: str
    affinity: str
    batches: Sequence[BatchFigures]
    memory: MemoryFigures | None

    def figures(self, batch: int, mode: str) -> BatchFigures | None:
        return next((f for f in self.batches if f.batch == batch and f.mode == mode), None)


def run_in_subprocess(*arguments: str) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.throughput", *arguments],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        start_new_session=True,  # its own scheduling group: see _raise_priority
    )
    sys.stderr.write(completed.stderr)
    if completed.returncode != 0:
        raise RuntimeError(f"bench.throughput {' '.join(arguments)} failed:\n{completed.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def measure(source_path: Path, repeats: int) -> ThroughputResult:
    """The I/O figures, each part in a fresh process (timings, then the memory batch)."""
    from .latency import LatencyModel

    timed = run_in_subprocess("--source", str(source_path), "--repeats", str(repeats))
    print("[io] memory: a batch of 10 sources at maxSourceBytes", file=sys.stderr, flush=True)
    memory = run_in_subprocess("--memory")
    return ThroughputResult(
        latency_model=LatencyModel().describe(),
        affinity=f"{timed['affinity']}, {timed['priority']}",
        batches=[BatchFigures(**figures) for figures in timed["batches"]],
        memory=MemoryFigures(**memory["memory"]),
    )


def _affinity() -> str:
    if not hasattr(os, "sched_getaffinity"):
        return "unknown cores"
    cores = sorted(os.sched_getaffinity(0))
    return f"{len(cores)} core{'s' if len(cores) > 1 else ''} ({', '.join(map(str, cores))})"


def _raise_priority() -> str:
    """Wall time is what this section measures, and on a shared machine other processes' CPU inflates it (the
    engine section measures CPU time instead): a Lambda function's CPU share is its own. So this process, when it
    leads a session of its own (`run_in_subprocess` starts it so), asks for a higher priority than its
    neighbours: with autogroup scheduling (Linux's default for sessions) a process's own nice value only ranks it
    within its session, so the session's group gets the nice value. The report says what it got."""
    if os.getsid(0) != os.getpid():
        return "normal priority (not started in a session of its own)"
    try:
        AUTOGROUP.write_text(str(PRIORITY))
    except OSError:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, PRIORITY)
        except OSError:
            return "normal priority (raising it was refused)"
        return f"nice {PRIORITY}"
    return f"its own scheduling group at nice {PRIORITY}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.throughput", description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, help="the 12 MP JPEG to upload (default: the bench input)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--memory", action="store_true", help="only the batch of sources at maxSourceBytes")
    args = parser.parse_args(argv)
    priority = _raise_priority()
    if args.memory:
        print(json.dumps({"memory": asdict(measure_memory()), "affinity": _affinity(), "priority": priority}))
        return 0
    if args.source is None:
        from .inputs import INPUTS, input_path

        args.source = input_path(next(item for item in INPUTS if item.name == "jpeg-12mp"))
    batches = measure_batches(args.source.read_bytes(), args.repeats)
    print(
        json.dumps({"batches": [asdict(figures) for figures in batches], "affinity": _affinity(), "priority": priority})
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
