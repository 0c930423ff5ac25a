"""A live local cloud: moto in server mode, the stack deployed into it by the pinned CDK CLI, the function running.

    python -m local.cloud up [--port 4599] [--stack NAME] [--overrides JSON]   # make local-up [PORT=...]
    python -m local.cloud down                                                  # make local-down
    python -m local.cloud logs                                                  # make local-logs
    python -m local.cloud status | env

`up` runs, each step announced:

1. moto's server on localhost:PORT, in the background (`localhost`, not 127.0.0.1: the CDK CLI's change set
   cannot find its assets bucket otherwise). Run again, it resets the running server instead
   (`POST /moto-api/reset`): moto 5.2.5 reports stack updates as successful without applying them, so a
   redeploy is a fresh bootstrap + deploy into an empty moto, and whatever was uploaded is gone;
2. `cdk synth` into the state folder, `cdk bootstrap` and `cdk deploy --require-approval never` from that
   assembly, by the CLI pinned in package.json, with dummy credentials and AWS_ENDPOINT_URL set: the
   user's path (bootstrap stack, asset publishing, change sets), only the endpoint differs;
3. what moto's CloudFormation ignores: the originals bucket's versioning and EventBridge notifications are
   applied from the template, and the event source mappings disabled (moto would try Docker);
4. the poller (`local.lambda_runtime`): the real `lambda_handler`, from the code asset the CLI published,
   in a runtime process capped at the function's memory size.

Every process it starts is recorded (PIDs in `STATE_DIR/cloud.json`, each in a process group of its own);
`down` stops exactly those and checks the port is free. Nothing here talks to anything but localhost.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from local.preflight import PreflightError, check_node

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STATE_DIR = REPO_ROOT / ".local-cloud"
DEFAULT_PORT = 4599
REGION = "us-east-1"
CDK = REPO_ROOT / "node_modules" / ".bin" / "cdk"
STATE_FILE = "cloud.json"
ENV_FILE = "env"
MOTO_LOG = "moto.log"
POLLER_LOG = "poller.log"
CDK_LOG = "cdk.log"
ASSEMBLY_DIR = "cdk.out"
FUNCTION_LOG = "function.log"
RUNTIME_FILE = "runtime.json"
SERVER_START_SECONDS = 30.0
RUNTIME_READY_SECONDS = 120.0
STOP_GRACE_SECONDS = 5.0
CDK_LOG_TAIL_LINES = 25
# What marks a recorded PID as still ours (a PID can be reused by an unrelated process after a reboot).
PROCESS_MARKERS = {"moto": "moto.server", "poller": "local.lambda_runtime"}
# Never inherited from the user's shell: each could send a request to a real account.
AWS_VARIABLES_TO_DROP = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
)


class CloudError(RuntimeError):
    """A step of the local cloud failed; the message says which and where its log is."""


# --------------------------------------------------------------------------------------------------- helpers


def endpoint_for(port: int) -> str:
    return f"http://localhost:{port}"


def local_environment(port: int) -> dict[str, str]:
    """This process's environment pointed at the local cloud, with nothing that could reach a real account."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in AWS_VARIABLES_TO_DROP and not name.startswith("AWS_ENDPOINT_URL")
    }
    environment.update(
        {
            "AWS_ENDPOINT_URL": endpoint_for(port),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
            "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
            "CDK_DISABLE_VERSION_CHECK": "1",
            "AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED": "true",
        }
    )
    return environment


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _server_answers(port: int) -> bool:
    try:
        # Our own server on localhost, a fixed path.
        with urllib.request.urlopen(f"{endpoint_for(port)}/moto-api/config", timeout=2) as response:  # noqa: S310
            return bool(200 <= response.status < 300)
    except (urllib.error.URLError, OSError):
        return False


def _reset_server(port: int) -> None:
    request = urllib.request.Request(f"{endpoint_for(port)}/moto-api/reset", method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        if not 200 <= response.status < 300:
            raise CloudError(f"moto did not reset (HTTP {response.status})")


def _is_ours(pid: int | None, role: str) -> bool:
    """The PID is alive and still runs what we started (not a reused PID)."""
    if not pid:
        return False
    try:
        command_line = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    return PROCESS_MARKERS[role] in command_line


def _stop_process_group(pid: int, role: str) -> bool:
    """SIGTERM the process group we started (leader `pid`), SIGKILL it after a grace period. True if it ran."""
    return bool(_stop_process_groups([(pid, role)]))


def _stop_process_groups(processes: Sequence[tuple[int, str]]) -> list[int]:
    """Stop several recorded process groups at once (each takes a second or two to exit); return the PIDs stopped."""
    ours = [(pid, role) for pid, role in processes if _is_ours(pid, role)]
    for pid, _ in ours:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while time.monotonic() < deadline and any(_is_ours(pid, role) for pid, role in ours):
        for pid, _ in ours:
            _reap(pid)
        time.sleep(0.1)
    for pid, role in ours:
        if _is_ours(pid, role):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            time.sleep(0.2)
        _reap(pid)
    return [pid for pid, _ in ours]


def _process_group(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def _reap(pid: int) -> None:
    """Collect the exit status when the process is our child (tests start and stop in one process)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _start_background(command: Sequence[str], *, log: Path, environment: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """A process in a session (and process group) of its own, detached from the terminal, output to `log`."""
    with log.open("ab") as output:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and module, fixed arguments
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
            env=dict(environment),
            start_new_session=True,
        )


class Phases:
    """Announces each step with its number and, when it ends, how long it took."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.number = 0
        self.started = time.perf_counter()

    @contextlib.contextmanager
    def step(self, description: str) -> Iterator[None]:
        self.number += 1
        print(f"==> [{self.number}/{self.total}] {description}", flush=True)
        started = time.perf_counter()
        yield
        print(f"    done in {time.perf_counter() - started:.1f} s", flush=True)

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started


# --------------------------------------------------------------------------------------------------- state


def read_state(state_dir: Path) -> dict[str, Any]:
    try:
        state: dict[str, Any] = json.loads((state_dir / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return state


def _write_state(state_dir: Path, state: Mapping[str, Any]) -> None:
    staging = state_dir / (STATE_FILE + ".tmp")
    staging.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    staging.replace(state_dir / STATE_FILE)


# --------------------------------------------------------------------------------------------------- up


def up(*, port: int, stack: str, overrides: str | None, state_dir: Path, verbose: bool = False) -> dict[str, Any]:
    """Start (or reset and redeploy) the local cloud; return its state (ports, PIDs, outputs)."""
    phases = Phases(total=6)
    state_dir.mkdir(parents=True, exist_ok=True)
    environment = local_environment(port)
    if not CDK.exists():
        raise CloudError(f"{CDK.relative_to(REPO_ROOT)} is missing: run `make install` first")
    note = check_node()
    if note:
        print(note, flush=True)

    state = read_state(state_dir)
    with phases.step(f"moto server on {endpoint_for(port)}"):
        # The poller of a previous run reads the stack being replaced: stop it first.
        if _stop_process_group(state.get("pollerPid", 0), "poller"):
            print("    stopped the previous poller", flush=True)
        moto_pid = state.get("motoPid", 0)  # 0 when none was recorded, as for the poller: never ours
        if _is_ours(moto_pid, "moto") and state.get("port") == port and _server_answers(port):
            _reset_server(port)
            print(f"    reset the running server (pid {moto_pid}): a fresh, empty moto for the redeploy", flush=True)
        else:
            if _is_ours(moto_pid, "moto"):
                _stop_process_group(moto_pid, "moto")
                print(f"    stopped the previous server (pid {moto_pid}, port {state.get('port')})", flush=True)
            if port_in_use(port):
                raise CloudError(f"port {port} is in use by another process: choose another, `make local-up PORT=...`")
            server = _start_background(
                [sys.executable, "-m", "moto.server", "-H", "localhost", "-p", str(port)],
                log=state_dir / MOTO_LOG,
                environment=environment,
            )
            moto_pid = server.pid
            _write_state(state_dir, {"port": port, "endpoint": endpoint_for(port), "motoPid": moto_pid})
            deadline = time.monotonic() + SERVER_START_SECONDS
            while not _server_answers(port):
                if server.poll() is not None or time.monotonic() > deadline:
                    raise CloudError(f"moto's server did not start on port {port}; see {state_dir / MOTO_LOG}")
                time.sleep(0.2)
            print(f"    started (pid {moto_pid}, log {_shown(state_dir / MOTO_LOG)})", flush=True)
        state = {"port": port, "endpoint": endpoint_for(port), "motoPid": moto_pid, "stack": stack}
        _write_state(state_dir, state)

    assembly = state_dir / ASSEMBLY_DIR
    context = ["-c", f"stackName={stack}"] + (["-c", f"thumbnailsOverrides={overrides}"] if overrides else [])
    cdk_log = state_dir / CDK_LOG
    cdk_log.write_text("", encoding="utf-8")
    # CloudFormation's built-in template validation is skipped here (CDK_VALIDATION=false): it adds ~20 s to
    # every synth on this machine, and `make synth` and the infra tests run it on the same template.
    synth_environment = {**environment, "CDK_VALIDATION": "false"}
    with phases.step(f"cdk synth {stack} into {_shown(assembly)} (pinned CLI, layer built with pip when it changed)"):
        _cdk(["synth", "--quiet", "--output", str(assembly), *context], synth_environment, cdk_log, verbose)
        _close_template_gaps(assembly, stack)
    with phases.step("cdk bootstrap (the CDKToolkit stack: assets bucket, version parameter)"):
        _cdk(["bootstrap", "--app", str(assembly)], environment, cdk_log, verbose)
    with phases.step(f"cdk deploy {stack} --require-approval never (publishes the assets, creates a change set)"):
        _cdk(["deploy", "--app", str(assembly), "--require-approval", "never", stack], environment, cdk_log, verbose)

    with phases.step("applying what moto's CloudFormation ignores"):
        outputs = _apply_moto_gaps(stack=stack, environment=environment)

    with phases.step("starting the poller: the real lambda_handler, in a process capped at the function's memory"):
        (state_dir / RUNTIME_FILE).unlink(missing_ok=True)
        poller = _start_background(
            [sys.executable, "-m", "local.lambda_runtime", "--stack", stack, "--state-dir", str(state_dir)],
            log=state_dir / POLLER_LOG,
            environment=environment,
        )
        state["pollerPid"] = poller.pid
        _write_state(state_dir, state)
        runtime = _wait_for_runtime(state_dir, poller)
        print(
            f"    function {runtime['function']}: {runtime['memoryMb']} MB cap (address space at start "
            f"{runtime['baselineMb']} MB), timeout {runtime['timeoutSeconds']} s, init {runtime['initMs']:.0f} ms; "
            f"polling {len(runtime['queues'])} queue(s) (poller pid {poller.pid})",
            flush=True,
        )

    state.update(outputs=outputs, runtimePid=runtime["runtimePid"], readyAfterSeconds=round(phases.elapsed, 1))
    _write_state(state_dir, state)
    _write_env_file(state_dir, port)
    _print_summary(state, state_dir)
    return state


def _cdk(arguments: list[str], environment: Mapping[str, str], log: Path, verbose: bool) -> None:
    """The pinned CLI, output to the log (or the terminal with --verbose); on failure its last lines and the log."""
    command = [str(CDK), *arguments]
    with log.open("a", encoding="utf-8") as output:
        output.write(f"\n$ cdk {' '.join(arguments)}\n")
        output.flush()
        result = subprocess.run(  # noqa: S603 - the pinned CLI from node_modules, our arguments
            command,
            cwd=REPO_ROOT,
            env=dict(environment),
            stdin=subprocess.DEVNULL,
            stdout=None if verbose else output,
            stderr=None if verbose else subprocess.STDOUT,
            check=False,
        )
    if result.returncode != 0:
        tail = log.read_text(encoding="utf-8").splitlines()[-CDK_LOG_TAIL_LINES:]
        print("\n".join(f"    | {line}" for line in tail), file=sys.stderr)
        raise CloudError(f"`cdk {arguments[0]}` failed (exit {result.returncode}); full output in {log}")


def _close_template_gaps(assembly: Path, stack: str) -> None:
    """Pass the synthesized template through the same rewrite as the in-process deploy (`deployable_template`:
    what moto's CloudFormation cannot create), so the CLI deploys what moto can; today that changes nothing."""
    from local.moto_cloud import StackAssembly, deployable_template

    template_file = assembly / f"{stack}.template.json"
    original = StackAssembly.read(assembly, stack).template
    patched = deployable_template(original)
    if patched != original:
        template_file.write_text(json.dumps(patched, indent=1), encoding="utf-8")
        print("    template rewritten where moto cannot deploy it as is (see local/moto_cloud.py)", flush=True)


def _apply_moto_gaps(*, stack: str, environment: Mapping[str, str]) -> dict[str, str]:
    """Versioning + EventBridge on the buckets, event source mappings disabled; returns the stack's outputs."""
    with _environment(environment):
        import boto3

        from local.deployed import read_deployed_stack
        from local.moto_cloud import apply_bucket_configuration, disable_event_source_mappings

        session = boto3.Session(region_name=REGION)
        deployed = read_deployed_stack(session.client("cloudformation"), stack)
        apply_bucket_configuration(deployed, s3=session.client("s3"))
        disable_event_source_mappings(deployed, lambda_client=session.client("lambda"))
        buckets = len(deployed.resources_of_type("AWS::S3::Bucket"))
        mappings = len(deployed.resources_of_type("AWS::Lambda::EventSourceMapping"))
    print(
        f"    {buckets} bucket(s): versioning and EventBridge notifications as the template sets them; "
        f"{mappings} event source mapping(s) disabled (the poller plays them)",
        flush=True,
    )
    return dict(deployed.outputs)


@contextlib.contextmanager
def _environment(environment: Mapping[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(environment)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _wait_for_runtime(state_dir: Path, poller: subprocess.Popen[bytes]) -> dict[str, Any]:
    deadline = time.monotonic() + RUNTIME_READY_SECONDS
    ready_file = state_dir / RUNTIME_FILE
    while not ready_file.exists():
        if poller.poll() is not None:
            tail = (state_dir / POLLER_LOG).read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
            print("\n".join(f"    | {line}" for line in tail), file=sys.stderr)
            raise CloudError(
                f"the poller exited (code {poller.returncode}); see {state_dir / POLLER_LOG} "
                f"and {state_dir / FUNCTION_LOG}"
            )
        if time.monotonic() > deadline:
            raise CloudError(
                f"the function's runtime was not ready after {RUNTIME_READY_SECONDS:.0f} s; "
                f"see {state_dir / POLLER_LOG}"
            )
        time.sleep(0.2)
    info: dict[str, Any] = json.loads(ready_file.read_text(encoding="utf-8"))
    return info


def _write_env_file(state_dir: Path, port: int) -> None:
    lines = [
        f"export {name}={value}"
        for name, value in local_environment(port).items()
        if name.startswith("AWS_") and name != "AWS_EC2_METADATA_DISABLED"
    ]
    lines.append("unset AWS_PROFILE AWS_SESSION_TOKEN")
    (state_dir / ENV_FILE).write_text(
        "# source this file: the AWS CLI and boto3 then talk to the local cloud\n" + "\n".join(lines) + "\n",
        encoding="utf-8",
    )


def _shown(path: Path) -> str:
    """A path relative to the working directory when it is under it (shorter to read and to paste)."""
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(Path.cwd()))
    return str(path)


def _print_summary(state: Mapping[str, Any], state_dir: Path) -> None:
    outputs = state["outputs"]
    endpoint = state["endpoint"]
    originals = outputs.get("OriginalsBucketName", "?")
    thumbnails = outputs.get("ThumbnailsBucketName", "?")
    aws = f"{_shown(REPO_ROOT / '.venv' / 'bin' / 'aws')} --endpoint-url {endpoint}"
    env_file = _shown(state_dir / ENV_FILE)
    print(f"\nLocal cloud ready in {state['readyAfterSeconds']:.0f} s (stack {state['stack']}).\n")
    print(f"AWS_ENDPOINT_URL={endpoint}")
    print(f"originals bucket:  {originals}")
    print(f"thumbnails bucket: {thumbnails}")
    for name in ("IngestQueueUrl", "IngestDeadLetterQueueUrl", "EventsDeadLetterQueueUrl"):
        if name in outputs:
            print(f"{name}: {outputs[name]}")
    print(f"\nTry it (`source {env_file}` first: dummy credentials, region {REGION}, this endpoint):")
    print(f"  {aws} s3 cp ~/Pictures/cat.jpg s3://{originals}/cat.jpg")
    print(f"  {aws} s3 ls s3://{thumbnails}/cat.jpg/")
    print(f"  {aws} s3 cp s3://{thumbnails}/cat.jpg/manifest.json -")
    operator_cli = REPO_ROOT / ".venv" / "bin" / "thumbnails"
    if operator_cli.exists():
        print(f"  {_shown(operator_cli)} status      # the operator CLI: queues, manifests, stale sets")
    elif (REPO_ROOT / "operations" / "__main__.py").exists():
        print(f"  {_shown(REPO_ROOT / '.venv' / 'bin' / 'python')} -m operations status   # the operator CLI")
    print("  make local-logs    # follow the function's JSON logs")
    print("  make smoke         # post-deploy checks against this endpoint")
    print("  make local-up      # after a code change: reset moto and redeploy (uploads are lost)")
    print("  make local-down    # stop every process started here")


# --------------------------------------------------------------------------------------------------- down, logs


def down(*, state_dir: Path) -> list[str]:
    """Stop every process `up` recorded; return what was stopped. Raises if the port is still served after."""
    state = read_state(state_dir)
    runtime = {}
    with contextlib.suppress(OSError, ValueError):
        runtime = json.loads((state_dir / RUNTIME_FILE).read_text(encoding="utf-8"))
    poller_pid, moto_pid = state.get("pollerPid", 0), state.get("motoPid", 0)
    halted = _stop_process_groups([(poller_pid, "poller"), (moto_pid, "moto")])
    stopped = []
    if poller_pid in halted:
        stopped.append(f"poller (pid {poller_pid})")
    # The runtime process is in the poller's process group (and exits when its pipe to the poller closes); only
    # if it somehow outlived the poller, it is stopped alone, recognised by that process group.
    runtime_pid = runtime.get("runtimePid") or state.get("runtimePid")
    if runtime_pid and poller_pid and _process_group(runtime_pid) == poller_pid:
        with contextlib.suppress(ProcessLookupError):
            os.kill(runtime_pid, signal.SIGKILL)
        stopped.append(f"function runtime (pid {runtime_pid})")
    if moto_pid in halted:
        stopped.append(f"moto server (pid {moto_pid}, port {state.get('port')})")
    for name in (STATE_FILE, RUNTIME_FILE, ENV_FILE):
        (state_dir / name).unlink(missing_ok=True)
    port = state.get("port")
    if port and port_in_use(port):
        raise CloudError(f"port {port} is still served after stopping {', '.join(stopped) or 'nothing'}")
    return stopped


def status(*, state_dir: Path) -> int:
    state = read_state(state_dir)
    if not state:
        print("no local cloud recorded here: `make local-up` starts one")
        return 1
    alive = {role: _is_ours(state.get(f"{role}Pid"), role) for role in ("moto", "poller")}
    print(f"AWS_ENDPOINT_URL={state.get('endpoint')}  stack {state.get('stack')}")
    for role, running in alive.items():
        print(f"  {role}: pid {state.get(f'{role}Pid')} {'running' if running else 'NOT running'}")
    for name, value in (state.get("outputs") or {}).items():
        print(f"  {name}: {value}")
    return 0 if all(alive.values()) else 1


def logs(*, state_dir: Path) -> int:
    log = state_dir / FUNCTION_LOG
    log.parent.mkdir(parents=True, exist_ok=True)
    log.touch()
    print(f"==> following {_shown(log)} (the function's JSON logs; Ctrl-C to stop)", flush=True)
    tail = shutil.which("tail")
    if not tail:
        raise CloudError("`tail` is not on PATH")
    with contextlib.suppress(KeyboardInterrupt):
        return subprocess.call([tail, "-n", "50", "-F", str(log)])  # noqa: S603 - tail of our own log
    return 0


# --------------------------------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")  # importing the CDK starts Node
    from stacks.constants import STACK_NAME

    parser = argparse.ArgumentParser(prog="python -m local.cloud", description=__doc__.split("\n\n")[0])
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR, help="default: .local-cloud/")
    commands = parser.add_subparsers(dest="command", required=True)
    up_parser = commands.add_parser("up", help="start moto, bootstrap + deploy with the CDK CLI, start the poller")
    up_parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or DEFAULT_PORT))
    up_parser.add_argument("--stack", default=os.environ.get("STACK") or STACK_NAME)
    up_parser.add_argument(
        "--overrides",
        default=os.environ.get("OVERRIDES") or None,
        help="thumbnailsOverrides, a JSON object merged over cdk.json's thumbnails",
    )
    up_parser.add_argument("--verbose", action="store_true", help="show the CDK CLI's own output")
    commands.add_parser("down", help="stop every process `up` started")
    commands.add_parser("logs", help="follow the function's JSON logs")
    commands.add_parser("status", help="what is running")
    commands.add_parser("env", help="print export lines for the local cloud")
    options = parser.parse_args(argv)
    state_dir: Path = options.state_dir.resolve()
    try:
        if options.command == "up":
            up(
                port=options.port,
                stack=options.stack,
                overrides=options.overrides,
                state_dir=state_dir,
                verbose=options.verbose,
            )
        elif options.command == "down":
            stopped = down(state_dir=state_dir)
            print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
        elif options.command == "logs":
            return logs(state_dir=state_dir)
        elif options.command == "status":
            return status(state_dir=state_dir)
        elif options.command == "env":
            env_file = state_dir / ENV_FILE
            if not env_file.exists():
                raise CloudError("no local cloud is running: `make local-up` first")
            print(env_file.read_text(encoding="utf-8"), end="")
    except (CloudError, PreflightError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
