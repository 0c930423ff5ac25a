"""The Lambda handler: partial batch responses, one structured log line per record, metrics, no escaping errors."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools import Metrics

from tests.builders import (
    ORIGINALS_BUCKET,
    THUMBNAILS_BUCKET,
    function_environ,
    image_bytes,
    lambda_context,
    object_created_body,
    sqs_event,
    sqs_record,
)
from thumbnailer import handler
from thumbnailer.contract import Settings
from thumbnailer.handler import S3TimeBudget, handle_batch, lambda_handler
from thumbnailer.outcomes import Completed, Outcome, Rejected, Removed, Skipped, SkipReason, TransientError
from thumbnailer.service import ThumbnailService

from .conftest import FakeEngine, JsonLog


class ScriptedService:
    """Answers each message body with the outcome scripted for it, or raises the exception scripted for it,
    as soon as it is admitted (so no other phase is ever reached)."""

    def __init__(self, script: dict[str, Outcome | Exception]) -> None:
        self.script = script
        self.bodies: list[str] = []

    def admit(self, message_body: str) -> Outcome:
        self.bodies.append(message_body)
        answer = self.script[message_body]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def fetch(self, admitted: Any, **_: Any) -> Any:
        raise AssertionError("every scripted record ends at admission")

    render = write = fetch


def metric_totals(metrics: Metrics) -> dict[str, float]:
    emf = metrics.serialize_metric_set()
    names = [metric["Name"] for metric in emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
    return {name: sum(emf[name]) if isinstance(emf[name], list) else emf[name] for name in names}


def run(event: dict[str, Any], service: Any, log: JsonLog, metrics: Metrics) -> dict[str, Any]:
    return handle_batch(event, lambda_context(), service, logger=log.logger, metrics=metrics)


def test_only_the_record_that_failed_transiently_is_reported(log: JsonLog, metrics: Metrics) -> None:
    # GIVEN a batch of three where the middle one meets S3 throttling
    service = ScriptedService(
        {
            "first": Completed(key="a.jpg", variant_keys=("a.jpg/w256.jpg",)),
            "second": TransientError("SlowDown", "reduce your request rate"),
            "third": Rejected(reason="corrupt", detail="bad huffman table", key="c.jpg", manifest_written=True),
        }
    )
    event = sqs_event(
        sqs_record("first", message_id="m-1"),
        sqs_record("second", message_id="m-2", receive_count=3),
        sqs_record("third", message_id="m-3"),
    )

    # WHEN the batch is handled
    response = run(event, service, log, metrics)

    # THEN exactly that record goes back to the queue; the others are acknowledged
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-2"}]}
    assert service.bodies == ["first", "second", "third"]
    # ... and each record has one structured line saying what happened
    records = log.records()
    assert records["m-1"]["outcome"] == "completed"
    assert records["m-1"]["variants"] == 1
    assert records["m-2"]["level"] == "WARNING"
    assert (records["m-2"]["outcome"], records["m-2"]["reason"]) == ("transient", "SlowDown")
    assert records["m-2"]["receiveCount"] == 3
    assert (records["m-3"]["outcome"], records["m-3"]["reason"], records["m-3"]["key"]) == (
        "rejected",
        "corrupt",
        "c.jpg",
    )
    assert all(isinstance(line["ms"], float) for line in records.values())


def test_a_malformed_record_is_acknowledged_with_a_structured_log_line(
    s3: Any, settings: Settings, fake_engine: FakeEngine, log: JsonLog, metrics: Metrics
) -> None:
    # GIVEN the real service and a record whose body is not an S3 event
    service = ThumbnailService(settings, s3, fake_engine)
    event = sqs_event(sqs_record("this is not json", message_id="poison"))

    # WHEN handled
    response = run(event, service, log, metrics)

    # THEN it is not retried, and the log says why
    assert response == {"batchItemFailures": []}
    line = log.records()["poison"]
    assert line["level"] == "WARNING"
    assert line["outcome"] == "rejected"
    assert line["reason"] == "malformed_message"
    assert "not JSON" in line["detail"]
    assert line["service"] == log.logger.service


def test_an_unexpected_exception_sends_the_record_back_and_is_logged_with_its_traceback(
    log: JsonLog, metrics: Metrics
) -> None:
    service = ScriptedService({"ok": Skipped(reason=SkipReason.KEY_FILTERED, key="a.txt"), "bug": KeyError("x")})
    event = sqs_event(sqs_record("ok", message_id="m-ok"), sqs_record("bug", message_id="m-bug"))

    response = run(event, service, log, metrics)

    assert response == {"batchItemFailures": [{"itemIdentifier": "m-bug"}]}
    line = log.records()["m-bug"]
    assert (line["level"], line["outcome"], line["reason"]) == ("ERROR", "error", "KeyError")
    assert "KeyError" in line["exception"]


def test_a_batch_where_every_record_fails_is_reported_not_raised(log: JsonLog, metrics: Metrics) -> None:
    error = TransientError("InternalError", "S3 is having a moment")
    service = ScriptedService({"a": error, "b": error})
    event = sqs_event(sqs_record("a", message_id="m-a"), sqs_record("b", message_id="m-b"))

    response = run(event, service, log, metrics)

    assert response == {"batchItemFailures": [{"itemIdentifier": "m-a"}, {"itemIdentifier": "m-b"}]}


@pytest.mark.parametrize("event", [{}, {"Records": "nope"}, {"Records": [{"no": "message id"}]}])
def test_an_event_that_is_not_an_sqs_batch_never_raises(event: dict[str, Any], log: JsonLog, metrics: Metrics) -> None:
    response = run(event, ScriptedService({}), log, metrics)

    assert response == {"batchItemFailures": []}
    assert any(line["level"] == "ERROR" for line in log.lines())


def test_outcomes_are_counted_as_metrics(log: JsonLog, metrics: Metrics) -> None:
    service = ScriptedService(
        {
            "a": Completed(key="a.jpg", variant_keys=("a.jpg/1.jpg", "a.jpg/2.jpg")),
            "b": Completed(key="b.jpg", variant_keys=("b.jpg/1.jpg", "b.jpg/2.jpg")),
            "c": Skipped(reason=SkipReason.SUPERSEDED, key="c.jpg"),
            "d": TransientError("SlowDown", "slow down"),
        }
    )
    event = sqs_event(*(sqs_record(body) for body in "abcd"))

    run(event, service, log, metrics)

    assert metric_totals(metrics) == {
        "ImagesCompleted": 2,
        "ThumbnailsWritten": 4,
        "ImagesSkipped": 1,
        "TransientErrors": 1,
    }


def test_a_removed_original_is_logged_and_counted(log: JsonLog, metrics: Metrics) -> None:
    # GIVEN a deletion that removed two thumbnails, and a deletion of a version whose key still has an object
    service = ScriptedService(
        {
            "gone": Removed(key="a.jpg", variant_keys=("a.jpg/w256.jpg", "a.jpg/w512.jpg")),
            "still": Skipped(reason=SkipReason.STILL_EXISTS, key="b.jpg"),
        }
    )
    event = sqs_event(sqs_record("gone", message_id="m-gone"), sqs_record("still", message_id="m-still"))

    # WHEN the batch is handled
    response = run(event, service, log, metrics)

    # THEN both are acknowledged, each with its line and metric
    assert response == {"batchItemFailures": []}
    records = log.records()
    assert (records["m-gone"]["level"], records["m-gone"]["outcome"]) == ("INFO", "removed")
    assert (records["m-gone"]["key"], records["m-gone"]["variants"]) == ("a.jpg", 2)
    assert (records["m-still"]["outcome"], records["m-still"]["reason"]) == ("skipped", "still_exists")
    assert metric_totals(metrics) == {"ImagesRemoved": 1, "ImagesSkipped": 1}


def test_records_are_not_started_without_time_for_one_s3_call(log: JsonLog, metrics: Metrics) -> None:
    # GIVEN a batch of two and an invocation with 3 s left, less than the 5 s one S3 call may take
    service = ScriptedService({"first": Completed(key="a.jpg", variant_keys=())})
    event = sqs_event(sqs_record("first", message_id="m-1"), sqs_record("second", message_id="m-2"))

    # WHEN the batch is handled
    response = handle_batch(
        event, lambda_context(remaining_ms=3_000), service, reserve_seconds=5.0, logger=log.logger, metrics=metrics
    )

    # THEN neither record is started; both go back to the queue, counted as transient, and logged once
    assert service.bodies == []
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-1"}, {"itemIdentifier": "m-2"}]}
    assert metric_totals(metrics) == {"TransientErrors": 2}
    assert [line["notStarted"] for line in log.lines() if "notStarted" in line] == [["m-1", "m-2"]]


@pytest.mark.parametrize("timeout_seconds", [10, 11, 20, 29, 30, 60, 120, 900])
def test_one_s3_call_at_its_worst_leaves_half_the_function_timeout(timeout_seconds: int) -> None:
    # GIVEN the function's timeout
    # WHEN its S3 client's budget is derived
    budget = S3TimeBudget.for_timeout(timeout_seconds)

    # THEN one call, every attempt and backoff included, fits in half the timeout, with usable timeouts
    assert budget.worst_case_seconds <= timeout_seconds / 2 + 1e-9
    assert budget.max_attempts >= 2
    assert 0.4 <= budget.connect_timeout <= 2
    assert 1 <= budget.read_timeout <= 10


# --- the Lambda entry point ---------------------------------------------------------------------------


@pytest.fixture
def fresh_default_service() -> Iterator[None]:
    """The entry point builds its service once per container; each test starts from a new container."""
    handler.default_service.cache_clear()
    yield
    handler.default_service.cache_clear()


def test_the_entry_point_builds_its_service_on_first_use_and_processes_an_upload(
    s3: Any, monkeypatch: pytest.MonkeyPatch, fresh_default_service: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the function's environment and an uploaded image
    for name, value in function_environ().items():
        monkeypatch.setenv(name, value)
    put = s3.put_object(Bucket=ORIGINALS_BUCKET, Key="cat.jpg", Body=image_bytes("JPEG", width=300, height=200))
    body = object_created_body(key="cat.jpg", etag=put["ETag"].strip('"'), shape="moto")

    # WHEN Lambda invokes the handler with the SQS batch
    response = lambda_handler(sqs_event(sqs_record(body, message_id="m-1")), lambda_context())

    # THEN the upload is done and nothing is reported as failed
    assert response == {"batchItemFailures": []}
    manifest = json.loads(s3.get_object(Bucket=THUMBNAILS_BUCKET, Key="cat.jpg/manifest.json")["Body"].read())
    assert manifest["status"] == "complete"
    assert handler.default_service.cache_info().currsize == 1
    # ... and the invocation's metrics were flushed as EMF on stdout
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert any(entry.get("ImagesCompleted") == [1.0] or entry.get("ImagesCompleted") == 1.0 for entry in emf)


def test_the_entry_points_s3_client_is_sized_by_the_configured_timeout(
    monkeypatch: pytest.MonkeyPatch, fresh_default_service: None
) -> None:
    # GIVEN a function deployed with a 10 s timeout
    for name, value in function_environ(timeout_seconds=10).items():
        monkeypatch.setenv(name, value)
    configs: list[Any] = []
    real_client = boto3.client

    def capture(*args: Any, **kwargs: Any) -> Any:
        configs.append(kwargs.get("config"))
        return real_client(*args, **kwargs)

    monkeypatch.setattr(boto3, "client", capture)

    # WHEN the entry point builds its service
    handler.default_service()

    # THEN its S3 client gives up on one call within 5 s, leaving time to report the record as failed
    (config,) = configs
    attempts = config.retries["total_max_attempts"]
    worst = attempts * (config.connect_timeout + config.read_timeout) + sum(2**i for i in range(attempts - 1))
    assert worst <= 5


def test_a_configuration_error_sends_every_record_back_without_raising(
    monkeypatch: pytest.MonkeyPatch, fresh_default_service: None
) -> None:
    # GIVEN a deployment without the thumbnails bucket variable
    for name, value in function_environ().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("THUMBNAILS_BUCKET")
    event = sqs_event(sqs_record("x", message_id="m-1"), sqs_record("y", message_id="m-2"))

    # WHEN invoked
    response = lambda_handler(event, lambda_context())

    # THEN nothing is lost: both records wait in the queue (then the DLQ) until the configuration is fixed
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-1"}, {"itemIdentifier": "m-2"}]}
    assert handler.default_service.cache_info().currsize == 0


def test_importing_the_handler_creates_no_client_and_reads_no_configuration() -> None:
    # GIVEN a fresh interpreter where creating any boto3 client fails, and no function environment
    script = (
        "import boto3\n"
        "def refuse(*args, **kwargs):\n"
        "    raise AssertionError('a client was created at import')\n"
        "boto3.client = refuse\n"
        "boto3.session.Session.client = refuse\n"
        "import thumbnailer.handler\n"
        "print('imported')\n"
    )
    functions_dir = str(Path(handler.__file__).resolve().parents[1])
    environ = {"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1", "PYTHONPATH": functions_dir}

    # WHEN the handler module is imported
    result = subprocess.run([sys.executable, "-c", script], env=environ, capture_output=True, text=True, check=False)

    # THEN it imports cleanly
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "imported"
