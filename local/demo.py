"""Run the whole pipeline on an embedded AWS and write a thumbnail gallery.

    python -m local.demo                      # generated samples
    python -m local.demo --images ~/Pictures  # your files (or IMAGES=~/Pictures), keys keep their names
    python -m local.demo --out out/demo       # where the gallery goes (default; make demo OUT=...)

No AWS account and no Docker: the app is synthesized in-process, deployed into moto (in this process),
every upload flows S3 -> EventBridge -> rule -> SQS inside moto, and the real function code is invoked
by a poller that behaves like Lambda's (see local/poller.py). The function's own output, its JSON logs
and EMF metrics (what Lambda would send to CloudWatch Logs), goes to `function.log` in the out folder.

The demo deploys with one extra preset, `DEMO_ANIMATED_PRESET` (an animated WebP), merged over cdk.json's
presets through the app's `thumbnailsOverrides` context, so that the gallery shows animation kept; a real
deployment makes only the presets cdk.json lists. A line is printed per upload as it completes; the files of
an IMAGES folder are read one at a time, so a folder of hundreds of photos is fine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TextIO

import boto3
from moto import mock_aws

from local.gallery import UploadResult, render_gallery
from local.moto_cloud import synthesize
from local.pipeline import LocalPipeline
from local.samples import Sample, demo_samples
from stacks.cdk_json import thumbnails_defaults

DEFAULT_OUT = Path("out/demo")
REGION = "us-east-1"
SUMMARY_FILE = "summary.json"
GALLERY_FILE = "index.html"
LOG_FILE = "function.log"
TABLE_MAX_ROWS = 20
THUMBNAILS_DIR = "thumbnails"
DEMO_OUTPUTS = frozenset({SUMMARY_FILE, GALLERY_FILE, LOG_FILE, THUMBNAILS_DIR})
# Variables that would point clients at a real account or endpoint; the demo must never use them.
AWS_VARIABLES_TO_DROP = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")
ENDPOINT_VARIABLE_PREFIX = "AWS_ENDPOINT_URL"  # AWS_ENDPOINT_URL and the per-service AWS_ENDPOINT_URL_<SERVICE>
# Demo only: an animated preset next to cdk.json's, so the gallery shows an animation kept (GIF -> animated WebP).
DEMO_ANIMATED_PRESET = {
    "name": "animated-256",
    "width": 256,
    "mode": "fit",
    "format": "webp",
    "quality": 75,
    "animated": True,
}


def demo_overrides() -> dict[str, object]:
    """The `thumbnailsOverrides` the demo deploys with: cdk.json's presets plus the animated one."""
    return {"presets": [*thumbnails_defaults()["presets"], DEMO_ANIMATED_PRESET]}


def main(argv: Sequence[str] | None = None) -> int:
    options = _parse_arguments(argv)
    _isolate_from_real_aws()
    started = time.perf_counter()
    out = options.out
    _prepare_out_folder(out)

    timings: dict[str, float] = {}
    print(
        "==> preparing the uploads" + (f" from {options.images}" if options.images else " (generated samples)"),
        flush=True,
    )
    with _phase(timings, "samples"):
        uploads: Iterable[Sample]
        if options.images:
            uploads, total = _user_samples(options.images), _count_files(options.images)
        else:
            samples = demo_samples()
            uploads, total = samples, len(samples)
    results: list[UploadResult] = []
    # The assembly folder must outlive the deployment: the assets are uploaded from it.
    with tempfile.TemporaryDirectory(prefix="thumbnail-demo-cdk-") as cdk_out:
        print("==> synthesizing the CDK app in-process (demo presets: cdk.json's plus an animated WebP)", flush=True)
        with _phase(timings, "synth"):
            assembly = synthesize(outdir=Path(cdk_out), context={"thumbnailsOverrides": demo_overrides()})
        with mock_aws(), (out / LOG_FILE).open("w", encoding="utf-8") as function_log:
            # What the function prints goes to the log file, as it would go to CloudWatch Logs; the handler
            # module is first imported in here, so its logger writes there too.
            print("==> deploying the template into moto (in this process)", flush=True)
            with _phase(timings, "deploy"), contextlib.redirect_stdout(function_log):
                pipeline = LocalPipeline.deploy(assembly, session=boto3.Session(region_name=REGION))
            print(f"deployed into moto in {timings['deploy']:.1f} s; uploading {total} file(s)", flush=True)
            with _phase(timings, "pipeline"):
                for number, upload in enumerate(uploads, start=1):
                    result = _process(pipeline, upload, out=out, function_log=function_log)
                    results.append(result)
                    print(f"[{number}/{total}] {_one_line(result)}", flush=True)
            dead_letters = len(pipeline.queue_messages("IngestDeadLetterQueueUrl"))
            skipped_types = list(pipeline.deployed.skipped_types)

    timings["total"] = round(time.perf_counter() - started, 2)
    notes = (
        f"Stack {assembly.stack_name} synthesized from this repository and deployed into moto (no AWS account); "
        f"each upload went S3 → EventBridge → rule → SQS → function. Wall time {timings['total']:.1f} s."
    )
    (out / GALLERY_FILE).write_text(render_gallery(results, title="Thumbnail pipeline demo", notes=notes), "utf-8")
    summary = {
        "uploads": [result.to_summary() for result in results],
        "ingestDeadLetters": dead_letters,
        "motoSkippedResourceTypes": skipped_types,
        "seconds": timings,
    }
    (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", "utf-8")
    _print_table(results, timings=timings, out=out, dead_letters=dead_letters)
    return 0


def _parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--images",
        type=Path,
        default=Path(os.environ["IMAGES"]) if os.environ.get("IMAGES") else None,
        help="upload the files in this folder (recursively, keeping their names) instead of the generated samples; "
        "default: the IMAGES environment variable",
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"where to write the gallery (default {DEFAULT_OUT})"
    )
    options = parser.parse_args(argv)
    if options.images is not None and not options.images.is_dir():
        parser.error(f"--images: {options.images} is not a folder")
    return options


def _isolate_from_real_aws() -> None:
    """Nothing the user's shell holds may send a request anywhere: moto answers every call in-process."""
    for variable in list(os.environ):
        if variable in AWS_VARIABLES_TO_DROP or variable.startswith(ENDPOINT_VARIABLE_PREFIX):
            del os.environ[variable]
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
            "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
            "CDK_DISABLE_VERSION_CHECK": "1",
        }
    )
    # moto logs a warning for each resource type it does not model; the summary lists them instead.
    logging.getLogger("moto").setLevel(logging.ERROR)


def _prepare_out_folder(out: Path) -> None:
    """Create it, or clear a previous demo's output; refuse a folder holding anything the demo did not write."""
    foreign = sorted(path.name for path in out.iterdir() if path.name not in DEMO_OUTPUTS) if out.exists() else []
    if foreign:
        sys.exit(f"--out: {out} holds files the demo did not write ({', '.join(foreign[:5])}); choose another folder")
    shutil.rmtree(out / THUMBNAILS_DIR, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)


def _user_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file() and not path.name.startswith("."))


def _count_files(folder: Path) -> int:
    count = len(_user_files(folder))
    if not count:
        sys.exit(f"--images: {folder} holds no files")
    return count


def _user_samples(folder: Path) -> Iterator[Sample]:
    """The folder's files one at a time: each is read when its turn comes, never the whole folder at once."""
    for path in _user_files(folder):
        yield Sample(path.relative_to(folder).as_posix(), path.read_bytes(), "your file")


def _one_line(result: UploadResult) -> str:
    variants = (result.manifest or {}).get("variants", [])
    outcome = result.status if result.status != "rejected" else f"rejected ({result.reason})"
    made = f", {len(variants)} thumbnails ({sum(variant['bytes'] for variant in variants):,} B)" if variants else ""
    return f"{result.key}: {outcome}{made} in {result.ms:.0f} ms"


def _process(pipeline: LocalPipeline, upload: Sample, *, out: Path, function_log: TextIO) -> UploadResult:
    """Upload one file, run the function until the queue is empty, and fetch what it wrote."""
    pipeline.upload(upload.key, upload.data)
    invoked = time.perf_counter()
    with contextlib.redirect_stdout(function_log):
        pipeline.run()
    ms = (time.perf_counter() - invoked) * 1000
    return UploadResult(
        key=upload.key,
        description=upload.description,
        bytes=len(upload.data),
        ms=round(ms, 1),
        manifest=pipeline.manifest(upload.key),
        local_files=_download_outputs(pipeline, upload.key, out / THUMBNAILS_DIR),
    )


def _download_outputs(pipeline: LocalPipeline, key: str, folder: Path) -> dict[str, str]:
    """Copy everything the function wrote for `key`; return thumbnails key -> path relative to the out folder."""
    local_files: dict[str, str] = {}
    root = folder.resolve()
    for output_key in pipeline.thumbnail_keys(key):
        target = (folder / output_key).resolve()
        if not target.is_relative_to(root):  # a key like "../x" must not write outside the out folder
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(pipeline.thumbnail(output_key)["Body"])
        local_files[output_key] = target.relative_to(root.parent).as_posix()
    return local_files


@contextlib.contextmanager
def _phase(timings: dict[str, float], name: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = round(time.perf_counter() - started, 2)


def _print_table(results: list[UploadResult], *, timings: dict[str, float], out: Path, dead_letters: int) -> None:
    if len(results) > TABLE_MAX_ROWS:  # a line per upload was printed already; a long table would only repeat it
        counts: dict[str, int] = {}
        for result in results:
            counts[result.status] = counts.get(result.status, 0) + 1
        print("\n" + ", ".join(f"{count} {status}" for status, count in sorted(counts.items())))
        _print_footer(timings=timings, out=out, dead_letters=dead_letters)
        return
    rows = [("upload", "outcome", "source", "variants", "ms")]
    for result in results:
        source = (result.manifest or {}).get("source", {})
        dimensions = f"{source['format']} {source['width']}x{source['height']}" if source.get("width") else "-"
        variants = (result.manifest or {}).get("variants", [])
        outcome = result.status if result.status != "rejected" else f"rejected: {result.reason}"
        made = f"{len(variants)} ({sum(variant['bytes'] for variant in variants):,} B)" if variants else "-"
        rows.append((result.key, outcome, dimensions, made, f"{result.ms:.0f}"))
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    print()
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    _print_footer(timings=timings, out=out, dead_letters=dead_letters)


def _print_footer(*, timings: dict[str, float], out: Path, dead_letters: int) -> None:
    phases = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in timings.items())
    print(f"\ningest DLQ: {dead_letters} message(s); time: {phases}")
    print(f"gallery: {(out / GALLERY_FILE).resolve()}")
    print(f"summary: {(out / SUMMARY_FILE).resolve()}; function logs: {(out / LOG_FILE).resolve()}")


if __name__ == "__main__":
    sys.exit(main())
