"""Rule -> queue (+DLQs): SSE-SQS, TLS-only, the 6x visibility rule, redrive, retries and the exact event pattern."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Capture, Match

from stacks.constructs.ingestion import object_key_filter

from .conftest import Synthesized

FOUR_DAYS = 4 * 24 * 3600
FOURTEEN_DAYS = 14 * 24 * 3600


def queue_ids(stack: Synthesized) -> tuple[str, ...]:
    """(ingest queue, its DLQ, the rule target's DLQ, backfill queue, its DLQ), found through the stack outputs."""
    return (
        stack.output_target("IngestQueueUrl"),
        stack.output_target("IngestDeadLetterQueueUrl"),
        stack.output_target("EventsDeadLetterQueueUrl"),
        stack.output_target("BackfillQueueUrl"),
        stack.output_target("BackfillDeadLetterQueueUrl"),
    )


def rule(stack: Synthesized) -> tuple[str, Any]:
    return stack.only("AWS::Events::Rule")


@pytest.mark.parametrize("stack_fixture", ["default_stack", "overridden_stack"])
def test_queue_visibility_is_six_times_the_function_timeout(stack_fixture: str, request: pytest.FixtureRequest) -> None:
    # GIVEN a synthesized stack (default timeout 60 s, overridden 120 s)
    stack: Synthesized = request.getfixturevalue(stack_fixture)
    timeout = Capture()
    stack.template.has_resource_properties("AWS::Lambda::Function", {"Timeout": timeout})

    # THEN the ingest queue hides a message for 6x the function timeout
    ingest, *_ = queue_ids(stack)
    assert stack.properties(ingest)["VisibilityTimeout"] == 6 * timeout.as_number()


def test_every_queue_uses_sse_sqs_not_kms(default_stack: Synthesized) -> None:
    # EventBridge cannot deliver to a queue encrypted with the AWS-managed KMS key.
    default_stack.template.resource_count_is("AWS::SQS::Queue", 5)
    for queue in queue_ids(default_stack):
        properties = default_stack.properties(queue)
        assert properties["SqsManagedSseEnabled"] is True
        assert "KmsMasterKeyId" not in properties


def test_every_queue_refuses_requests_without_tls(default_stack: Synthesized) -> None:
    for queue in queue_ids(default_stack):
        default_stack.template.has_resource_properties(
            "AWS::SQS::QueuePolicy",
            {
                "Queues": [{"Ref": queue}],
                "PolicyDocument": {
                    "Statement": Match.array_with(
                        [
                            Match.object_like(
                                {
                                    "Effect": "Deny",
                                    "Action": "sqs:*",
                                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                                }
                            )
                        ]
                    )
                },
            },
        )


def test_ingest_queue_keeps_four_days_and_redrives_after_five_receives(default_stack: Synthesized) -> None:
    ingest, dead_letters, *_ = queue_ids(default_stack)

    assert default_stack.properties(ingest)["MessageRetentionPeriod"] == FOUR_DAYS
    assert default_stack.properties(ingest)["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dead_letters, "Arn"]},
        "maxReceiveCount": 5,
    }


def test_dead_letter_queues_keep_messages_fourteen_days(default_stack: Synthesized) -> None:
    _, dead_letters, event_dead_letters, *_ = queue_ids(default_stack)

    for queue in (dead_letters, event_dead_letters):
        assert default_stack.properties(queue)["MessageRetentionPeriod"] == FOURTEEN_DAYS


def test_rule_matches_created_and_deleted_objects_in_originals_with_case_insensitive_suffixes(
    default_stack: Synthesized,
) -> None:
    _, resource = rule(default_stack)
    originals = default_stack.output_target("OriginalsBucketName")

    # Deletions too, through the same bucket and key filter: a deleted original's thumbnails are removed.
    assert resource["Properties"]["EventPattern"] == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created", "Object Deleted"],
        "detail": {
            "bucket": {"name": [{"Ref": originals}]},
            "object": {
                "key": [
                    {"suffix": {"equals-ignore-case": suffix}}
                    for suffix in (".jpg", ".jpeg", ".png", ".webp", ".gif", ".avif", ".heic", ".heif")
                ]
            },
        },
    }


def test_rule_filters_on_the_prefix_when_one_is_configured(overridden_stack: Synthesized) -> None:
    # GIVEN keyPrefix "uploads/" (and the default suffixes)
    _, resource = rule(overridden_stack)

    # THEN the rule filters on the prefix only; the function re-checks the suffixes
    assert resource["Properties"]["EventPattern"]["detail"]["object"] == {"key": [{"prefix": "uploads/"}]}


@pytest.mark.parametrize(
    ("prefix", "suffixes", "expected"),
    [
        ("", (), None),
        ("in/", (), [{"prefix": "in/"}]),
        ("in/", (".png",), [{"prefix": "in/"}]),
        (
            "",
            (".png", ".JPG"),
            [{"suffix": {"equals-ignore-case": ".png"}}, {"suffix": {"equals-ignore-case": ".JPG"}}],
        ),
    ],
)
def test_key_filter_uses_the_prefix_else_the_suffixes_else_nothing(
    prefix: str, suffixes: tuple[str, ...], expected: list[dict[str, Any]] | None
) -> None:
    assert object_key_filter(key_prefix=prefix, key_suffixes=suffixes) == expected


def test_rule_targets_the_ingest_queue_with_its_own_dlq_and_maximum_retries(default_stack: Synthesized) -> None:
    ingest, _, event_dead_letters, *_ = queue_ids(default_stack)
    _, resource = rule(default_stack)

    targets = resource["Properties"]["Targets"]
    assert len(targets) == 1
    assert {key: value for key, value in targets[0].items() if key != "Id"} == {
        "Arn": {"Fn::GetAtt": [ingest, "Arn"]},
        "DeadLetterConfig": {"Arn": {"Fn::GetAtt": [event_dead_letters, "Arn"]}},
        "RetryPolicy": {"MaximumEventAgeInSeconds": 24 * 3600, "MaximumRetryAttempts": 185},
    }


@pytest.mark.parametrize("queue_output", ["IngestQueueUrl", "EventsDeadLetterQueueUrl"])
def test_eventbridge_may_send_to_the_queue_only_for_this_rule(queue_output: str, default_stack: Synthesized) -> None:
    # GIVEN the queue EventBridge delivers to, or the one it dead-letters to
    queue = default_stack.output_target(queue_output)
    rule_id, _ = rule(default_stack)

    # THEN the queue policy lets events.amazonaws.com send, and only on behalf of this rule
    [policy] = [
        value["Properties"]["PolicyDocument"]
        for value in default_stack.resources.values()
        if value["Type"] == "AWS::SQS::QueuePolicy" and value["Properties"]["Queues"] == [{"Ref": queue}]
    ]
    [grant] = [
        statement
        for statement in policy["Statement"]
        if statement["Effect"] == "Allow" and statement["Principal"] == {"Service": "events.amazonaws.com"}
    ]
    actions = grant["Action"] if isinstance(grant["Action"], list) else [grant["Action"]]
    assert "sqs:SendMessage" in actions
    assert grant["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]}}}
