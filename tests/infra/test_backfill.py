"""The backfill construct: the Distributed Map state machine, its role, the backfill queue, its DLQ and the second
event source mapping; and the state machine's message template, evaluated, against the function's builder."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import boto3
import pytest
from moto import mock_aws

from stacks.cdk_json import thumbnails_defaults
from thumbnailer.backfill import backfill_message, parse_backfill

from .conftest import OVERRIDES, Synthesized, synthesize

STATE_MACHINE = "AWS::StepFunctions::StateMachine"
PLACEHOLDER_PARTITION = "aws"


def definition(stack: Synthesized, refs: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The state machine's ASL, its `Ref`s replaced by `refs` (or by the logical id itself)."""
    _, machine = stack.only(STATE_MACHINE)
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    substitutions = {"AWS::Partition": PLACEHOLDER_PARTITION, **(refs or {})}
    text = "".join(part if isinstance(part, str) else substitutions.get(part["Ref"], part["Ref"]) for part in parts)
    return json.loads(text)


def distributed_maps(asl: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {
        name: state
        for name, state in asl["States"].items()
        if state["Type"] == "Map"
        and state.get("ItemProcessor", {}).get("ProcessorConfig", {}).get("Mode") == "DISTRIBUTED"
    }


def role_statements(stack: Synthesized, role_id: str) -> list[Mapping[str, Any]]:
    return [
        statement
        for resource in stack.resources.values()
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in resource["Properties"]["Roles"]
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
    ]


def actions_of(statement: Mapping[str, Any]) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


# --- the state machine ----------------------------------------------------------------------------------------


def test_a_distributed_map_lists_the_originals_in_batches_of_express_children(default_stack: Synthesized) -> None:
    # GIVEN the default stack's state machine
    originals = default_stack.output_target("OriginalsBucketName")
    asl = definition(default_stack)
    defaults = thumbnails_defaults()

    # THEN it has one Distributed Map (no inventory bucket configured), reading ListObjectsV2 under the prefix
    (only,) = distributed_maps(asl).values()
    assert only["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}
    assert only["ItemReader"] == {
        "Resource": f"arn:{PLACEHOLDER_PARTITION}:states:::s3:listObjectsV2",
        "Parameters": {"Bucket": originals, "Prefix.$": "$.request.prefix"},
    }
    # AND it batches 100 items per child, with the configured concurrency and tolerated failure percentage
    assert only["ItemBatcher"] == {"MaxItemsPerBatch": 100}
    assert only["MaxConcurrency"] == defaults["backfillMapConcurrency"]
    assert only["ToleratedFailurePercentage"] == defaults["backfillToleratedFailurePercentage"]
    # AND each child sends with the SQS SDK integration, failing when SQS reports a failed entry
    child_states = json.dumps(only["ItemProcessor"])
    assert f"arn:{PLACEHOLDER_PARTITION}:states:::aws-sdk:sqs:sendMessageBatch" in child_states
    assert '"Variable": "$.Failed[0]", "IsPresent": true' in child_states


def test_overrides_reach_the_map_and_an_inventory_bucket_adds_a_manifest_reader(overridden_stack: Synthesized) -> None:
    maps = distributed_maps(definition(overridden_stack))
    assert len(maps) == 2
    for state in maps.values():
        assert state["MaxConcurrency"] == OVERRIDES["backfillMapConcurrency"]
        # 0 is ASL's default, which CDK leaves out
        assert state.get("ToleratedFailurePercentage", 0) == OVERRIDES["backfillToleratedFailurePercentage"]
    readers = {json.dumps(state["ItemReader"], sort_keys=True) for state in maps.values()}
    inventory = next(json.loads(reader) for reader in readers if "MANIFEST" in reader)
    assert inventory["ReaderConfig"] == {"InputType": "MANIFEST"}
    assert inventory["Parameters"] == {
        "Bucket": OVERRIDES["backfillInventoryBucket"],
        "Key.$": "$.inventory.manifestKey",
    }


@pytest.mark.parametrize("stack_fixture", ["default_stack", "overridden_stack"])
def test_execution_logging_is_on_at_level_all_into_a_log_group_with_retention(
    stack_fixture: str, request: pytest.FixtureRequest
) -> None:
    stack: Synthesized = request.getfixturevalue(stack_fixture)
    _, machine = stack.only(STATE_MACHINE)
    logging = machine["Properties"]["LoggingConfiguration"]
    assert logging["Level"] == "ALL"
    (destination,) = logging["Destinations"]
    log_group_id = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    expected_days = OVERRIDES["logRetentionDays"] if stack is request.getfixturevalue("overridden_stack") else 30
    assert stack.properties(log_group_id)["RetentionInDays"] == expected_days


def test_the_role_lists_the_originals_and_sends_to_the_backfill_queue_only(default_stack: Synthesized) -> None:
    # GIVEN the state machine's role and every statement attached to it
    _, machine = default_stack.only(STATE_MACHINE)
    role_id = machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    statements = role_statements(default_stack, role_id)
    originals = default_stack.output_target("OriginalsBucketName")
    backfill_queue = default_stack.output_target("BackfillQueueUrl")
    machine_id = default_stack.output_target("BackfillStateMachineArn")

    # THEN S3 is ListBucket on the originals bucket only (no object reads: the listing is all it needs),
    # SQS is SendMessage on the backfill queue only, Step Functions acts only on this state machine's executions
    by_service: dict[str, list[Mapping[str, Any]]] = {}
    for statement in statements:
        assert statement["Effect"] == "Allow"
        (service,) = {action.partition(":")[0] for action in actions_of(statement)}
        by_service.setdefault(service, []).append(statement)
    assert set(by_service) == {"s3", "sqs", "logs", "states"}
    assert [(actions_of(s), s["Resource"]) for s in by_service["s3"]] == [
        (["s3:ListBucket"], {"Fn::GetAtt": [originals, "Arn"]})
    ]
    assert [(actions_of(s), s["Resource"]) for s in by_service["sqs"]] == [
        (["sqs:SendMessage"], {"Fn::GetAtt": [backfill_queue, "Arn"]})
    ]
    for statement in by_service["states"]:
        assert machine_id in json.dumps(statement["Resource"])
    # AND its map runs can be redriven (Step Functions re-runs the failed child executions)
    assert any("states:RedriveExecution" in actions_of(statement) for statement in by_service["states"])
    # AND the only '*' is CloudWatch Logs' log-delivery API, which cannot be scoped
    log_delivery = {
        "logs:CreateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:DescribeLogGroups",
        "logs:DescribeResourcePolicies",
        "logs:GetLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:UpdateLogDelivery",
    }
    assert [(set(actions_of(s)), s["Resource"]) for s in by_service["logs"]] == [(log_delivery, "*")]


def test_an_inventory_bucket_adds_object_reads_on_that_bucket_only(overridden_stack: Synthesized) -> None:
    _, machine = overridden_stack.only(STATE_MACHINE)
    role_id = machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    s3_statements = [s for s in role_statements(overridden_stack, role_id) if actions_of(s)[0].startswith("s3:")]
    reads = [s for s in s3_statements if "s3:GetObject" in actions_of(s)]
    assert reads, "the manifest reader needs s3:GetObject"
    for statement in reads:
        assert OVERRIDES["backfillInventoryBucket"] in json.dumps(statement["Resource"])


# --- the queue and the second mapping -----------------------------------------------------------------------------


@pytest.mark.parametrize("stack_fixture", ["default_stack", "overridden_stack"])
def test_the_backfill_queue_is_sse_sqs_hides_six_timeouts_and_dead_letters_after_five(
    stack_fixture: str, request: pytest.FixtureRequest
) -> None:
    stack: Synthesized = request.getfixturevalue(stack_fixture)
    _, function = stack.only("AWS::Lambda::Function")
    queue = stack.properties(stack.output_target("BackfillQueueUrl"))
    dead_letters = stack.output_target("BackfillDeadLetterQueueUrl")

    assert queue["SqsManagedSseEnabled"] is True
    assert queue["VisibilityTimeout"] == 6 * function["Properties"]["Timeout"]
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dead_letters, "Arn"]},
        "maxReceiveCount": 5,
    }
    assert stack.properties(dead_letters)["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert queue["MessageRetentionPeriod"] < stack.properties(dead_letters)["MessageRetentionPeriod"]


@pytest.mark.parametrize(("stack_fixture", "concurrency"), [("default_stack", 2), ("overridden_stack", 3)])
def test_the_function_drains_the_backfill_queue_through_its_own_low_concurrency_mapping(
    stack_fixture: str, concurrency: int, request: pytest.FixtureRequest
) -> None:
    stack: Synthesized = request.getfixturevalue(stack_fixture)
    function_id, _ = stack.only("AWS::Lambda::Function")
    _, backfill = stack.mapping_of("BackfillQueueUrl")
    _, ingest = stack.mapping_of("IngestQueueUrl")

    assert backfill["Properties"]["FunctionName"] == ingest["Properties"]["FunctionName"] == {"Ref": function_id}
    assert backfill["Properties"]["ScalingConfig"] == {"MaximumConcurrency": concurrency}
    assert backfill["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert concurrency < ingest["Properties"]["ScalingConfig"]["MaximumConcurrency"]


def test_the_default_backfill_concurrency_comes_from_cdk_json() -> None:
    assert thumbnails_defaults()["backfillMaxConcurrency"] == 2


# --- the message template, evaluated --------------------------------------------------------------------------


def run(stepfunctions: Any, definition_json: Mapping[str, Any], payload: Mapping[str, Any], name: str) -> Any:
    arn = stepfunctions.create_state_machine(
        name=name, definition=json.dumps(definition_json), roleArn="arn:aws:iam::123456789012:role/backfill"
    )["stateMachineArn"]
    execution = stepfunctions.start_execution(stateMachineArn=arn, input=json.dumps(payload))["executionArn"]
    while (described := stepfunctions.describe_execution(executionArn=execution))["status"] == "RUNNING":
        time.sleep(0.05)
    assert described["status"] == "SUCCEEDED", described
    return json.loads(described["output"])


def test_the_state_machine_sends_exactly_the_message_the_function_builder_builds(default_stack: Synthesized) -> None:
    # GIVEN the synthesized definition, run by moto's Step Functions interpreter (which cannot run a Distributed
    # Map with an ItemBatcher): the request step and the map's ItemSelector as an inline Map over a listing, then
    # the Express child's states on the batch they make, sending to a real (moto) queue
    keys = ["photos/cat.jpg", 'odd "quoted"\\ kéy+100%.png', "a/b/c.webp"]
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sqs = boto3.client("sqs")
        queue_url = sqs.create_queue(QueueName="backfill")["QueueUrl"]
        refs = {
            default_stack.output_target("OriginalsBucketName"): "originals-bucket",
            default_stack.output_target("BackfillQueueUrl"): queue_url,
        }
        asl = definition(default_stack, refs)
        (map_name, distributed) = next(iter(distributed_maps(asl).items()))
        request = {**asl["States"]["Describe the request"], "Next": "Select"}
        selecting = {
            "StartAt": "Request",
            "States": {
                "Request": {**request, "Next": "Select"},
                "Select": {
                    "Type": "Map",
                    "ItemsPath": "$.listing",
                    "ItemSelector": distributed["ItemSelector"],
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "INLINE"},
                        "StartAt": "Keep",
                        "States": {"Keep": {"Type": "Pass", "End": True}},
                    },
                    "ResultPath": "$.Items",
                    "End": True,
                },
            },
        }
        child = {key: value for key, value in distributed["ItemProcessor"].items() if key != "ProcessorConfig"}
        listing = [{"Key": key, "Etag": '"0123"', "Size": 10, "StorageClass": "STANDARD"} for key in keys]
        stepfunctions = boto3.client("stepfunctions")

        # WHEN a listing is selected in mode "stale" and the batch goes through the child
        batch = run(stepfunctions, selecting, {"mode": "stale", "prefix": "", "listing": listing}, "select")
        run(stepfunctions, child, {"Items": batch["Items"]}, "child")
        received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]

    # THEN every listed key arrived once, as the very message the function's builder makes
    assert map_name
    bodies = sorted((json.loads(message["Body"]) for message in received), key=lambda body: body["key"])
    expected = sorted(
        (json.loads(backfill_message(bucket="originals-bucket", key=key, mode="stale")) for key in keys),
        key=lambda body: body["key"],
    )
    assert bodies == expected
    assert sorted(parse_backfill(message["Body"]).key for message in received) == sorted(keys)


def test_the_nag_acknowledgments_hold_when_the_cdk_cli_fixes_account_and_region(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    # GIVEN the environment `cdk synth` sets from the caller's profile (the region then appears literally in ARNs)
    monkeypatch.setenv("CDK_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("CDK_DEFAULT_ACCOUNT", "123456789012")
    # WHEN the stack with an inventory bucket is synthesized (cdk-nag runs; any unacknowledged finding raises)
    stack = synthesize(tmp_path, context={"thumbnailsOverrides": json.dumps({"backfillInventoryBucket": "inv"})})
    # THEN it synthesized, with the region fixed in the Distributed Map's execution ARNs
    assert "eu-west-1" in json.dumps(stack.resources)
    assert len(distributed_maps(definition(stack))) == 2
