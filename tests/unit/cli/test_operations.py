"""The operator CLI's logic that moto cannot exercise: following a map run, resuming a backfill, SQS's message-move
task (botocore's Stubber plays SQS), and the cost model the README quotes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from operations import backfilling, costs, redrive
from operations.aws import Deployment

STACK_OUTPUTS = {
    "BackfillStateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:backfill",
    "IngestDeadLetterQueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/ingest-dlq",
    "IngestQueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/ingest",
}
DLQ_ARN = "arn:aws:sqs:us-east-1:123456789012:ingest-dlq"
INGEST_ARN = "arn:aws:sqs:us-east-1:123456789012:ingest"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:backfill:one"


class StubbedDeployment(Deployment):
    """A Deployment whose clients are stubbed, one per service, created once."""

    def __init__(self, clients: dict[str, Any]) -> None:
        super().__init__(stack_name="ThumbnailPipeline", outputs=STACK_OUTPUTS, aws=boto3.Session())
        object.__setattr__(self, "_clients", clients)

    def client(self, service: str) -> Any:
        return self._clients[service]  # type: ignore[attr-defined]


@pytest.fixture
def stepfunctions() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("stepfunctions", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def sqs() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("sqs", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def map_run_answers(stubber: Stubber, status: str, counts: dict[str, int]) -> None:
    stubber.add_response("describe_execution", _execution(status), {"executionArn": EXECUTION})
    run = {"executionArn": EXECUTION, "mapRunArn": f"{EXECUTION}/run", "stateMachineArn": EXECUTION, "startDate": NOW}
    stubber.add_response("list_map_runs", {"mapRuns": [run]}, {"executionArn": EXECUTION})
    full = {key: 0 for key in ("pending", "running", "succeeded", "failed", "timedOut", "aborted", "total")}
    full |= {"resultsWritten": 0, **counts}
    stubber.add_response("describe_map_run", _map_run(full), {"mapRunArn": f"{EXECUTION}/run"})


NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _execution(status: str, document: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "executionArn": EXECUTION,
        "stateMachineArn": STACK_OUTPUTS["BackfillStateMachineArn"],
        "status": status,
        "startDate": NOW,
        "input": json.dumps(document or {}),
    }


def _map_run(counts: dict[str, int]) -> dict[str, Any]:
    return {
        "mapRunArn": f"{EXECUTION}/run",
        "executionArn": EXECUTION,
        "status": "RUNNING",
        "startDate": NOW,
        "maxConcurrency": 20,
        "toleratedFailurePercentage": 5,
        "toleratedFailureCount": 0,
        "itemCounts": counts,
        "executionCounts": counts,
    }


def test_follow_reports_each_observation_until_the_execution_ends(stepfunctions: tuple[Any, Stubber]) -> None:
    # GIVEN a map run observed running twice, then succeeded
    client, stubber = stepfunctions
    map_run_answers(stubber, "RUNNING", {"total": 300, "pending": 300})
    map_run_answers(stubber, "RUNNING", {"total": 300, "succeeded": 120, "running": 20, "pending": 160})
    map_run_answers(stubber, "SUCCEEDED", {"total": 300, "succeeded": 299, "failed": 1})
    seen: list[tuple[str, int, int, int]] = []
    sleeps: list[float] = []

    # WHEN it is followed
    final = backfilling.follow(
        StubbedDeployment({"stepfunctions": client}),
        EXECUTION,
        on_progress=lambda progress: seen.append(
            (progress.status, progress.succeeded, progress.failed, progress.pending)
        ),
        sleep=sleeps.append,
    )

    # THEN every observation was reported, with a pause between polls, and the last one is returned
    assert seen == [("RUNNING", 0, 0, 300), ("RUNNING", 120, 0, 160), ("SUCCEEDED", 299, 1, 0)]
    assert sleeps == [backfilling.POLL_SECONDS] * 2
    assert final.to_json()["items"] == {"total": 300, "succeeded": 299, "failed": 1, "pending": 0, "running": 0}


@pytest.mark.parametrize(
    ("latest_status", "expected_action"), [("RUNNING", "attached"), ("FAILED", "redriven"), ("SUCCEEDED", "started")]
)
def test_rerunning_a_backfill_resumes_it(
    stepfunctions: tuple[Any, Stubber], latest_status: str, expected_action: str
) -> None:
    # GIVEN an earlier execution with the same input, in some state
    client, stubber = stepfunctions
    document = backfilling.execution_input("photos/", backfilling.BackfillMode.MISSING, None)
    machine = STACK_OUTPUTS["BackfillStateMachineArn"]
    listed = {
        "executionArn": EXECUTION,
        "stateMachineArn": machine,
        "name": "one",
        "status": latest_status,
        "startDate": NOW,
    }
    stubber.add_response("list_executions", {"executions": [listed]}, {"stateMachineArn": machine, "maxResults": 20})
    stubber.add_response("describe_execution", _execution(latest_status, document), {"executionArn": EXECUTION})
    if latest_status == "FAILED":
        stubber.add_response("redrive_execution", {"redriveDate": NOW}, {"executionArn": EXECUTION})
    if latest_status == "SUCCEEDED":
        stubber.add_response(
            "start_execution",
            {"executionArn": f"{EXECUTION}-2", "startDate": NOW},
            {"stateMachineArn": machine, "input": json.dumps(document)},
        )

    # WHEN the same backfill is started again
    _, action = backfilling.start_or_resume(StubbedDeployment({"stepfunctions": client}), document)

    # THEN a running one is followed, a failed one redriven, a finished one followed by a new run
    assert action == expected_action


def test_the_ingest_dlq_is_redriven_with_sqs_move_task_when_sqs_offers_it(sqs: tuple[Any, Stubber]) -> None:
    # GIVEN an ingest DLQ with 3 messages and an SQS that runs move tasks
    client, stubber = sqs
    dlq, ingest = STACK_OUTPUTS["IngestDeadLetterQueueUrl"], STACK_OUTPUTS["IngestQueueUrl"]
    stubber.add_response(
        "get_queue_attributes",
        {"Attributes": {"ApproximateNumberOfMessages": "3"}},
        {"QueueUrl": dlq, "AttributeNames": ["ApproximateNumberOfMessages"]},
    )
    for url, arn in ((dlq, DLQ_ARN), (ingest, INGEST_ARN)):
        stubber.add_response(
            "get_queue_attributes", {"Attributes": {"QueueArn": arn}}, {"QueueUrl": url, "AttributeNames": ["QueueArn"]}
        )
    stubber.add_response(
        "start_message_move_task", {"TaskHandle": "task-1"}, {"SourceArn": DLQ_ARN, "DestinationArn": INGEST_ARN}
    )
    for status, moved in (("RUNNING", 1), ("COMPLETED", 3)):
        task = {"Status": status, "ApproximateNumberOfMessagesMoved": moved, "SourceArn": DLQ_ARN}
        stubber.add_response("list_message_move_tasks", {"Results": [task]}, {"SourceArn": DLQ_ARN, "MaxResults": 1})
    progress: list[int] = []

    # WHEN it is redriven
    result = redrive.redrive(
        StubbedDeployment({"sqs": client}), "ingest", on_moved=progress.append, sleep=lambda _: None
    )

    # THEN the move task did it, and its progress was reported as it went
    assert (result.method, result.found, result.moved, result.failed, result.task_handle) == (
        "move-task",
        3,
        3,
        0,
        "task-1",
    )
    assert progress == [1, 2]


def test_the_events_dlq_is_never_given_to_a_move_task() -> None:
    # GIVEN the routes
    # THEN the events DLQ (EventBridge's, not the DLQ of any queue) goes to the ingest queue by copying
    assert redrive.ROUTES["events"] == ("EventsDeadLetterQueueUrl", "IngestQueueUrl", False)
    assert redrive.ROUTES["ingest"][2]
    assert redrive.ROUTES["backfill"][2]


def test_orchestration_cost_per_million_batches_into_express_children() -> None:
    # GIVEN a million objects through the state machine, batch size 5 on the event source mapping
    estimate = costs.orchestration_cost(1_000_000, batch_size=5)
    # THEN the parent pays one transition per child of 100 items (10,000 children), not one per object
    assert estimate.state_transitions_usd == pytest.approx(10_005 * 25 / 1_000_000)
    assert estimate.total_usd < 0.5
    assert costs.standard_child_per_item_cost(1_000_000) >= 50
    # AND the local path has no Step Functions cost at all
    local = costs.orchestration_cost(1_000_000, batch_size=5, local=True)
    assert local.state_transitions_usd == local.express_requests_usd == 0
