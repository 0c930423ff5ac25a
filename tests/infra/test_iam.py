"""The function role: exactly the permissions the function needs, no wildcards, no way to write an original."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from .conftest import Synthesized

# Decided with the function's author: ListBucket on both buckets turns "missing key" into a 404 (not 403),
# GetObject on thumbnails reads the existing manifest, DeleteObject on thumbnails (and only there) removes
# the thumbnails of a deleted original. Nothing else on S3.
EXPECTED_S3 = {
    ("originals", "objects"): {"s3:GetObject", "s3:GetObjectVersion"},
    ("originals", "bucket"): {"s3:ListBucket"},
    ("thumbnails", "objects"): {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"},
    ("thumbnails", "bucket"): {"s3:ListBucket"},
}
EXPECTED_OTHER_ACTIONS = {
    # its own log group
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    # the SQS event source polling the ingest queue
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ReceiveMessage",
    # announcing each written manifest on the pipeline's bus (the CDN's CreateInvalidation only with `cdn`)
    "events:PutEvents",
}
WRITE_VERBS = ("Put", "Delete", "Copy", "Restore", "Replicate", "Create", "Abort", "Bypass")


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def function_role(stack: Synthesized) -> str:
    _, function = stack.only("AWS::Lambda::Function")
    return function["Properties"]["Role"]["Fn::GetAtt"][0]


def role_statements(stack: Synthesized, role_id: str) -> Iterator[Mapping[str, Any]]:
    """Every statement of every policy attached to the role: inline, separate and managed."""
    role = stack.properties(role_id)
    for policy in role.get("Policies", []):
        yield from policy["PolicyDocument"]["Statement"]
    for resource in stack.resources.values():
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") and {"Ref": role_id} in resource[
            "Properties"
        ].get("Roles", []):
            yield from resource["Properties"]["PolicyDocument"]["Statement"]


def s3_target(resource: Any, buckets: Mapping[str, str]) -> tuple[str, str] | None:
    """(bucket name, "bucket" | "objects") when a policy resource is one of our buckets or its objects."""
    for name, logical_id in buckets.items():
        arn = {"Fn::GetAtt": [logical_id, "Arn"]}
        if resource == arn:
            return name, "bucket"
        if resource == {"Fn::Join": ["", [arn, "/*"]]}:
            return name, "objects"
    return None


@pytest.fixture(scope="module")
def statements(default_stack: Synthesized) -> list[Mapping[str, Any]]:
    found = list(role_statements(default_stack, function_role(default_stack)))
    assert found, "the function role has no policy statements at all"
    return found


def test_role_is_assumable_by_lambda_only_and_has_no_managed_policies(default_stack: Synthesized) -> None:
    role = default_stack.properties(function_role(default_stack))

    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}
    ]
    assert "ManagedPolicyArns" not in role  # e.g. AWSLambdaBasicExecutionRole: logs:* on every log group


def test_no_statement_uses_a_wildcard_action_or_resource_or_denies(statements: list[Mapping[str, Any]]) -> None:
    for statement in statements:
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            assert "*" not in action, f"wildcard action {action!r} in {statement}"
        assert "*" not in as_list(statement["Resource"]), f"Resource '*' in {statement}"
        assert "NotAction" not in statement
        assert "NotResource" not in statement


def test_s3_permissions_are_exactly_the_agreed_set(
    statements: list[Mapping[str, Any]], default_stack: Synthesized
) -> None:
    # GIVEN our two buckets, found through the stack outputs
    buckets = {
        "originals": default_stack.output_target("OriginalsBucketName"),
        "thumbnails": default_stack.output_target("ThumbnailsBucketName"),
    }

    # WHEN every S3 action is attributed to the bucket (or its objects) it applies to
    granted: dict[tuple[str, str], set[str]] = defaultdict(set)
    for statement in statements:
        s3_actions = [action for action in as_list(statement["Action"]) if action.startswith("s3:")]
        for resource in as_list(statement["Resource"]):
            target = s3_target(resource, buckets)
            if s3_actions:
                assert target is not None, f"S3 actions {s3_actions} on a resource that is not ours: {resource}"
                granted[target].update(s3_actions)

    # THEN it is exactly the agreed set: nothing missing, nothing extra
    assert dict(granted) == EXPECTED_S3


def test_the_function_cannot_write_the_originals_bucket(
    statements: list[Mapping[str, Any]], default_stack: Synthesized
) -> None:
    originals = default_stack.output_target("OriginalsBucketName")

    for statement in statements:
        if not any(originals in repr(resource) for resource in as_list(statement["Resource"])):
            continue
        for action in as_list(statement["Action"]):
            service, _, verb = action.partition(":")
            assert service == "s3"
            assert not verb.startswith(WRITE_VERBS), f"{action} on the originals bucket"
            assert verb.startswith(("Get", "List")), f"{action} on the originals bucket is not a read"


def test_the_only_deletion_allowed_is_of_thumbnails(
    statements: list[Mapping[str, Any]], default_stack: Synthesized
) -> None:
    # GIVEN the thumbnails bucket
    thumbnails = default_stack.output_target("ThumbnailsBucketName")

    # WHEN collecting every delete-like S3 action with the resources it applies to
    deletes = [
        (action, resource)
        for statement in statements
        for action in as_list(statement["Action"])
        if action.startswith("s3:Delete")
        for resource in as_list(statement["Resource"])
    ]

    # THEN the one deletion is of thumbnail objects: never an original, a version or a bucket
    assert deletes == [("s3:DeleteObject", {"Fn::Join": ["", [{"Fn::GetAtt": [thumbnails, "Arn"]}, "/*"]]})]


def test_no_action_beyond_s3_logs_queue_polling_and_announcing(statements: list[Mapping[str, Any]]) -> None:
    actions = {action for statement in statements for action in as_list(statement["Action"])}
    expected_s3 = set().union(*EXPECTED_S3.values())

    assert actions == expected_s3 | EXPECTED_OTHER_ACTIONS


def test_logs_and_queue_actions_are_scoped_to_our_own_resources(
    statements: list[Mapping[str, Any]], default_stack: Synthesized
) -> None:
    log_group_id, _ = default_stack.function_log_group()
    # The function consumes two queues: the ingest queue and the backfill queue.
    consumed = [
        {"Fn::GetAtt": [default_stack.output_target(output), "Arn"]}
        for output in ("IngestQueueUrl", "BackfillQueueUrl")
    ]

    for statement in statements:
        services = {action.partition(":")[0] for action in as_list(statement["Action"])}
        if services == {"logs"}:
            assert as_list(statement["Resource"]) == [{"Fn::GetAtt": [log_group_id, "Arn"]}]
        if services == {"sqs"}:
            assert as_list(statement["Resource"])
            assert all(queue in consumed for queue in as_list(statement["Resource"]))
        assert len(services) == 1, f"one service per statement keeps review simple: {statement}"
