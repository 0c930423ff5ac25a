"""`python -m bench.tracing`: what adding the AWS X-Ray SDK to the function would cost, at cold start and per image.

`tracing: true` turns on Lambda active tracing, which records Lambda's own invocation segments; the function does
not ship the X-Ray SDK, and what active tracing costs inside Lambda cannot be measured here (no Lambda, no X-Ray).
What can be measured is the SDK the function would need for S3 subsegments: `aws_xray_sdk.core` imported and
`patch(["boto3", "botocore"])` called (aws-xray-sdk, pinned in requirements.lock through moto). Three parts:

- cold import: `import thumbnailer.handler` alone, then followed by `import aws_xray_sdk.core`, then by the import
  and the patch, each in a fresh interpreter with bench/imports.py's timer and Lambda-like environment, rounds
  interleaved, one unmeasured run each first. `LAMBDA_TASK_ROOT` is set in the children, as in Lambda, so the
  recorder the SDK builds at import takes its Lambda branch (a local sampler; outside Lambda it builds the
  centralized-sampling machinery instead, which imports more). Like Lambda, the SDK then touches
  /tmp/.aws-xray/initialized; the file is removed afterwards when this run created it.
- per image: the function's batch path (`handle_batch`, the real service, engine and S3 client configuration,
  pipelined, batches of cdk.json's `batchSize`) against moto S3 in this process, through bench/throughput.py's
  `Rig`, without the latency model (the SDK's cost is CPU), untraced and traced, alternating round by round; the
  thumbnails bucket is emptied before each batch, so each is a first upload. Traced means what the SDK does in
  Lambda: the recorder runs with Lambda's context (a facade segment per thread from `_X_AMZN_TRACE_ID`, which
  Lambda sets per invocation and this sets before each batch, sampled) and its streaming threshold 0, so every
  subsegment is serialised and emitted as soon as it ends; the emitter is the SDK's UDP emitter with the socket
  send replaced by keeping the message (counted after the timing). botocore is patched once; between batches the
  two patched methods are swapped back to the originals, so the untraced batches run no SDK code, and the
  bench's own untimed S3 calls (setup, emptying, checks) are never traced. A begin_segment/end_segment around the
  batch would record nothing: the pipeline makes its S3 calls in worker threads, which a non-Lambda context
  (thread-local) leaves without a segment.
- the S3 calls of one first upload alone, the same way traced and untraced, with botocore's Stubber answering
  instead of moto (`measure_calls`): the SDK's own CPU per upload, which the render's and moto's noise blur in the
  batch figures. The Stubber answers before a request is prepared, so the trace header injection is not in it.

The batch path runs on two sources: a 640x480 JPEG generated in code (bench/inputs.py's picture), where the SDK's
cost is a larger share, and the 12 MP bench JPEG, the case of the I/O section and the cost estimate. Time is the
process's CPU time (every thread, moto's included; median over the rounds), on one core; wall time is printed too.
`--rounds N` sets the rounds of every part (default 21: about a minute and a half). docs/benchmark.md has the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import gc
import io
import json
import os
import secrets
import shutil
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stacks.cdk_json import thumbnails_defaults

from .imports import FUNCTIONS_DIR, HANDLER_STATEMENT, _lambda_like_environment, _time_import
from .inputs import INPUTS, SEED, _encode, input_path, photo_like
from .report import load_average
from .throughput import ORIGINALS_BUCKET, REGION, THUMBNAILS_BUCKET, Rig
from .timing import Timing, pin_to_one_core, time_interleaved

if TYPE_CHECKING:
    from thumbnailer.contract import Settings

DEFAULT_ROUNDS = 21
WARMUP = 1
SDK_IMPORT = "import aws_xray_sdk.core"
SDK_PATCH = "aws_xray_sdk.core.patch(['boto3', 'botocore'])"
IMPORT_STATEMENTS = {
    "handler": HANDLER_STATEMENT,
    "handler + SDK import": f"{HANDLER_STATEMENT}; {SDK_IMPORT}",
    "handler + SDK import + patch": f"{HANDLER_STATEMENT}; {SDK_IMPORT}; {SDK_PATCH}",
}
SMALL_SIZE = (640, 480)
UPLOADS_PER_BLOCK = 50  # of the isolated S3 calls, per timed block
LARGE_INPUT = "jpeg-12mp"
TRACE_HEADER = "_X_AMZN_TRACE_ID"
TOUCH_DIR = Path("/tmp/.aws-xray")  # where the SDK signals its initialisation in Lambda (lambda_launcher.py)


def describe(values: Sequence[float]) -> str:
    return f"{statistics.median(values):.1f} (min {min(values):.1f}, max {max(values):.1f})"


# --- cold import --------------------------------------------------------------------------------------------------


def measure_imports(rounds: int) -> dict[str, list[float]]:
    """CPU ms of each statement per round, each in a fresh interpreter, rounds interleaved."""
    environment = {**_lambda_like_environment(), "LAMBDA_TASK_ROOT": str(FUNCTIONS_DIR)}
    touch_dir_existed = TOUCH_DIR.exists()
    try:
        for statement in IMPORT_STATEMENTS.values():  # writes the .pyc files
            _time_import(statement, environment)
        times: dict[str, list[float]] = {name: [] for name in IMPORT_STATEMENTS}
        for _ in range(rounds):
            for name, statement in IMPORT_STATEMENTS.items():
                times[name].append(_time_import(statement, environment))
    finally:
        if not touch_dir_existed:
            shutil.rmtree(TOUCH_DIR, ignore_errors=True)
    return times


# --- per image ----------------------------------------------------------------------------------------------------


class Tracer:
    """The SDK configured as in Lambda, botocore patched, and the patch switchable per batch."""

    def __init__(self) -> None:
        import botocore.client
        import botocore.endpoint
        from aws_xray_sdk.core import patch, xray_recorder
        from aws_xray_sdk.core.emitters.udp_emitter import UDPEmitter
        from aws_xray_sdk.core.lambda_launcher import LambdaContext
        from aws_xray_sdk.core.sampling.local.sampler import LocalSampler

        # UDPEmitter is Any to mypy (aws_xray_sdk has no type information), which strict refuses as a base class.
        class KeepingEmitter(UDPEmitter):  # type: ignore[misc]
            """The SDK's emitter (message built, entity serialised) with the socket send replaced."""

            def __init__(self) -> None:
                super().__init__()
                self.messages: list[str] = []

            def _send_data(self, data: str) -> None:
                self.messages.append(data)

        self.emitter = KeepingEmitter()
        # What the recorder's constructor does when it finds LAMBDA_TASK_ROOT (recorder.py), with this emitter.
        xray_recorder.configure(context=LambdaContext(), sampler=LocalSampler(), streaming_threshold=0)
        xray_recorder.configure(emitter=self.emitter)
        patch(["boto3", "botocore"])
        self._methods = [
            (botocore.client.BaseClient, "_make_api_call"),  # the subsegment around each call
            (botocore.endpoint.Endpoint, "prepare_request"),  # the trace header on each request
        ]
        self._patched = [owner.__dict__[name] for owner, name in self._methods]
        if not all(hasattr(method, "__wrapped__") for method in self._patched):
            raise RuntimeError("aws_xray_sdk no longer patches botocore with wrapt wrappers: update bench/tracing.py")
        self._set(patched=False)

    def _set(self, *, patched: bool) -> None:
        for (owner, name), method in zip(self._methods, self._patched, strict=True):
            setattr(owner, name, method if patched else method.__wrapped__)

    @contextlib.contextmanager
    def invocation(self, traced: bool) -> Iterator[None]:
        """One invocation's worth of tracing: a new sampled trace header, as Lambda sets before each invocation."""
        if not traced:
            yield
            return
        root = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
        os.environ[TRACE_HEADER] = f"Root={root};Parent={secrets.token_hex(8)};Sampled=1"
        self._set(patched=True)
        try:
            yield
        finally:
            self._set(patched=False)
            del os.environ[TRACE_HEADER]

    def take_subsegments(self) -> tuple[int, int]:
        """(subsegments, bytes) emitted since the last call."""
        count = size = 0
        for message in self.emitter.messages:
            size += len(message.encode())
            count += _count_subsegments(json.loads(message.split("\n", 1)[1]))
        self.emitter.messages.clear()
        return count, size


def _count_subsegments(document: dict[str, Any]) -> int:
    own = 1 if document.get("type") == "subsegment" else 0
    return own + sum(_count_subsegments(child) for child in document.get("subsegments", ()))


@dataclass(frozen=True)
class PerImage:
    source: str
    batch: int
    rounds: int
    cpu_ms: dict[str, list[float]]  # "untraced" / "traced": per-image CPU ms per round
    wall_ms: dict[str, list[float]]
    subsegments_per_upload: float
    bytes_per_upload: float


def measure_per_image(tracer: Tracer, label: str, source: bytes, batch: int, rounds: int) -> tuple[Settings, PerImage]:
    """The figures, and the settings the rig's service runs with (cdk.json's defaults)."""
    from thumbnailer.pipeline import PIPELINED

    rig = Rig(source, batch)  # starts a fresh moto (a previous Rig's objects are reset)
    event = rig.event(batch)
    cpu: dict[str, list[float]] = {"untraced": [], "traced": []}
    wall: dict[str, list[float]] = {"untraced": [], "traced": []}
    subsegments: list[int] = []
    sizes: list[int] = []
    for round_number in range(WARMUP + rounds):
        order = (False, True) if round_number % 2 == 0 else (True, False)  # neither always second
        for traced in order:
            rig.empty_thumbnails()
            gc.collect()
            elapsed_wall, elapsed_cpu = rig.timed_batch(
                event, overlap=PIPELINED, label=f"{label}, traced={traced}", around=tracer.invocation(traced)
            )
            count, size = tracer.take_subsegments()
            if not traced and count:
                raise RuntimeError(f"{label}: {count} subsegments emitted by an untraced batch")
            if round_number < WARMUP:
                continue
            key = "traced" if traced else "untraced"
            cpu[key].append(elapsed_cpu * 1000 / batch)
            wall[key].append(elapsed_wall * 1000 / batch)
            if traced:
                subsegments.append(count)
                sizes.append(size)
    return rig.settings, PerImage(
        source=label,
        batch=batch,
        rounds=rounds,
        cpu_ms=cpu,
        wall_ms=wall,
        subsegments_per_upload=statistics.median(subsegments) / batch,
        bytes_per_upload=statistics.median(sizes) / batch,
    )


def measure_calls(tracer: Tracer, settings: Settings, rounds: int) -> tuple[dict[str, Timing], float]:
    """The S3 calls of one first upload (source GET, manifest GET answered 404, a PUT per preset, the manifest PUT)
    on the function's S3 client configuration, with botocore's Stubber answering instead of moto: the SDK's own CPU
    per upload, without the render and moto, whose noise hides it in the batch figures. Blocks of
    `UPLOADS_PER_BLOCK` uploads timed with bench/timing.py's `time_interleaved`. Returns the timings per upload
    and the subsegments per traced upload."""
    import boto3
    from botocore.exceptions import ClientError
    from botocore.response import StreamingBody
    from botocore.stub import Stubber

    from thumbnailer.handler import s3_client_config

    client = boto3.session.Session(region_name=REGION).client("s3", config=s3_client_config(settings))
    stubber = Stubber(client)
    stubber.activate()
    presets = len(settings.config.presets)
    source, manifest = "bench/image.jpg", "bench/image.jpg/manifest.json"

    def uploads() -> None:
        for _ in range(UPLOADS_PER_BLOCK):
            stubber.add_response("get_object", {"Body": StreamingBody(io.BytesIO(b"source"), 6), "ContentLength": 6})
            client.get_object(Bucket=ORIGINALS_BUCKET, Key=source)["Body"].read()
            stubber.add_client_error("get_object", "NoSuchKey", http_status_code=404)
            with contextlib.suppress(ClientError):
                client.get_object(Bucket=THUMBNAILS_BUCKET, Key=manifest)
            for index in range(presets + 1):
                stubber.add_response("put_object", {"ETag": '"etag"'})
                client.put_object(Bucket=THUMBNAILS_BUCKET, Key=f"bench/variant-{index}", Body=b"thumbnail")

    def traced() -> None:
        with tracer.invocation(traced=True):
            uploads()

    timings = time_interleaved({"untraced": uploads, "traced": traced}, repeats=rounds, warmup=WARMUP)
    subsegments, _ = tracer.take_subsegments()
    traced_blocks = WARMUP + rounds
    per_upload = {
        name: Timing(cpu_ms=t.cpu_ms / UPLOADS_PER_BLOCK, wall_ms=t.wall_ms / UPLOADS_PER_BLOCK, repeats=t.repeats)
        for name, t in timings.items()
    }
    return per_upload, subsegments / (traced_blocks * UPLOADS_PER_BLOCK)


# --- report -------------------------------------------------------------------------------------------------------


def render(
    imports: dict[str, list[float]],
    per_image: list[PerImage],
    calls: dict[str, Timing],
    call_subsegments: float,
    conditions: list[tuple[str, str]],
) -> str:
    lines = ["X-Ray SDK cost (bench/tracing.py)", ""]
    lines += [f"{name}: {value}" for name, value in conditions]
    base = imports["handler"]
    lines += ["", "Cold import, CPU ms in a fresh interpreter (median, min, max):"]
    for name, values in imports.items():
        line = f"  {name:<30} {describe(values)}"
        if values is not base:
            differences = [value - handler for value, handler in zip(values, base, strict=True)]
            ratio = statistics.median(values) / statistics.median(base)
            line += f"  ratio {ratio:.2f}x, paired difference {describe(differences)}"
        lines.append(line)
    lines += ["", "Per image, the function's pipelined batch path against moto S3, no latency model:"]
    for figures in per_image:
        untraced, traced = figures.cpu_ms["untraced"], figures.cpu_ms["traced"]
        differences = [with_sdk - without for with_sdk, without in zip(traced, untraced, strict=True)]
        ratio = statistics.median(traced) / statistics.median(untraced)
        per_subsegment = statistics.median(differences) / figures.subsegments_per_upload
        lines += [
            f"  {figures.source}, batches of {figures.batch}, {figures.rounds} rounds:",
            f"    CPU ms/image untraced {describe(untraced)}",
            f"    CPU ms/image traced   {describe(traced)}",
            f"    ratio traced/untraced {ratio:.3f}x; paired difference {describe(differences)} ms/image "
            f"= {per_subsegment:.2f} ms per subsegment",
            f"    wall ms/image untraced {describe(figures.wall_ms['untraced'])}, "
            f"traced {describe(figures.wall_ms['traced'])}",
            f"    subsegments per upload {figures.subsegments_per_upload:g}, "
            f"{figures.bytes_per_upload / 1024:.1f} KiB of segment documents per upload",
        ]
    untraced_ms, traced_ms = calls["untraced"].cpu_ms, calls["traced"].cpu_ms
    added_ms = traced_ms - untraced_ms
    lines += [
        f"  the S3 calls of one first upload alone (Stubber instead of moto), blocks of {UPLOADS_PER_BLOCK} uploads, "
        f"{calls['traced'].repeats} rounds:",
        f"    CPU ms/upload untraced {untraced_ms:.2f}, traced {traced_ms:.2f}: the SDK adds {added_ms:.2f} ms "
        f"({added_ms / call_subsegments:.3f} ms per subsegment, {call_subsegments:g} per upload); "
        f"wall {calls['untraced'].wall_ms:.2f} / {calls['traced'].wall_ms:.2f}",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tracing", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, help=f"default {DEFAULT_ROUNDS}")
    args = parser.parse_args(argv)
    started = datetime.datetime.now(datetime.UTC)
    load_before = load_average()
    pinning = pin_to_one_core()  # the import children inherit it

    print(f"[tracing] cold imports, {args.rounds} rounds", file=sys.stderr, flush=True)
    imports = measure_imports(args.rounds)

    batch = thumbnails_defaults()["batchSize"]
    tracer = Tracer()
    small = _encode(photo_like(*SMALL_SIZE, SEED), "JPEG", quality=90)
    large = input_path(next(item for item in INPUTS if item.name == LARGE_INPUT)).read_bytes()
    per_image = []
    for label, source in (
        (f"{SMALL_SIZE[0]}x{SMALL_SIZE[1]} JPEG ({len(small) / 1e3:.0f} kB)", small),
        (f"12 MP JPEG ({len(large) / 1e6:.1f} MB)", large),
    ):
        print(f"[tracing] per image: {label}, {args.rounds} rounds", file=sys.stderr, flush=True)
        rig_settings, figures = measure_per_image(tracer, label, source, batch, args.rounds)
        per_image.append(figures)
    print(f"[tracing] the S3 calls of an upload alone (stubbed), {args.rounds} rounds", file=sys.stderr, flush=True)
    calls, call_subsegments = measure_calls(tracer, rig_settings, args.rounds)

    conditions = [
        ("Run", f"{started:%Y-%m-%d %H:%M} UTC, {args.rounds} rounds + {WARMUP} warm-up, {pinning}"),
        ("Load average (1/5/15 min)", f"before {load_before}, after {load_average()}"),
        ("aws-xray-sdk", _sdk_version()),
    ]
    print(render(imports, per_image, calls, call_subsegments, conditions))
    return 0


def _sdk_version() -> str:
    from aws_xray_sdk.version import VERSION

    version: str = VERSION
    return version


if __name__ == "__main__":
    sys.exit(main())
