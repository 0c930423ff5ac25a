"""The function, its layer, its log group and its SQS event source."""

from __future__ import annotations

from typing import Any

import pytest

from tests.builders import DEFAULT_PRESETS, function_settings
from thumbnailer.contract import Settings

from .conftest import OVERRIDES, Synthesized


def function(stack: Synthesized) -> tuple[str, Any]:
    return stack.only("AWS::Lambda::Function")


def test_function_runs_python_3_14_on_arm64_with_the_layer(default_stack: Synthesized) -> None:
    layer_id, _ = default_stack.only("AWS::Lambda::LayerVersion")

    default_stack.template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Runtime": "python3.14",
            "Architectures": ["arm64"],
            "Handler": "thumbnailer.handler.lambda_handler",
            "Layers": [{"Ref": layer_id}],
            "MemorySize": 1536,
            "Timeout": 60,
        },
    )


def test_layer_is_built_for_exactly_the_function_runtime_and_architecture(default_stack: Synthesized) -> None:
    default_stack.template.has_resource_properties(
        "AWS::Lambda::LayerVersion",
        {"CompatibleRuntimes": ["python3.14"], "CompatibleArchitectures": ["arm64"]},
    )


def test_function_has_no_reserved_concurrency(default_stack: Synthesized) -> None:
    # Scale-out is capped on the event source instead; reserved concurrency would throttle
    # messages back into the queue and take capacity from the rest of the account.
    _, resource = function(default_stack)
    assert "ReservedConcurrentExecutions" not in resource["Properties"]


@pytest.mark.parametrize(("stack_fixture", "days"), [("default_stack", 30), ("overridden_stack", 7)])
def test_function_logs_json_to_its_own_log_group_with_retention(
    stack_fixture: str, days: int, request: pytest.FixtureRequest
) -> None:
    stack: Synthesized = request.getfixturevalue(stack_fixture)
    log_group_id, log_group = stack.function_log_group()
    _, resource = function(stack)

    assert log_group["Properties"]["RetentionInDays"] == days
    assert resource["Properties"]["LoggingConfig"] == {"LogFormat": "JSON", "LogGroup": {"Ref": log_group_id}}


def test_environment_follows_the_function_contract(default_stack: Synthesized) -> None:
    # GIVEN the synthesized function's environment
    _, resource = function(default_stack)
    environment = resource["Properties"]["Environment"]["Variables"]

    # THEN it is what the contract writes for cdk.json's settings, the buckets referenced by the stack
    expected = function_settings(originals_bucket="ORIGINALS", thumbnails_bucket="THUMBNAILS").to_environment()
    expected |= {
        "ORIGINALS_BUCKET": {"Ref": default_stack.output_target("OriginalsBucketName")},
        "THUMBNAILS_BUCKET": {"Ref": default_stack.output_target("ThumbnailsBucketName")},
        "EVENT_BUS_NAME": {"Ref": default_stack.output_target("EventBusName")},
    }
    assert environment == expected


@pytest.mark.parametrize("stack_fixture", ["default_stack", "overridden_stack"])
def test_the_function_accepts_the_environment_the_stack_gives_it(
    stack_fixture: str, request: pytest.FixtureRequest
) -> None:
    # GIVEN the synthesized environment, with the bucket references as deployed names
    stack: Synthesized = request.getfixturevalue(stack_fixture)
    _, resource = function(stack)
    deployed_names = {
        stack.output_target("OriginalsBucketName"): "originals-bucket",
        stack.output_target("ThumbnailsBucketName"): "thumbnails-bucket",
        stack.output_target("EventBusName"): "ThumbnailPipelineDownstreamBus1234ABCD",
    }
    environment = {
        name: deployed_names[value["Ref"]] if isinstance(value, dict) else value
        for name, value in resource["Properties"]["Environment"]["Variables"].items()
    }

    # WHEN the function reads it
    settings = Settings.from_environment(environment)

    # THEN it gets the configured values back (one Preset class: the package has one import name)
    assert (settings.originals_bucket, settings.thumbnails_bucket) == ("originals-bucket", "thumbnails-bucket")
    assert (settings.event_bus_name, settings.distribution_id) == ("ThumbnailPipelineDownstreamBus1234ABCD", None)
    assert settings.config.presets == DEFAULT_PRESETS
    if stack_fixture == "overridden_stack":
        assert (settings.config.key_prefix, settings.config.cache_control) == (
            OVERRIDES["keyPrefix"],
            OVERRIDES["cacheControl"],
        )
        assert settings.timeout_seconds == OVERRIDES["timeoutSeconds"]
    else:
        assert (settings.config.key_prefix, settings.config.cache_control) == (
            "",
            "public, max-age=86400, s-maxage=31536000",
        )
        assert settings.timeout_seconds == 60


def test_event_source_reports_item_failures_with_configured_batch_and_concurrency(default_stack: Synthesized) -> None:
    function_id, _ = function(default_stack)
    _, mapping = default_stack.mapping_of("IngestQueueUrl")

    properties = {key: value for key, value in mapping["Properties"].items() if key != "Tags"}
    assert properties == {
        "EventSourceArn": {"Fn::GetAtt": [default_stack.output_target("IngestQueueUrl"), "Arn"]},
        "FunctionName": {"Ref": function_id},
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "BatchSize": 5,
        "ScalingConfig": {"MaximumConcurrency": 20},
    }


def test_overrides_reach_the_function_and_event_source(overridden_stack: Synthesized) -> None:
    # GIVEN thumbnailsOverrides with memory, timeout, batch size above 10 and concurrency
    # THEN the function and the mapping carry them, with the 1 s window a batch above 10 needs
    overridden_stack.template.has_resource_properties(
        "AWS::Lambda::Function", {"MemorySize": OVERRIDES["memoryMb"], "Timeout": OVERRIDES["timeoutSeconds"]}
    )
    overridden_stack.template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "BatchSize": OVERRIDES["batchSize"],
            "MaximumBatchingWindowInSeconds": 1,
            "ScalingConfig": {"MaximumConcurrency": OVERRIDES["maxConcurrency"]},
        },
    )


@pytest.mark.parametrize(("stack_fixture", "policy"), [("default_stack", "Retain"), ("overridden_stack", "Delete")])
def test_log_group_is_retained_unless_disposable(
    stack_fixture: str, policy: str, request: pytest.FixtureRequest
) -> None:
    stack: Synthesized = request.getfixturevalue(stack_fixture)
    _, log_group = stack.function_log_group()
    assert log_group["DeletionPolicy"] == policy
