"""Targets, the machine description, and the report as plain text or markdown."""

from __future__ import annotations

import hashlib
import math
import os
import platform
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import PIL
from PIL import features

from .cost import (
    FULL_VCPU_MEMORY_MB,
    LAMBDA_ARM64_PER_GB_SECOND,
    LAMBDA_PER_MILLION_REQUESTS,
    REGION,
    S3_GET_PER_THOUSAND,
    S3_PUT_PER_THOUSAND,
    SQS_PER_MILLION_REQUESTS,
    CostEstimate,
    usd,
)
from .features import CodecPoint, FeatureFigures, PlaceholderTiming
from .imports import BASELINE_STATEMENT, HANDLER_STATEMENT, ImportTimes
from .quality import VariantQuality, lowest
from .throughput import BATCH_SIZES, ThroughputResult
from .timing import Timing


@dataclass(frozen=True)
class InputResult:
    """Everything measured for one input; `error` is set instead when the engine rejected it."""

    name: str
    description: str
    source_bytes: int
    dimensions: str
    engine: Timing | None = None
    naive: Timing | None = None
    floor: Timing | None = None
    decode_scale: str = ""
    engine_memory_mib: float | None = None
    naive_memory_mib: float | None = None
    output_bytes: int = 0
    qualities: Sequence[VariantQuality] = ()
    placeholder: PlaceholderTiming | None = None
    error: str | None = None

    @property
    def speedup(self) -> float | None:
        return self.naive.cpu_ms / self.engine.cpu_ms if self.engine and self.naive else None

    @property
    def floor_ratio(self) -> float | None:
        return self.engine.cpu_ms / self.floor.cpu_ms if self.engine and self.floor else None

    @property
    def memory_ratio(self) -> float | None:
        if self.engine_memory_mib is None or not self.naive_memory_mib:
            return None
        return self.engine_memory_mib / self.naive_memory_mib

    @property
    def min_delivered_psnr(self) -> tuple[str, float] | None:
        return lowest(self.qualities, "delivered_db")

    @property
    def min_pre_encode_psnr(self) -> tuple[str, float] | None:
        return lowest(self.qualities, "pre_encode_db")


@dataclass(frozen=True)
class Target:
    """A goal next to its measurement; `measured` None means it was not measured in this run."""

    subject: str
    what: str
    measured: float | None
    goal: float
    at_least: bool  # True: measured >= goal passes; False: measured <= goal passes
    unit: str

    @property
    def verdict(self) -> str:
        if self.measured is None:
            return "n/a"
        passes = self.measured >= self.goal if self.at_least else self.measured <= self.goal
        return "PASS" if passes else "MISS"

    def goal_text(self) -> str:
        return f"{'>=' if self.at_least else '<='} {self.goal:g}{self.unit}"

    def measured_text(self) -> str:
        return "-" if self.measured is None else f"{self.measured:.2f}{self.unit}"


# Speed-up over naive each input must reach (from the image-engine issue).
SPEEDUP_GOALS = {"jpeg-12mp": 9.5, "jpeg-24mp": 15.0, "png-12mp-rgba": 4.0, "webp-12mp": 4.0, "gif-animated": 2.0}
FLOOR_GOALS = {"jpeg-12mp": 1.4}
MEMORY_GOAL = 0.4  # engine's peak memory increase / naive's, every input
PSNR_GOAL_DB = 38.0  # every variant against a full-resolution LANCZOS reference
IMPORT_GOAL = 1.2  # handler cold import / `import boto3, PIL.Image`
# Issue 11.
PLACEHOLDER_GOAL_MS = 3.0  # per image
SMART_CROP_GOAL_MS = 5.0  # added per smart cover preset
SMART_KEPT_GOAL = 0.9  # average share of the subject's box inside the smart crop


# The I/O goals (from the throughput issue), measured on a batch of this many records.
IO_TARGET_BATCH = 5
LATENCY_COST_GOAL = 1.3  # per-image wall time, latency model / no injected latency (same code)
THROUGHPUT_GOAL = 1.8  # pipelined throughput / strictly sequential throughput, latency model
MEMORY_HEADROOM_GOAL = 0.25  # of cdk.json's memoryMb, left at the peak of a batch of maxSourceBytes sources


def build_targets(
    results: Sequence[InputResult],
    imports: ImportTimes | None,
    throughput: ThroughputResult | None = None,
    memory_mb: int | None = None,
    feature_figures: FeatureFigures | None = None,
) -> list[Target]:
    targets = []
    for result in results:
        if result.name in SPEEDUP_GOALS:
            targets.append(Target(result.name, "naive / engine", result.speedup, SPEEDUP_GOALS[result.name], True, "x"))
        if result.name in FLOOR_GOALS:
            targets.append(
                Target(result.name, "engine / decode floor", result.floor_ratio, FLOOR_GOALS[result.name], False, "x")
            )
        targets.append(Target(result.name, "peak memory engine / naive", result.memory_ratio, MEMORY_GOAL, False, "x"))
        worst = result.min_pre_encode_psnr
        targets.append(
            Target(result.name, "min PSNR before encoding", worst[1] if worst else None, PSNR_GOAL_DB, True, " dB")
        )
        if result.placeholder is not None:
            targets.append(Target(result.name, "placeholder", result.placeholder.ms, PLACEHOLDER_GOAL_MS, False, " ms"))
    if feature_figures is not None and feature_figures.smart is not None:
        smart = feature_figures.smart
        targets.append(
            Target("smart crop", "added per cover preset", smart.analysis_ms, SMART_CROP_GOAL_MS, False, " ms")
        )
        targets.append(Target("smart crop", "subject kept (average)", smart.smart_kept, SMART_KEPT_GOAL, True, ""))
    if imports is not None:
        ratio = imports.handler_ms / imports.baseline_ms if imports.baseline_ms else None
        targets.append(Target("handler", "cold import / boto3+PIL", ratio, IMPORT_GOAL, False, "x"))
    if throughput is not None:
        targets += _io_targets(throughput, memory_mb)
    return targets


def _io_targets(throughput: ThroughputResult, memory_mb: int | None) -> list[Target]:
    subject = f"I/O, batch of {IO_TARGET_BATCH}"
    piped = throughput.figures(IO_TARGET_BATCH, "pipelined")
    quiet = throughput.figures(IO_TARGET_BATCH, "pipelined-no-latency")
    sequential = throughput.figures(IO_TARGET_BATCH, "sequential")
    latency_cost = piped.wall_ms_per_image / quiet.wall_ms_per_image if piped and quiet else None
    speedup = sequential.wall_ms_per_image / piped.wall_ms_per_image if piped and sequential else None
    targets = [
        Target(subject, "wall/image, latency model / no latency", latency_cost, LATENCY_COST_GOAL, False, "x"),
        Target(subject, "throughput pipelined / sequential", speedup, THROUGHPUT_GOAL, True, "x"),
    ]
    memory = throughput.memory
    if memory is not None and memory_mb:
        headroom = 1 - memory.peak_rss_mb / memory_mb
        targets.append(
            Target(
                f"I/O, batch of {memory.batch} at maxSourceBytes",
                f"memory headroom at peak RSS, of {memory_mb} MB",
                headroom * 100,
                MEMORY_HEADROOM_GOAL * 100,
                True,
                " %",
            )
        )
    return targets


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def load_average() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


IMAGING_PACKAGE = Path(__file__).resolve().parent.parent / "functions" / "thumbnailer" / "imaging"


def engine_fingerprint() -> str:
    """A short hash of the imaging package's source, so a set of figures names the engine it measured."""
    digest = hashlib.sha256()
    for source in sorted(IMAGING_PACKAGE.glob("*.py")):
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    return f"functions/thumbnailer/imaging/*.py sha256 {digest.hexdigest()[:12]}"


def machine_description() -> list[tuple[str, str]]:
    return [
        ("CPU", f"{_cpu_model()} ({platform.machine()}), {os.cpu_count()} logical cores"),
        ("OS", platform.platform()),
        ("Python", sys.version.split()[0]),
        ("Pillow", PIL.__version__),
        (
            "libjpeg-turbo",
            f"{features.version('libjpeg_turbo')}" if features.check_feature("libjpeg_turbo") else "no (plain libjpeg)",
        ),
        ("libwebp", str(features.version("webp"))),
        ("libavif", f"{features.version('avif')} ({_avif_codecs()})"),
        ("pi-heif / libheif", _heif_versions()),
        ("zlib", str(features.version("zlib"))),
    ]


def _avif_codecs() -> str:
    from PIL import _avif

    return str(_avif.codec_versions())


def _heif_versions() -> str:
    import pi_heif

    info = pi_heif.libheif_info()
    return f"{pi_heif.__version__} / {info['libheif']}, decoders: {', '.join(info['decoders'].values())}"


def _ms(timing: Timing | None) -> str:
    return "-" if timing is None else f"{timing.cpu_ms:.0f}"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _mib(value: float | None) -> str:
    return "-" if value is None else f"{value:+.0f}"


def _db(value: float | None) -> str:
    if value is None:
        return "-"
    return "inf" if math.isinf(value) else f"{value:.1f}"


def _worst(worst: tuple[str, float] | None) -> str:
    return "-" if worst is None else f"{_db(worst[1])} ({worst[0]})"


FIGURE_COLUMNS = (
    "input",
    "engine ms",
    "naive ms",
    "naive/engine",
    "floor ms",
    "engine/floor",
    "draft",
    "engine MiB",
    "naive MiB",
    "mem ratio",
    "out KiB",
    "min PSNR dB",
    "min PSNR pre-encode dB",
)


def figure_rows(results: Sequence[InputResult]) -> list[list[str]]:
    rows = []
    for result in results:
        if result.error:
            rows.append([result.name, f"ERROR: {result.error}", *[""] * (len(FIGURE_COLUMNS) - 2)])
            continue
        rows.append(
            [
                result.name,
                _ms(result.engine),
                _ms(result.naive),
                _ratio(result.speedup),
                _ms(result.floor),
                _ratio(result.floor_ratio),
                result.decode_scale,
                _mib(result.engine_memory_mib),
                _mib(result.naive_memory_mib),
                _ratio(result.memory_ratio),
                f"{result.output_bytes / 1024:.0f}",
                _worst(result.min_delivered_psnr),
                _worst(result.min_pre_encode_psnr),
            ]
        )
    return rows


def _wall_rows(results: Sequence[InputResult]) -> list[list[str]]:
    return [
        [
            result.name,
            result.description,
            f"{result.source_bytes / 1e6:.1f} MB",
            result.dimensions,
            "-" if result.engine is None else f"{result.engine.wall_ms:.0f}",
            "-" if result.naive is None else f"{result.naive.wall_ms:.0f}",
            "-" if result.floor is None else f"{result.floor.wall_ms:.0f}",
        ]
        for result in results
    ]


QUALITY_COLUMNS = ("input", "variant", "size", "delivered dB", "codec ceiling dB", "pre-encode dB")


def _quality_rows(results: Sequence[InputResult]) -> list[list[str]]:
    return [
        [
            result.name,
            quality.preset,
            f"{quality.size[0]}x{quality.size[1]}",
            _db(quality.delivered_db),
            _db(quality.codec_ceiling_db),
            _db(quality.pre_encode_db),
        ]
        for result in results
        for quality in result.qualities
    ]


WALL_COLUMNS = ("input", "what", "size", "pixels", "engine wall ms", "naive wall ms", "floor wall ms")
TARGET_COLUMNS = ("subject", "measure", "target", "measured", "verdict")
COST_COLUMNS = ("component", "basis", "USD per 1M uploads")


def _target_rows(targets: Sequence[Target]) -> list[list[str]]:
    return [[t.subject, t.what, t.goal_text(), t.measured_text(), t.verdict] for t in targets]


def _cost_rows(cost: CostEstimate) -> list[list[str]]:
    rows = [[line.component, line.basis, f"{line.dollars:.2f}"] for line in cost.lines]
    rows.append(["total", "", f"{cost.total:.2f}"])
    return rows


def _text_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(columns, *rows, strict=False)]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)) for row in [columns, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def _markdown_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


IO_COLUMNS = (
    "batch",
    "pipelined ms/img",
    "pipelined, no latency",
    "latency cost",
    "sequential ms/img",
    "pipelined vs sequential",
    "writes not overlapped",
    "sequential, no latency",
    "CPU ms/img",
    "peak RSS MB",
)


def _io_rows(throughput: ThroughputResult) -> list[list[str]]:
    rows = []
    for size in BATCH_SIZES:

        def wall(mode: str, size: int = size) -> float | None:
            figures = throughput.figures(size, mode)
            return figures.wall_ms_per_image if figures else None

        piped, quiet, sequential = wall("pipelined"), wall("pipelined-no-latency"), wall("sequential")
        figures = throughput.figures(size, "pipelined")
        rows.append(
            [
                str(size),
                _wall(piped),
                _wall(quiet),
                _ratio(piped / quiet if piped and quiet else None),
                _wall(sequential),
                _ratio(sequential / piped if piped and sequential else None),
                _wall(wall("writes-not-overlapped")),
                _wall(wall("sequential-no-latency")),
                "-" if figures is None else f"{figures.cpu_ms_per_image:.0f}",
                "-" if figures is None else f"{figures.peak_rss_mb:.0f}",
            ]
        )
    return rows


def _wall(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _io_legend(throughput: ThroughputResult) -> str:
    repeats = throughput.batches[0].repeats if throughput.batches else 0
    return (
        "ms/img = median wall time of one batch / its size, over "
        f"{repeats} rounds in which every mode runs once per batch size (interleaved), each batch of first uploads "
        "(thumbnails bucket emptied before it). Columns: the pipelined handler with the latency model "
        f"({throughput.latency_model}); the same code with no injected latency; latency cost = the two divided; "
        "the strictly sequential path (pipeline.SEQUENTIAL: one record, one request at a time) with the latency "
        "model; pipelined vs sequential = throughput ratio; prefetch and concurrent requests but each record's "
        "writes finished before the next render; the sequential path without latency. CPU = the process's CPU "
        "time per image, pipelined with latency (every thread, moto's S3 included). Peak RSS = the whole "
        f"process's VmHWM during the batch (moto and its copy of the objects included). Run on {throughput.affinity}."
    )


def _io_memory_line(throughput: ThroughputResult, memory_mb: int | None) -> str:
    memory = throughput.memory
    if memory is None:
        return "Memory batch: not measured."
    share = f", {memory.peak_rss_mb / memory_mb:.0%} of cdk.json's {memory_mb} MB" if memory_mb else ""
    return (
        f"Memory bound: a batch of {memory.batch} JPEG sources of {memory.source_bytes / 1e6:.1f} MB each "
        f"(maxSourceBytes {memory.max_source_bytes / 1e6:.1f} MB), pipelined with the latency model, in a fresh "
        f"process: peak RSS {memory.peak_rss_mb:.0f} MB{share} (RSS {memory.rss_before_mb:.0f} MB before the batch, "
        f"moto and its objects included; {memory.wall_ms_per_image:.0f} ms per image)."
    )


@dataclass(frozen=True)
class Report:
    results: Sequence[InputResult]
    imports: ImportTimes | None
    import_note: str
    cost: CostEstimate | None
    targets: Sequence[Target]
    conditions: Sequence[tuple[str, str]]
    features: FeatureFigures | None = None
    throughput: ThroughputResult | None = None
    memory_mb: int | None = None
    cost_basis: str = ""


COST_NOTES = (
    f"Prices: {REGION} list prices: Lambda arm64 {usd(LAMBDA_ARM64_PER_GB_SECOND)} per GB-second and "
    f"{usd(LAMBDA_PER_MILLION_REQUESTS)} per 1M requests; S3 Standard GET {usd(S3_GET_PER_THOUSAND)} and PUT "
    f"{usd(S3_PUT_PER_THOUSAND)} per 1,000; SQS {usd(SQS_PER_MILLION_REQUESTS)} per 1M requests; EventBridge: AWS "
    "service events on the default bus are free.",
    "Billed time = the measured wall time per 12 MP upload of the function's batch path (handle_batch, real "
    "service and engine) against S3 with the latency model, on THIS machine's core, divided by the CPU share "
    f"Lambda gives at the configured memory (a full vCPU at {FULL_VCPU_MEMORY_MB} MB): an upper bound, since only "
    "the CPU-bound part would stretch, and the wall time includes moto's own CPU, which real S3 does not charge "
    "to the function. Lambda's arm64 (Graviton) core is not this machine's core, and real S3 latency varies; "
    "cold starts, storage and data transfer are not included.",
)


def _import_lines(report: Report) -> list[str]:
    if report.imports is None:
        return [f"Handler cold import: not measured ({report.import_note})."]
    imports = report.imports
    return [
        f"`{HANDLER_STATEMENT}`: {imports.handler_ms:.0f} ms; `{BASELINE_STATEMENT}`: {imports.baseline_ms:.0f} ms; "
        f"ratio {imports.handler_ms / imports.baseline_ms:.2f}x (median of {imports.repeats} fresh interpreters each)."
    ]


LEGEND = (
    "ms = median CPU time over the repeats, process pinned to one core (equal to wall time on an idle core; "
    "robust to other processes sharing the machine). floor = decode at the engine's draft scale (`draft` column) "
    "+ the engine's own encoder calls replayed. MiB = peak RSS increase of one run in a fresh process. "
    "out KiB = engine's total output. min PSNR = lowest variant PSNR vs a full-resolution LANCZOS reference of "
    "the same size: of the delivered file, and of the image before encoding (resampling error alone)."
)
QUALITY_LEGEND = (
    "codec ceiling = the reference itself through the engine's encoder settings: the best delivered PSNR any "
    "resampler could reach. The >= 38 dB goal applies to pre-encode: lossy encoding of a detailed thumbnail "
    "costs more than that on its own."
)


PLACEHOLDER_COLUMNS = ("input", "hashed from", "placeholder ms")
SMART_COLUMNS = ("subjects", "smart crop keeps", "centre crop keeps")
CODEC_COLUMNS = ("encoder", "KiB", "encode ms", "PSNR dB", "SSIM (luma)", "bytes vs WebP", "time vs WebP")


def _placeholder_rows(results: Sequence[InputResult]) -> list[list[str]]:
    return [
        [result.name, f"w{p.from_size[0]} rendition, {p.from_size[0]}x{p.from_size[1]}", f"{p.ms:.2f}"]
        for result in results
        if (p := result.placeholder) is not None
    ]


def _smart_rows(figures: FeatureFigures) -> list[list[str]]:
    smart = figures.smart
    if smart is None:
        return []
    rows = [[kind, f"{kept:.0%}", f"{centre:.0%}"] for kind, kept, centre in smart.per_kind]
    rows.append(
        [f"all {smart.images}", f"{smart.smart_kept:.1%} (min {smart.smart_min:.0%})", f"{smart.centre_kept:.1%}"]
    )
    return rows


def _codec_rows(points: Sequence[CodecPoint]) -> list[list[str]]:
    if not points:
        return []
    webp = points[0]
    return [
        [
            point.codec,
            f"{point.bytes / 1024:.1f}",
            f"{point.encode_ms:.0f}",
            f"{point.psnr_db:.2f}",
            f"{point.ssim:.4f}",
            f"{point.bytes / webp.bytes:.2f}x",
            f"{point.encode_ms / webp.encode_ms:.1f}x",
        ]
        for point in points
    ]


def _feature_lines(report: Report) -> list[str]:
    figures = report.features
    if figures is None:
        return []
    heic = "not measured (heic-12mp not selected)"
    if figures.heic_decode_ms is not None:
        heic = f"{figures.heic_decode_ms:.0f} ms (open + load, CPU time on one core)"
    analysis = "-" if figures.smart is None else f"{figures.smart.analysis_ms:.2f} ms"
    return [
        f"HEIC: pi-heif decode of the 12 MP HEIC alone: {heic}; the engine's total is in the figures above.",
        f"Smart crop: added cost per smart cover preset (saliency + window on the 256-px rendition): {analysis}.",
    ]


FEATURE_LEGEND = (
    "Placeholder: ThumbHash + dominant colour from the smallest whole picture the default presets make. "
    "Smart crop: share of the subject's box inside a square crop, over the generated off-centre set "
    "(tests/unit/imaging/subjects.py). Encoders: the 12 MP JPEG's 1024-px rendition; WebP at the default "
    "w1024 settings, AVIF at the lowest quality whose PSNR (against the image before encoding) reaches WebP's."
)


def _feature_text(report: Report) -> list[str]:
    figures = report.features
    if figures is None:
        return []
    parts = ["", "Issue 11: HEIC, placeholder, smart crop, AVIF", *_feature_lines(report), ""]
    parts += [_text_table(PLACEHOLDER_COLUMNS, _placeholder_rows(report.results)), ""]
    parts += [_text_table(SMART_COLUMNS, _smart_rows(figures)), ""]
    if figures.codecs:
        parts += [_text_table(CODEC_COLUMNS, _codec_rows(figures.codecs)), ""]
    parts.append(FEATURE_LEGEND)
    return parts


def _feature_markdown(report: Report) -> list[str]:
    figures = report.features
    if figures is None:
        return []
    parts = ["", "### HEIC, placeholder, smart crop, AVIF", "", *[f"- {line}" for line in _feature_lines(report)], ""]
    parts += [_markdown_table(PLACEHOLDER_COLUMNS, _placeholder_rows(report.results)), ""]
    parts += [_markdown_table(SMART_COLUMNS, _smart_rows(figures)), ""]
    if figures.codecs:
        parts += [_markdown_table(CODEC_COLUMNS, _codec_rows(figures.codecs)), ""]
    parts.append(FEATURE_LEGEND)
    return parts


def render_text(report: Report) -> str:
    parts = ["Run conditions", _text_table(("item", "value"), report.conditions), ""]
    if report.results:
        parts += _engine_text(report)
    if report.throughput is not None:
        parts += [
            "I/O: the handler on batches of 12 MP JPEGs against S3 (moto in-process), per image",
            _text_table(IO_COLUMNS, _io_rows(report.throughput)),
            _io_legend(report.throughput),
            _io_memory_line(report.throughput, report.memory_mb),
            "",
        ]
    parts += ["Targets", _text_table(TARGET_COLUMNS, _target_rows(report.targets))]
    if report.cost is not None:
        title = f"Estimated cost per 1M uploads (12 MP JPEG{report.cost_basis})"
        parts += ["", title, _text_table(COST_COLUMNS, _cost_rows(report.cost))]
        parts += COST_NOTES
    return "\n".join(parts)


def _engine_text(report: Report) -> list[str]:
    return [
        "Figures",
        _text_table(FIGURE_COLUMNS, figure_rows(report.results)),
        LEGEND,
        "",
        _text_table(WALL_COLUMNS, _wall_rows(report.results)),
        "",
        "Quality per variant",
        _text_table(QUALITY_COLUMNS, _quality_rows(report.results)),
        QUALITY_LEGEND,
        "",
        *_import_lines(report),
        *_feature_text(report),
        "",
    ]


def render_markdown(report: Report) -> str:
    parts = ["### Run conditions", "", _markdown_table(("item", "value"), report.conditions), ""]
    if report.results:
        parts += _engine_markdown(report)
    if report.throughput is not None:
        parts += [
            "### I/O: the handler on batches of 12 MP JPEGs against S3 (moto in-process), per image",
            "",
            _markdown_table(IO_COLUMNS, _io_rows(report.throughput)),
            "",
            _io_legend(report.throughput),
            "",
            _io_memory_line(report.throughput, report.memory_mb),
            "",
        ]
    parts += ["### Targets", "", _markdown_table(TARGET_COLUMNS, _target_rows(report.targets))]
    if report.cost is not None:
        parts += [
            "",
            f"### Estimated cost per million uploads (12 MP JPEG{report.cost_basis})",
            "",
            _markdown_table(COST_COLUMNS, _cost_rows(report.cost)),
            "",
        ]
        parts += [f"- {note}" for note in COST_NOTES]
    return "\n".join(parts) + "\n"


def _engine_markdown(report: Report) -> list[str]:
    return [
        "### Figures",
        "",
        _markdown_table(FIGURE_COLUMNS, figure_rows(report.results)),
        "",
        LEGEND,
        "",
        _markdown_table(WALL_COLUMNS, _wall_rows(report.results)),
        "",
        "### Quality per variant",
        "",
        _markdown_table(QUALITY_COLUMNS, _quality_rows(report.results)),
        "",
        QUALITY_LEGEND,
        "",
        "### Handler cold import",
        "",
        *_import_lines(report),
        *_feature_markdown(report),
        "",
    ]


BEGIN_MARKER = "<!-- bench:begin (generated by `python -m bench --markdown`; edits inside are overwritten) -->"
END_MARKER = "<!-- bench:end -->"


def write_markdown(path: Path, report: Report) -> None:
    """Write the report to `path`; if the file already has the bench markers, replace only what is between them."""
    generated = f"{BEGIN_MARKER}\n{render_markdown(report)}{END_MARKER}"
    existing = path.read_text() if path.exists() else ""
    if BEGIN_MARKER in existing and END_MARKER in existing:
        before = existing.split(BEGIN_MARKER, 1)[0]
        after = existing.split(END_MARKER, 1)[1]
        path.write_text(before + generated + after)
    else:
        path.write_text(generated + "\n")
