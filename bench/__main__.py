"""`python -m bench`: the image engine against a naive Pillow baseline and the decode floor, then the
function's batch path against S3 with a network latency model (the I/O section, bench/throughput.py).

Prints figures, targets (PASS/MISS) and a cost estimate; exits 0 whatever the verdicts, because it
is a report, not a test. `--markdown PATH` also writes the report as markdown: into a file that has
the bench markers (docs/benchmark.md does) only the part between them is replaced.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from PIL import Image

from stacks.cdk_json import CDK_JSON, default_function_config, thumbnails_defaults
from thumbnailer.imaging import heif
from thumbnailer.imaging.engine import make_thumbnails
from thumbnailer.imaging.rejections import ImageRejected

from .cost import estimate_per_million
from .features import (
    CodecPoint,
    FeatureFigures,
    avif_against_webp,
    heic_decode_ms,
    match_source,
    placeholder_timing,
    smart_crop_figures,
)
from .floor import decode_floor, observe_engine
from .imports import HANDLER_FILE, measure_import_times
from .inputs import GENERATOR_VERSION, INPUT_NAMES, BenchInput, input_path, select_inputs
from .memory import peak_increase
from .naive import naive_thumbnails
from .quality import variant_qualities
from .report import (
    IO_TARGET_BATCH,
    InputResult,
    Report,
    build_targets,
    engine_fingerprint,
    load_average,
    machine_description,
    render_text,
    write_markdown,
)
from .throughput import measure as measure_throughput
from .timing import pin_to_one_core, time_interleaved

CONFIG = default_function_config()  # the presets and limits cdk.json deploys
PRESETS, LIMITS = CONFIG.presets, CONFIG.limits
DEFAULT_REPEATS = 7
QUICK_REPEATS = 3
WARMUP = 1
COST_INPUT = "jpeg-12mp"
CODEC_INPUT = "jpeg-12mp"  # whose 1024-px rendition AVIF and WebP are compared on
HEIC_INPUT = "heic-12mp"
MANIFESTS_PER_UPLOAD = 1
DEFAULT_IO_REPEATS = 5
QUICK_IO_REPEATS = 2


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=_positive_int, help=f"timed runs per contender (default {DEFAULT_REPEATS})")
    parser.add_argument("--only", choices=INPUT_NAMES, help="benchmark one input only")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_REPEATS} repeats unless --repeats is given")
    parser.add_argument("--markdown", type=Path, metavar="PATH", help="also write the report as markdown to PATH")
    parser.add_argument(
        "--no-features", action="store_true", help="skip the HEIC/placeholder/smart-crop/AVIF section (~1 min)"
    )
    sections = parser.add_mutually_exclusive_group()
    sections.add_argument("--no-io", action="store_true", help="skip the I/O section (no cost estimate then)")
    sections.add_argument("--io-only", action="store_true", help="only the I/O section (and the cost estimate)")
    return parser.parse_args(argv)


def bench_input(item: BenchInput, repeats: int) -> InputResult:
    path = input_path(item)
    data = path.read_bytes()
    with Image.open(path) as header:
        frames = getattr(header, "n_frames", 1)
        dimensions = f"{header.width}x{header.height}" + (f" x{frames} frames" if frames > 1 else "")
    # What every result has; the measurements below are added to it with `replace`.
    facts = InputResult(name=item.name, description=item.description, source_bytes=len(data), dimensions=dimensions)
    print(f"[{item.name}] {item.description}: {len(data) / 1e6:.1f} MB", file=sys.stderr, flush=True)
    try:
        observation = observe_engine(data, PRESETS, LIMITS)
    except ImageRejected as rejection:  # a valid bench input refused is an engine bug: report it, go on
        return replace(facts, error=f"engine rejected it ({rejection})")
    timings = time_interleaved(
        {
            "engine": lambda: make_thumbnails(data, PRESETS, LIMITS),
            "naive": lambda: naive_thumbnails(data, PRESETS),
            "floor": decode_floor(data, PRESETS, LIMITS, observation),
        },
        repeats=repeats,
        warmup=WARMUP,
    )
    return replace(
        facts,
        engine=timings["engine"],
        naive=timings["naive"],
        floor=timings["floor"],
        decode_scale=observation.decode_scale,
        engine_memory_mib=peak_increase("engine", path).mebibytes,
        naive_memory_mib=peak_increase("naive", path).mebibytes,
        output_bytes=sum(len(thumbnail.data) for thumbnail in observation.rendition.thumbnails),
        qualities=variant_qualities(data, observation),
        placeholder=placeholder_timing(item.name, observation.rendition, repeats),
    )


def bench_features(selected: list[str], repeats: int) -> FeatureFigures:
    """The issue-11 section: each part only when its input is among the selected ones."""
    print("[features] HEIC decode, smart crop, AVIF vs WebP", file=sys.stderr, flush=True)
    inputs = {item.name: item for item in select_inputs(None)}
    heic_ms = None
    if HEIC_INPUT in selected:
        heic_ms = heic_decode_ms(input_path(inputs[HEIC_INPUT]).read_bytes(), repeats)
    codecs: tuple[CodecPoint, ...] = ()
    if CODEC_INPUT in selected:
        picture = match_source(input_path(inputs[CODEC_INPUT]).read_bytes())
        codecs = tuple(avif_against_webp(picture, repeats))
    return FeatureFigures(heic_decode_ms=heic_ms, smart=smart_crop_figures(repeats), codecs=codecs)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    repeats = args.repeats or (QUICK_REPEATS if args.quick else DEFAULT_REPEATS)
    context = thumbnails_defaults()
    started = datetime.datetime.now(datetime.UTC)
    load_before = load_average()
    pinning = pin_to_one_core()
    heif.register_decoder()  # so the header read and the naive baseline can open HEIC (the engine does it itself)

    selected = [] if args.io_only else select_inputs(args.only)
    results = [bench_input(item, repeats) for item in selected]
    features = None if args.no_features or args.io_only else bench_features([item.name for item in selected], repeats)

    imports, import_note = None, "not measured in this run"
    if args.io_only:
        pass
    elif HANDLER_FILE.exists():
        print("[imports] handler cold import", file=sys.stderr, flush=True)
        imports = measure_import_times(repeats=repeats)
    else:
        import_note = f"{HANDLER_FILE.relative_to(CDK_JSON.parent)} does not exist yet"

    throughput, io_conditions = None, []
    if not args.no_io:
        io_repeats = args.repeats or (QUICK_IO_REPEATS if args.quick else DEFAULT_IO_REPEATS)
        print(f"[io] the handler on batches against S3, {io_repeats} rounds", file=sys.stderr, flush=True)
        cost_input = next(item for item in select_inputs(None) if item.name == COST_INPUT)
        io_load_before = load_average()
        throughput = measure_throughput(input_path(cost_input), io_repeats)
        io_conditions = [
            ("I/O section", f"{io_repeats} rounds + 1 warm-up, {throughput.affinity}; {throughput.latency_model}"),
            ("Load average during I/O (1/5/15 min)", f"before {io_load_before}, after {load_average()}"),
        ]

    cost, cost_basis = None, ""
    cost_figures = throughput.figures(IO_TARGET_BATCH, "pipelined") if throughput else None
    if cost_figures is not None:
        puts = len(PRESETS) + MANIFESTS_PER_UPLOAD
        cost = estimate_per_million(cost_figures.wall_ms_per_image, context["memoryMb"], puts_per_upload=puts)
        cost_basis = f", batches of {IO_TARGET_BATCH}, S3 latency model"

    conditions = [
        *machine_description(),
        ("Engine", engine_fingerprint()),
        ("Run", f"{started:%Y-%m-%d %H:%M} UTC, {repeats} repeats + {WARMUP} warm-up, {pinning}"),
        ("Load average (1/5/15 min)", f"before {load_before}, after {load_average()}"),
        ("Inputs", f"generated in code (bench/inputs.py), generator v{GENERATOR_VERSION}, cached in bench/.inputs/"),
        ("Presets", ", ".join(f"{p.name} {p.mode} {p.format} q{p.quality}" for p in PRESETS)),
        ("Lambda memory (cdk.json)", f"{context['memoryMb']} MB"),
        *io_conditions,
    ]
    report = Report(
        results=results,
        imports=imports,
        import_note=import_note,
        cost=cost,
        targets=build_targets(results, imports, throughput, context["memoryMb"], features),
        conditions=conditions,
        features=features,
        throughput=throughput,
        memory_mb=context["memoryMb"],
        cost_basis=cost_basis,
    )
    print(render_text(report))
    if args.markdown is not None:
        write_markdown(args.markdown, report)
        print(f"\nMarkdown written to {args.markdown}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
