"""The local cloud's runtime process behaves like Lambda's: the function's environment, a counting-down context,
the memory size as a cap, and an invocation that crashes or times out fails the batch and gets a fresh process."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from local.lambda_runtime import FunctionSpec, InvocationError, LambdaRuntime

HANDLER_MODULE = textwrap.dedent(
    """
    import os, time

    def echo(event, context):
        return {
            "event": event,
            "remainingMs": context.get_remaining_time_in_millis(),
            "memory": context.memory_limit_in_mb,
            "functionName": os.environ["AWS_LAMBDA_FUNCTION_NAME"],
            "setting": os.environ.get("SETTING"),
            "leaked": os.environ.get("LEAKED_FROM_THE_POLLER"),
        }

    def hog(event, context):
        blocks = [bytearray(64 * 1024 * 1024) for _ in range(event["blocks"])]
        return len(blocks)

    def sleepy(event, context):
        time.sleep(event["seconds"])
        return "woke up"

    def crash(event, context):
        os._exit(3)
    """
)


def make_runtime(tmp_path: Path, function: str, *, memory_mb: int = 256, timeout_seconds: int = 5) -> LambdaRuntime:
    code = tmp_path / "code"
    code.mkdir(exist_ok=True)
    (code / "fake_function.py").write_text(HANDLER_MODULE)
    spec = FunctionSpec(
        name="fn",
        arn="arn:aws:lambda:us-east-1:123456789012:function:fn",
        handler=f"fake_function.{function}",
        memory_mb=memory_mb,
        timeout_seconds=timeout_seconds,
        code_dir=str(code),
        environment={"AWS_LAMBDA_FUNCTION_NAME": "fn", "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/fn", "SETTING": "x"},
    )
    return LambdaRuntime(spec, log_path=tmp_path / "function.log")


def platform_lines(tmp_path: Path) -> list[dict]:
    lines = (tmp_path / "function.log").read_text().splitlines()
    return [json.loads(line) for line in lines if line.startswith('{"time"')]


def test_the_handler_gets_the_function_environment_and_a_lambda_context(tmp_path: Path, monkeypatch) -> None:
    # GIVEN a runtime for a function with 256 MB and a 5 s timeout, and a variable only the poller has
    monkeypatch.setenv("LEAKED_FROM_THE_POLLER", "yes")
    runtime = make_runtime(tmp_path, "echo")
    try:
        # WHEN it is invoked
        response = runtime.invoke({"Records": []})
    finally:
        runtime.stop()

    # THEN the handler saw the deployed environment only, and a context counting down from the timeout
    assert response["event"] == {"Records": []}
    assert (response["functionName"], response["setting"], response["leaked"]) == ("fn", "x", None)
    assert response["memory"] == 256
    assert 0 < response["remainingMs"] <= 5000
    # AND Lambda's platform lines were logged around the invocation, the first with its init duration
    start, report = platform_lines(tmp_path)
    assert (start["type"], report["type"]) == ("platform.start", "platform.report")
    assert report["record"]["status"] == "success"
    assert "initDurationMs" in report["record"]["metrics"]
    assert runtime.init_info["baselineMb"] < 256


def test_memory_beyond_the_function_memory_size_fails_the_invocation(tmp_path: Path) -> None:
    # GIVEN a 256 MB function
    runtime = make_runtime(tmp_path, "hog", memory_mb=256)
    try:
        # WHEN it allocates 4 x 64 MB on top of the interpreter
        with pytest.raises(InvocationError, match="MemoryError"):
            runtime.invoke({"blocks": 4})
        # THEN the invocation failed; a smaller allocation in the same process still succeeds
        assert runtime.invoke({"blocks": 1}) == 1
    finally:
        runtime.stop()


@pytest.mark.slow
def test_an_invocation_past_the_timeout_is_killed_and_the_next_one_gets_a_fresh_process(tmp_path: Path) -> None:
    # GIVEN a function with a 1 s timeout
    runtime = make_runtime(tmp_path, "sleepy", timeout_seconds=1)
    try:
        runtime.start()
        first_pid = runtime.pid
        # WHEN an invocation sleeps past it
        with pytest.raises(InvocationError, match=r"Task timed out after 1\.00 seconds"):
            runtime.invoke({"seconds": 30})
        # THEN the process was killed, and the next invocation runs in a new one
        assert runtime.invoke({"seconds": 0}) == "woke up"
        assert runtime.pid not in (None, first_pid)
    finally:
        runtime.stop()
    assert any(line["record"].get("status") == "timeout" for line in platform_lines(tmp_path))


def test_a_crashing_runtime_fails_the_invocation(tmp_path: Path) -> None:
    runtime = make_runtime(tmp_path, "crash")
    try:
        with pytest.raises(InvocationError, match="exit code 3"):
            runtime.invoke({})
    finally:
        runtime.stop()


def test_an_init_failure_is_reported(tmp_path: Path) -> None:
    runtime = make_runtime(tmp_path, "no_such_function")
    with pytest.raises(InvocationError, match="init failed: AttributeError"):
        runtime.start()
