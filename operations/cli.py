"""`thumbnails`: operate the thumbnail pipeline. Every command takes --stack and --json.

Exit codes: 0 success; 1 the work did not complete (messages not moved, a backfill run failed); 2 invalid
options; 3 no AWS credentials or region; 4 unknown stack (or one without the outputs this version needs);
5 permission denied; 6 confirmation needed (re-run with --yes); 7 any other AWS error.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from stacks.names import STACK_NAME
from thumbnailer.backfill import BackfillMode

from . import backfilling, costs, redrive, status
from .aws import (
    EXIT_CODES,
    EXIT_FAILED,
    EXIT_NEEDS_CONFIRMATION,
    Deployment,
    OperatorError,
    aws_errors,
)
from .deployed import DeployedFunction

DEFAULT_CONFIRM_ABOVE = 10_000
RETENTION_SHARE = 0.5  # ask for --yes when the drain would take more than half the queue's retention

app = typer.Typer(
    name="thumbnails",
    help="Operate the thumbnail pipeline: status, backfill, DLQ redrive.\n\nExit codes: "
    + "; ".join(f"{code} {meaning}" for code, meaning in EXIT_CODES.items()),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

StackOption = Annotated[
    str, typer.Option("--stack", help="CloudFormation stack name (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL apply)")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout, nothing else")]
PrefixOption = Annotated[str, typer.Option("--prefix", help="Only originals whose key starts with this")]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do it without asking")]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Only count, and estimate the cost; change nothing")]


class QueueChoice(StrEnum):
    INGEST = "ingest"
    EVENTS = "events"
    BACKFILL = "backfill"
    ALL = "all"


class MethodChoice(StrEnum):
    AUTO = "auto"
    MOVE_TASK = "move-task"
    COPY = "copy"


def _stderr() -> Console:
    return Console(stderr=True)


def _fail(error: OperatorError) -> typer.Exit:
    sys.stderr.write(f"thumbnails: error: {error}\n")  # one line, never wrapped
    return typer.Exit(error.exit_code)


@contextmanager
def _operating(stack: str) -> Iterator[None]:
    try:
        with aws_errors(stack):
            yield
    except OperatorError as error:
        raise _fail(error) from None


def _emit(document: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(document, indent=2, default=str) + "\n")


def _progress(enabled: bool) -> Progress:
    console = _stderr()
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not enabled or not console.is_terminal,
    )


def _confirm(question: str, *, yes: bool, json_output: bool) -> None:
    """Go on with --yes; ask on a terminal; otherwise stop with exit code 6."""
    if yes:
        return
    if not json_output and sys.stdin.isatty() and typer.confirm(question, default=False, err=True):
        return
    raise OperatorError(f"{question} Re-run with --yes to proceed.", EXIT_NEEDS_CONFIRMATION)


# --- status -------------------------------------------------------------------------------------------------


@app.command("status")
def status_command(
    stack: StackOption = STACK_NAME,
    prefix: PrefixOption = "",
    seconds_per_image: Annotated[
        float, typer.Option(help="Assumed seconds per image and instance, for the drain estimate", min=0.001)
    ] = status.DEFAULT_SECONDS_PER_IMAGE,
    json_output: JsonOption = False,
) -> None:
    """Queue depths, manifests by status and stale sets, originals without a manifest, estimated drain time."""
    with _operating(stack), _progress(not json_output) as bar:
        deployment = Deployment.find(stack)
        tasks: dict[str, Any] = {}

        def advance(phase: str, done: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(f"reading {phase}", total=None)
            bar.advance(tasks[phase], done)

        document = status.collect_status(
            deployment, prefix=prefix, seconds_per_image=seconds_per_image, progress=advance
        )
    if json_output:
        _emit(document)
        return
    _print_status(document)


def _print_status(document: dict[str, Any]) -> None:
    console = Console()
    queues = Table(title=f"Queues of {document['stack']}")
    for column in ("queue", "visible", "in flight", "oldest (s)"):
        queues.add_column(column, justify="right" if column != "queue" else "left")
    for name, queue in document["queues"].items():
        age = queue["oldestAgeSeconds"]
        style = "bold red" if name.endswith("Dlq") and queue["visible"] else None
        queues.add_row(
            name, str(queue["visible"]), str(queue["inFlight"]), "-" if age is None else f"{age:.0f}", style=style
        )
    console.print(queues)
    manifests, originals = document["manifests"], document["originals"]
    console.print(
        f"manifests under {document['prefix'] or '(every key)'}: {manifests['complete']} complete "
        f"({manifests['stale']} stale), {manifests['rejected']} rejected, {manifests['deleted']} deleted"
        + (f", {manifests['unreadable']} unreadable" if manifests["unreadable"] else "")
    )
    console.print(f"originals: {originals['total']}, of which {originals['missing']} without a manifest")
    console.print(f"deployed presets fingerprint: {document['fingerprint']}")
    for name in ("ingest", "backfill"):
        drain = document["drain"].get(name)
        if drain and drain["messages"]:
            seconds = drain["seconds"]
            when = "unknown (no max concurrency)" if seconds is None else f"~{seconds:.0f} s"
            console.print(
                f"{name}: {drain['messages']} messages, drained in {when} at {drain['maxConcurrency']} instances"
            )
    if originals["missing"] or manifests["stale"]:
        console.print("next: `thumbnails backfill --mode missing` (or --mode stale after a preset change)")


# --- backfill -----------------------------------------------------------------------------------------------


@app.command("backfill")
def backfill_command(
    stack: StackOption = STACK_NAME,
    prefix: PrefixOption = "",
    mode: Annotated[
        BackfillMode, typer.Option(help="missing: no manifest for the current object; stale: other presets; all")
    ] = BackfillMode.MISSING,
    dry_run: DryRunOption = False,
    yes: YesOption = False,
    local: Annotated[
        bool, typer.Option("--local", help="List and enqueue from this machine (small buckets, moto)")
    ] = False,
    inventory_manifest: Annotated[
        str | None,
        typer.Option(
            help="Key of an S3 Inventory manifest.json in the configured inventory bucket, instead of a listing"
        ),
    ] = None,
    confirm_above: Annotated[
        int, typer.Option(help="Ask for --yes above this many objects", min=0)
    ] = DEFAULT_CONFIRM_ABOVE,
    wait: Annotated[bool, typer.Option(help="Follow the map run until it ends")] = True,
    seconds_per_image: Annotated[
        float, typer.Option(help="Assumed seconds per image and instance, for the drain estimate", min=0.001)
    ] = status.DEFAULT_SECONDS_PER_IMAGE,
    json_output: JsonOption = False,
) -> None:
    """Render what is already in the bucket. Re-running resumes: done objects are skipped (mode missing/stale)."""
    with _operating(stack):
        deployment = Deployment.find(stack)
        function = DeployedFunction.read(deployment)
        backfill_queue = _queue_attributes(deployment, "BackfillQueueUrl")
        batch_size = function.batch_size.get(backfill_queue["QueueArn"], 10)
        concurrency = function.concurrency.get(backfill_queue["QueueArn"])
        retention = int(backfill_queue["MessageRetentionPeriod"])
        listing: backfilling.Listing | None = None
        if inventory_manifest is None:
            with _progress(not json_output) as bar:
                task = bar.add_task("listing originals", total=None)
                listing = backfilling.list_originals(
                    deployment, function, prefix, on_page=lambda count: bar.advance(task, count)
                )
        objects = (len(listing.accepted) if local else listing.listed) if listing is not None else None
        estimate = costs.orchestration_cost(objects or 0, batch_size=batch_size, local=local)
        summary: dict[str, Any] = {
            "stack": stack,
            "prefix": prefix,
            "mode": str(mode),
            "path": "local" if local else "state-machine",
            "objects": objects,
            "listed": listing.listed if listing is not None else None,
            "accepted": len(listing.accepted) if listing is not None else None,
            "estimatedCost": estimate.to_json() if objects is not None else None,
            # At the backfill mapping's maximum concurrency; messages older than the queue's retention are lost.
            "estimatedDrainSeconds": _drain_seconds(objects, concurrency, seconds_per_image),
            "queueRetentionSeconds": retention,
        }
        if dry_run:
            if json_output:
                _emit({**summary, "dryRun": True})
            else:
                _print_estimate(summary)
            return
        drain = summary["estimatedDrainSeconds"]
        if drain is not None and drain > retention * RETENTION_SHARE:
            _confirm(
                f"Draining {objects} messages at {concurrency} instances takes ~{drain / 86400:.1f} days, close to or "
                f"beyond the backfill queue's {retention / 86400:.0f}-day retention: messages may expire unprocessed. "
                "Raise backfillMaxConcurrency, or backfill one --prefix at a time.",
                yes=yes,
                json_output=json_output,
            )
        if objects is None:  # an inventory: its size is only known once the map run reads it
            _confirm("This backfill covers every object the inventory lists.", yes=yes, json_output=json_output)
        elif objects > confirm_above:
            _confirm(
                f"This backfill covers {objects} objects (orchestration ~${estimate.total_usd:.2f}).",
                yes=yes,
                json_output=json_output,
            )
        if local:
            if inventory_manifest is not None or listing is None:
                raise OperatorError("--local lists the bucket itself; it does not read an inventory", 2)
            result = _enqueue_local(deployment, listing.accepted, mode, show=not json_output)
            summary["sent"] = result.sent
            summary["failed"] = len(result.failed)
            summary["seconds"] = round(result.seconds, 3)
            summary["perSecond"] = result.per_second
            if json_output:
                _emit(summary)
            else:
                _stderr().print(
                    f"enqueued {result.sent} backfill messages in {result.seconds:.1f} s ({result.per_second}/s)"
                    + (f"; {len(result.failed)} failed, re-run to retry" if result.failed else "")
                )
            if result.failed:
                raise typer.Exit(EXIT_FAILED)
            return
        document = backfilling.execution_input(prefix, mode, inventory_manifest)
        execution_arn, action = backfilling.start_or_resume(deployment, document)
        summary.update(executionArn=execution_arn, action=action)
        if not wait:
            _emit(summary) if json_output else _stderr().print(f"{action} {execution_arn}")
            return
        final = _follow(deployment, execution_arn, show=not json_output)
        summary["run"] = final.to_json()
    if json_output:
        _emit(summary)
    else:
        _stderr().print(
            f"backfill {final.status}: {final.succeeded} batches succeeded, {final.failed} failed, "
            f"of {final.total}" + ("; run the same command again to redrive what failed" if final.failed else "")
        )
    if final.status != "SUCCEEDED":
        raise typer.Exit(EXIT_FAILED)


def _queue_attributes(deployment: Deployment, output: str) -> dict[str, str]:
    attributes: dict[str, str] = deployment.client("sqs").get_queue_attributes(
        QueueUrl=deployment.output(output), AttributeNames=["QueueArn", "MessageRetentionPeriod"]
    )["Attributes"]
    return attributes


def _drain_seconds(objects: int | None, concurrency: int | None, seconds_per_image: float) -> float | None:
    if objects is None or not concurrency:
        return None
    return round(objects * seconds_per_image / concurrency, 1)


def _print_estimate(summary: dict[str, Any]) -> None:
    cost = summary["estimatedCost"]
    console = Console()
    console.print(
        f"would send {summary['objects']} backfill messages ({summary['path']}, mode {summary['mode']}, "
        f"prefix {summary['prefix'] or '(every key)'}); {summary['listed']} keys listed, {summary['accepted']} "
        "accepted by the key filter"
    )
    if cost is not None:
        console.print(
            f"orchestration ~${cost['total_usd']:.4f}: transitions ${cost['state_transitions_usd']:.4f}, "
            f"Express ${cost['express_requests_usd'] + cost['express_duration_usd']:.4f}, SQS ${cost['sqs_usd']:.4f}, "
            f"S3 LIST ${cost['s3_list_usd']:.4f} (rendering not included: see README, Performance)"
        )


def _enqueue_local(
    deployment: Deployment, keys: list[str], mode: BackfillMode, *, show: bool
) -> backfilling.LocalResult:
    with _progress(show) as bar:
        task = bar.add_task("enqueuing", total=len(keys))
        return backfilling.enqueue_local(deployment, keys, mode, on_sent=lambda count: bar.advance(task, count))


def _follow(deployment: Deployment, execution_arn: str, *, show: bool) -> backfilling.MapRunProgress:
    with _progress(show) as bar:
        task = bar.add_task("child executions (batches of 100)", total=None)

        def update(progress: backfilling.MapRunProgress) -> None:
            bar.update(
                task,
                total=progress.total or None,
                completed=progress.succeeded + progress.failed,
                description=f"succeeded {progress.succeeded}, failed {progress.failed}, pending {progress.pending}",
            )

        return backfilling.follow(deployment, execution_arn, on_progress=update)


# --- redrive ------------------------------------------------------------------------------------------------


@app.command("redrive")
def redrive_command(
    stack: StackOption = STACK_NAME,
    queue: Annotated[QueueChoice, typer.Option(help="Which dead-letter queue")] = QueueChoice.ALL,
    dry_run: DryRunOption = False,
    yes: YesOption = False,
    method: Annotated[
        MethodChoice, typer.Option(help="auto: SQS's move task where it applies, else copy")
    ] = MethodChoice.AUTO,
    json_output: JsonOption = False,
) -> None:
    """Send dead-lettered messages back: ingest and backfill DLQs to their queues, the events DLQ to ingest."""
    names = list(redrive.ROUTES) if queue is QueueChoice.ALL else [str(queue)]
    results: dict[str, Any] = {}
    with _operating(stack):
        deployment = Deployment.find(stack)
        sqs = deployment.client("sqs")
        found = {name: redrive.approximate_count(sqs, deployment.output(redrive.ROUTES[name][0])) for name in names}
        if dry_run:
            document = {
                "stack": stack,
                "dryRun": True,
                "queues": {name: {"found": count} for name, count in found.items()},
            }
            _emit(document) if json_output else Console().print(
                ", ".join(f"{name} DLQ: {count} message(s)" for name, count in found.items())
            )
            return
        total = sum(found.values())
        if total:
            _confirm(
                f"Move {total} dead-lettered message(s) back to be processed again?", yes=yes, json_output=json_output
            )
        with _progress(not json_output) as bar:
            for name in names:
                task = bar.add_task(f"{name} DLQ", total=found[name] or None)
                result = redrive.redrive(
                    deployment, name, method=str(method), on_moved=functools.partial(bar.advance, task)
                )
                results[name] = result.to_json()
    failed = sum(result["failed"] for result in results.values())
    if json_output:
        _emit({"stack": stack, "queues": results})
    else:
        for name, result in results.items():
            notes = f" ({'; '.join(result['notes'])})" if result["notes"] else ""
            _stderr().print(f"{name} DLQ: moved {result['moved']} of {result['found']} by {result['method']}{notes}")
    if failed:
        raise typer.Exit(EXIT_FAILED)


if __name__ == "__main__":  # python -m operations.cli
    app()
