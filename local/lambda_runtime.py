"""The deployed function, run like Lambda runs it: the real entry point, in its own process, under its memory size.

`python -m local.lambda_runtime --stack NAME --state-dir DIR` is the local cloud's poller (started by
`local.cloud up`, never by hand). Against the moto server that AWS_ENDPOINT_URL names, it:

1. reads the deployed stack back through CloudFormation and the function's configuration through Lambda
   (handler, memory size, timeout, environment) and its event source mappings (queue, batch size,
   ReportBatchItemFailures) -- everything from the deployment, nothing from the working tree;
2. downloads the function's code asset, the zip the CDK CLI published, and unpacks it; that code, not the
   working tree's, is what runs (the layer's packages come from this virtualenv: the layer is built for
   arm64 and the function's runtime, so it cannot run here);
3. starts a *runtime process* that imports the handler named by the function's `Handler` (init, as in a
   cold start) and invokes it, decorators and all, with a Lambda-like context whose remaining time counts
   down from the deployed timeout; its stdout and stderr, the function's JSON logs and EMF metrics, are
   appended to `function.log` with Lambda's JSON platform lines (`platform.start`, `platform.report`);
4. plays each event source mapping with `local.poller.SqsPoller`: receive a batch, invoke, delete what
   succeeded, hand back what failed (so SQS redrives to the DLQ after maxReceiveCount).

Memory: the runtime process runs under `RLIMIT_AS` equal to the deployed memory size, set before the handler
is imported, so the interpreter and every imported module count against it, as the runtime and the handler's
imports count against a Lambda function's memory (~70 MB of address space after the import here). An
address-space cap is stricter than Lambda's, which limits resident memory: reserved-but-untouched mappings
(thread stacks, malloc arenas) count too. Exceeding it raises MemoryError where Lambda would kill the
sandbox; a runtime process that dies or outlives the timeout is killed, the batch fails as a whole, and the
next batch gets a fresh process (a cold start), as in Lambda. One runtime process: concurrency 1.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import os
import re
import resource
import signal
import sys
import threading
import time
import traceback
import uuid
import zipfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from multiprocessing import get_context
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

# Only the standard library at module level: the runtime process imports this module before it caps its
# memory and sets the function's environment, and must not import boto3 or the function before that.

MIB = 1024 * 1024
IDLE_POLL_SECONDS = 0.2  # between empty receives: an upload is picked up within this
ERROR_BACKOFF_SECONDS = 2.0
INIT_TIMEOUT_SECONDS = 60.0  # Lambda allows 10 s of init; a loaded 2-core machine importing boto3 needs more
KILL_GRACE_SECONDS = 1.0
READY_FILE = "runtime.json"
FUNCTION_LOG = "function.log"
CODE_DIR = "function-code"
LOG_STREAM = "local/runtime"


class InvocationError(RuntimeError):
    """The invocation failed as a whole (an exception left the handler, a crash, a timeout): retry the batch."""


@dataclass(frozen=True)
class FunctionSpec:
    """What the runtime process needs: all of it read from the deployment."""

    name: str
    arn: str
    handler: str  # module.function, as the function's Handler setting
    memory_mb: int
    timeout_seconds: int
    code_dir: str
    environment: dict[str, str]  # the whole process environment of the runtime, Lambda's variables included


# ---------------------------------------------------------------------------------------------- runtime process


def _runtime_main(connection: Connection, spec: FunctionSpec, log_path: str) -> None:
    """The runtime process: cap memory, set the function's environment, import the handler, serve invocations."""
    log_fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    sys.stdout = open(1, "w", buffering=1, encoding="utf-8", closefd=False)  # noqa: SIM115 - lives as long as the process
    sys.stderr = open(2, "w", buffering=1, encoding="utf-8", closefd=False)  # noqa: SIM115
    cap = spec.memory_mb * MIB
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    os.environ.clear()
    os.environ.update(spec.environment)
    sys.path.insert(0, spec.code_dir)  # LAMBDA_TASK_ROOT comes first on Lambda's sys.path too
    from local.poller import LambdaContext

    init_started = time.perf_counter()
    module_name, _, function_name = spec.handler.rpartition(".")
    try:
        module = importlib.import_module(module_name)
        handler = getattr(module, function_name)
        module_file = Path(module.__file__ or "").resolve()
        if not module_file.is_relative_to(Path(spec.code_dir).resolve()):
            raise ImportError(f"{module_name} was imported from {module_file}, not from the deployed code")
    except BaseException as error:
        _platform_line("platform.initRuntimeDone", {"status": "error", "errorType": type(error).__name__})
        _error_line(error)
        connection.send({"ready": False, "error": f"{type(error).__name__}: {error}"})
        return
    init_ms = round((time.perf_counter() - init_started) * 1000, 2)
    connection.send(
        {"ready": True, "initMs": init_ms, "baselineMb": _vm_size_mb(), "capMb": spec.memory_mb, "pid": os.getpid()}
    )
    report_init = True
    while True:
        try:
            request = connection.recv()
        except EOFError:
            return
        if request is None:
            return
        context = LambdaContext(
            function_name=spec.name,
            invoked_function_arn=spec.arn,
            memory_limit_in_mb=spec.memory_mb,
            timeout_seconds=spec.timeout_seconds,
            aws_request_id=request["requestId"],
            log_group_name=spec.environment["AWS_LAMBDA_LOG_GROUP_NAME"],
            log_stream_name=LOG_STREAM,
            started_at=request["startedAt"],  # CLOCK_MONOTONIC is shared by every process on the machine
        )
        _platform_line("platform.start", {"requestId": context.aws_request_id, "version": "$LATEST"})
        started = time.perf_counter()
        try:
            answer: dict[str, Any] = {"response": handler(request["event"], context)}
            status = "success"
        except BaseException as error:  # an invocation error: Lambda logs it and the whole batch is retried
            _error_line(error)
            answer = {"error": f"{type(error).__name__}: {error}"}
            status = "error"
        metrics = {
            "durationMs": round((time.perf_counter() - started) * 1000, 2),
            "memorySizeMB": spec.memory_mb,
            "maxMemoryUsedMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        }
        if report_init:
            metrics["initDurationMs"] = init_ms
            report_init = False
        _platform_line("platform.report", {"requestId": context.aws_request_id, "status": status, "metrics": metrics})
        connection.send(answer)


def _platform_line(kind: str, record: Mapping[str, Any]) -> None:
    """One of Lambda's JSON-format platform lines, on stdout with the function's own."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    print(json.dumps({"time": now, "type": kind, "record": record}), flush=True)


def _error_line(error: BaseException) -> None:
    """What the Python runtime logs for an exception that leaves the handler."""
    stack = traceback.format_exception(error)
    print(json.dumps({"errorMessage": str(error), "errorType": type(error).__name__, "stackTrace": stack}), flush=True)


def _vm_size_mb() -> int:
    match = re.search(r"^VmSize:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.MULTILINE)
    return int(match[1]) // 1024 if match else -1


# ---------------------------------------------------------------------------------------------- the poller side


class LambdaRuntime:
    """A runtime process for one function: started on demand, replaced after a crash or a timeout."""

    def __init__(self, spec: FunctionSpec, *, log_path: Path) -> None:
        self.spec = spec
        self.log_path = log_path
        self._context = get_context("spawn")  # a fresh interpreter: nothing of the poller's imports or memory
        self._process: Any = None
        self._connection: Connection | None = None
        self.init_info: dict[str, Any] = {}

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None and self._process.is_alive() else None

    def start(self) -> dict[str, Any]:
        """Start the process and wait for its init (the handler imported); raise InvocationError if it fails."""
        parent, child = self._context.Pipe()
        self._process = self._context.Process(
            target=_runtime_main, args=(child, self.spec, str(self.log_path)), name="lambda-runtime", daemon=True
        )
        self._process.start()
        child.close()
        self._connection = parent
        if not parent.poll(INIT_TIMEOUT_SECONDS):
            self.stop()
            raise InvocationError(f"the function's init did not finish within {INIT_TIMEOUT_SECONDS:.0f} s")
        try:
            ready: dict[str, Any] = parent.recv()
        except EOFError:
            self.stop()
            raise InvocationError("the runtime process died during init (see function.log)") from None
        if not ready.get("ready"):
            self.stop()
            raise InvocationError(f"the function's init failed: {ready.get('error')}")
        self.init_info = ready
        return ready

    def invoke(self, event: dict[str, Any], _context: Any = None) -> Any:
        """One invocation; the handler's response, or InvocationError when the invocation failed as a whole."""
        if self._connection is None or self.pid is None:
            self.start()
        assert self._connection is not None
        request_id = str(uuid.uuid4())
        started_at = time.monotonic()
        self._connection.send({"event": event, "requestId": request_id, "startedAt": started_at})
        remaining = self.spec.timeout_seconds - (time.monotonic() - started_at)
        if not self._connection.poll(max(0.0, remaining) + KILL_GRACE_SECONDS):
            self.stop()
            self._log_platform_report(request_id, "timeout", started_at)
            raise InvocationError(f"Task timed out after {self.spec.timeout_seconds:.2f} seconds")
        try:
            answer = self._connection.recv()
        except (EOFError, ConnectionError):
            if self._process is not None:
                self._process.join(KILL_GRACE_SECONDS)  # the pipe closes a moment before the exit status is known
            exit_code = self._process.exitcode if self._process is not None else None
            self.stop()
            self._log_platform_report(request_id, "error", started_at, errorType=f"Runtime.ExitError ({exit_code})")
            raise InvocationError(f"the runtime process exited during the invocation (exit code {exit_code})") from None
        if "error" in answer:
            raise InvocationError(answer["error"])
        return answer["response"]

    def stop(self) -> None:
        """Ask the process to finish, then kill it if it does not."""
        if self._connection is not None:
            with contextlib.suppress(OSError, ValueError):
                self._connection.send(None)
            self._connection.close()
            self._connection = None
        if self._process is not None:
            self._process.join(KILL_GRACE_SECONDS)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()
            self._process = None

    def _log_platform_report(self, request_id: str, status: str, started_at: float, **extra: str) -> None:
        """What Lambda logs for an invocation its runtime could not finish (the runtime cannot log it itself)."""
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        duration = round((time.monotonic() - started_at) * 1000, 2)
        record = {"requestId": request_id, "status": status, "metrics": {"durationMs": duration}, **extra}
        with self.log_path.open("a", encoding="utf-8") as log:
            log.write(json.dumps({"time": now, "type": "platform.report", "record": record}) + "\n")


def function_spec(*, session: Any, deployed: Any, state_dir: Path, endpoint: str) -> FunctionSpec:
    """The stack's one SQS-triggered function, as Lambda describes it, with its code asset unpacked locally."""
    mappings = deployed.resources_of_type("AWS::Lambda::EventSourceMapping")
    function_ids = {mapping["Properties"]["FunctionName"]["Ref"] for mapping in mappings.values()}
    if len(function_ids) != 1:
        raise RuntimeError(f"expected event source mappings for one function, found {sorted(function_ids)}")
    function_id = function_ids.pop()
    configuration = session.client("lambda").get_function_configuration(FunctionName=deployed.physical_ids[function_id])
    code_dir = _unpack_code(session, deployed.template["Resources"][function_id], configuration, state_dir)
    name = configuration["FunctionName"]
    log_group = configuration.get("LoggingConfig", {}).get("LogGroup") or f"/aws/lambda/{name}"
    region = session.region_name
    credentials = session.get_credentials().get_frozen_credentials()
    environment = {
        # What the Lambda runtime sets (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html)
        "_HANDLER": configuration["Handler"],
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(configuration["MemorySize"]),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": log_group,
        "AWS_LAMBDA_LOG_STREAM_NAME": LOG_STREAM,
        "AWS_LAMBDA_LOG_FORMAT": configuration.get("LoggingConfig", {}).get("LogFormat", "Text"),
        "LAMBDA_TASK_ROOT": str(code_dir),
        "AWS_ACCESS_KEY_ID": credentials.access_key,
        "AWS_SECRET_ACCESS_KEY": credentials.secret_key,
        "AWS_SESSION_TOKEN": credentials.token or "local",
        # Not Lambda's: every AWS call of the function goes to the local cloud.
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        **configuration.get("Environment", {}).get("Variables", {}),
    }
    return FunctionSpec(
        name=name,
        arn=configuration["FunctionArn"],
        handler=configuration["Handler"],
        memory_mb=configuration["MemorySize"],
        timeout_seconds=configuration["Timeout"],
        code_dir=str(code_dir),
        environment=environment,
    )


def _unpack_code(session: Any, resource_: Mapping[str, Any], configuration: Mapping[str, Any], state_dir: Path) -> Path:
    """The function's code asset, as the CLI published it to the bootstrap bucket, unpacked under the state dir."""
    code = resource_["Properties"]["Code"]
    account = configuration["FunctionArn"].split(":")[4]
    bucket = _substitute(code["S3Bucket"], account=account, region=session.region_name)
    key = _substitute(code["S3Key"], account=account, region=session.region_name)
    body = session.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    target = state_dir / CODE_DIR / Path(key).stem
    if not target.exists():
        staging = target.with_name(target.name + ".partial")
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            archive.extractall(staging)
        staging.rename(target)
    return target


def _substitute(value: Any, *, account: str, region: str) -> str:
    """A template string, or an `Fn::Sub` of the pseudo parameters the CDK's default synthesizer uses."""
    if isinstance(value, str):
        return value
    template = value["Fn::Sub"]
    for name, replacement in {"AWS::AccountId": account, "AWS::Region": region, "AWS::Partition": "aws"}.items():
        template = template.replace("${" + name + "}", replacement)
    return str(template)


def _pollers(*, session: Any, spec: FunctionSpec, runtime: LambdaRuntime) -> list[tuple[Any, Any]]:
    """(mapping, SqsPoller) per event source mapping of the function, configured as Lambda reports the mapping."""
    from local.poller import EventSourceMapping, SqsPoller

    lambda_client = session.client("lambda")
    sqs = session.client("sqs")
    pollers = []
    paginator = lambda_client.get_paginator("list_event_source_mappings")
    for page in paginator.paginate(FunctionName=spec.name):
        for mapping in page["EventSourceMappings"]:
            queue_arn = mapping["EventSourceArn"]
            _, _, _, _, owner, queue_name = queue_arn.split(":")
            queue_url = sqs.get_queue_url(QueueName=queue_name, QueueOwnerAWSAccountId=owner)["QueueUrl"]
            source = EventSourceMapping(
                queue_url=queue_url,
                queue_arn=queue_arn,
                batch_size=mapping.get("BatchSize", 10),
                report_batch_item_failures="ReportBatchItemFailures" in mapping.get("FunctionResponseTypes", []),
            )
            pollers.append(
                (
                    source,
                    SqsPoller(
                        sqs_client=sqs,
                        mapping=source,
                        handler=runtime.invoke,
                        context_factory=lambda: None,  # the runtime process makes the context, with its own clock
                        region=session.region_name,
                    ),
                )
            )
    return pollers


def serve(*, stack_name: str, state_dir: Path, endpoint: str, stop: threading.Event) -> int:
    """Run the function for every mapping until `stop` is set. Writes READY_FILE once the function's init is done."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from local.deployed import read_deployed_stack

    session = boto3.Session()
    deployed = read_deployed_stack(session.client("cloudformation"), stack_name)
    spec = function_spec(session=session, deployed=deployed, state_dir=state_dir, endpoint=endpoint)
    runtime = LambdaRuntime(spec, log_path=state_dir / FUNCTION_LOG)
    ready = runtime.start()
    pollers = _pollers(session=session, spec=spec, runtime=runtime)
    info = {
        "pollerPid": os.getpid(),
        "runtimePid": ready["pid"],
        "function": spec.name,
        "handler": spec.handler,
        "memoryMb": spec.memory_mb,
        "timeoutSeconds": spec.timeout_seconds,
        "baselineMb": ready["baselineMb"],
        "initMs": ready["initMs"],
        "codeDir": spec.code_dir,
        "queues": [mapping.queue_url for mapping, _ in pollers],
    }
    _write_json(state_dir / READY_FILE, info)
    _log(
        f"function {spec.name} ready: {spec.handler}, init {ready['initMs']:.0f} ms, "
        f"address space {ready['baselineMb']} MB of its {spec.memory_mb} MB cap; polling {len(pollers)} queue(s)"
    )
    try:
        while not stop.is_set():
            busy = 0
            for mapping, poller in pollers:
                try:
                    before = asdict(poller.report)
                    records = poller.poll_once()
                except (BotoCoreError, ClientError) as error:
                    _log(f"polling {mapping.queue_url} failed: {error}; retrying in {ERROR_BACKOFF_SECONDS} s")
                    stop.wait(ERROR_BACKOFF_SECONDS)
                    continue
                if records:
                    busy += records
                    after = asdict(poller.report)
                    failed = after["failed"] - before["failed"]
                    errors = after["handler_errors"][len(before["handler_errors"]) :]
                    queue = mapping.queue_url.rsplit("/", 1)[-1]
                    reason = f" ({errors[-1]})" if errors else ""
                    _log(
                        f"invoked with {records} record(s) from {queue}: {records - failed} acknowledged, "
                        f"{failed} handed back{reason}"
                    )
                    if runtime.pid is not None:
                        _write_json(state_dir / READY_FILE, {**info, "runtimePid": runtime.pid})
            if not busy:
                stop.wait(IDLE_POLL_SECONDS)
    finally:
        runtime.stop()
        (state_dir / READY_FILE).unlink(missing_ok=True)
    return 0


def _log(message: str) -> None:
    print(f"{datetime.now(UTC).strftime('%H:%M:%S')} {message}", flush=True)


def _write_json(path: Path, value: Mapping[str, Any]) -> None:
    staging = path.with_suffix(".tmp")
    staging.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")
    staging.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.lambda_runtime", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--state-dir", type=Path, required=True)
    options = parser.parse_args(argv)
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    if not endpoint.startswith(("http://localhost", "http://127.0.0.1")):
        sys.exit("local.lambda_runtime only runs against a local endpoint: set AWS_ENDPOINT_URL=http://localhost:PORT")
    stop = threading.Event()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signal_number, lambda *_: stop.set())
    return serve(stack_name=options.stack, state_dir=options.state_dir, endpoint=endpoint, stop=stop)


if __name__ == "__main__":
    sys.exit(main())
