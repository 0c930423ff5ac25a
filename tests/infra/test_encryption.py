"""`encryption: "kms"`: one customer managed key for every bucket, queue, topic, log group and the function's
environment; its policy names each service with its conditions; the default template keeps the services' own keys.

moto neither evaluates key policies nor IAM, so what the key allows is asserted here, on the template; the moto
pipeline in kms mode (tests/e2e/test_encryption_e2e.py) shows the resources really use the key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from stacks.constants import STACK_NAME

from .conftest import OWN_ORIGINALS_BUCKET, Synthesized, synthesize

OWN_ORIGINALS_KEY = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ENCRYPTED_TYPES = ("AWS::SQS::Queue", "AWS::Logs::LogGroup", "AWS::SNS::Topic", "AWS::Lambda::Function")


@pytest.fixture(scope="module")
def kms_stack(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(
        tmp_path_factory.mktemp("kms-synth"), context={"thumbnailsOverrides": json.dumps({"encryption": "kms"})}
    )


@pytest.fixture(scope="module")
def kms_cdn_stack(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(
        tmp_path_factory.mktemp("kms-cdn-synth"),
        context={"thumbnailsOverrides": json.dumps({"encryption": "kms", "cdn": True})},
    )


def of_type(stack: Synthesized, resource_type: str) -> dict[str, Mapping[str, Any]]:
    return {key: value for key, value in stack.resources.items() if value["Type"] == resource_type}


def pipeline_key(stack: Synthesized) -> str:
    return stack.output_target("EncryptionKeyArn")


def key_arn(stack: Synthesized) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [pipeline_key(stack), "Arn"]}


def encryption_of(resource: Mapping[str, Any]) -> Any:
    """The key a resource is encrypted with, whatever its type calls the property."""
    properties = resource["Properties"]
    if resource["Type"] == "AWS::S3::Bucket":
        return properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    names = {"AWS::SQS::Queue": "KmsMasterKeyId", "AWS::SNS::Topic": "KmsMasterKeyId"}
    return properties.get(names.get(resource["Type"], "KmsKeyId" if "Logs" in resource["Type"] else "KmsKeyArn"))


def key_policy_by_principal(stack: Synthesized) -> dict[str, list[Mapping[str, Any]]]:
    policy = stack.properties(pipeline_key(stack))["KeyPolicy"]["Statement"]
    by_principal: dict[str, list[Mapping[str, Any]]] = {}
    for statement in policy:
        principal = statement["Principal"]
        name = json.dumps(principal.get("Service", principal.get("AWS")), sort_keys=True)
        by_principal.setdefault(name, []).append(statement)
    return by_principal


def role_statements(stack: Synthesized, role_output_prefix: str) -> list[Mapping[str, Any]]:
    """Every statement of the inline policies of the role whose logical id starts with the prefix."""
    return [
        statement
        for key, policy in of_type(stack, "AWS::IAM::Policy").items()
        if key.startswith(role_output_prefix)
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def region_service(service: str) -> dict[str, list[Any]]:
    return {"Fn::Join": ["", [f"{service}.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}


# --- the default: each service's own keys, nothing customer managed but the alarm topic's -------------------------


def test_the_default_uses_the_services_own_keys(default_stack: Synthesized) -> None:
    # THEN the only customer managed key is the alarm topic's, and it encrypts nothing else
    [(topic_key, _)] = of_type(default_stack, "AWS::KMS::Key").items()
    assert topic_key.startswith("MonitoringAlarmTopicKey")
    assert "EncryptionKeyArn" not in default_stack.outputs
    for resource in of_type(default_stack, "AWS::S3::Bucket").values():
        assert encryption_of(resource) == {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    for queue in of_type(default_stack, "AWS::SQS::Queue").values():
        assert "KmsMasterKeyId" not in queue["Properties"]
    for resource_type in ("AWS::Logs::LogGroup", "AWS::Lambda::Function"):
        for resource in of_type(default_stack, resource_type).values():
            assert encryption_of(resource) is None
    # AND the bucket policies deny only requests without TLS
    denied = [
        statement["Condition"]
        for policy in of_type(default_stack, "AWS::S3::BucketPolicy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Deny"
    ]
    assert denied
    assert all(condition == {"Bool": {"aws:SecureTransport": "false"}} for condition in denied)


# --- kms: one key for everything -----------------------------------------------------------------------------------


def test_one_rotating_retained_key_replaces_the_alarm_topic_key(kms_stack: Synthesized) -> None:
    # THEN there is exactly one key, rotated yearly, kept when the stack is deleted (it is what reads the images)
    [(key, resource)] = of_type(kms_stack, "AWS::KMS::Key").items()
    assert key == pipeline_key(kms_stack)
    assert resource["Properties"]["EnableKeyRotation"] is True
    assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_a_disposable_stack_schedules_the_key_for_deletion(tmp_path: Path) -> None:
    stack = synthesize(tmp_path, context={"thumbnailsOverrides": json.dumps({"encryption": "kms", "disposable": True})})

    resource = stack.resources[pipeline_key(stack)]
    assert resource["DeletionPolicy"] == "Delete"
    assert resource["Properties"]["PendingWindowInDays"] == 7


@pytest.mark.parametrize("resource_type", ENCRYPTED_TYPES)
def test_every_queue_log_group_topic_and_the_environment_use_the_key(
    kms_stack: Synthesized, resource_type: str
) -> None:
    resources = of_type(kms_stack, resource_type)

    assert resources
    assert {key: encryption_of(resource) for key, resource in resources.items()} == dict.fromkeys(
        resources, key_arn(kms_stack)
    )


def test_there_are_five_queues_and_two_log_groups_all_on_the_key(kms_stack: Synthesized) -> None:
    # (the parametrized test above would pass vacuously if a construct stopped creating its queues)
    assert len(of_type(kms_stack, "AWS::SQS::Queue")) == 5
    assert len(of_type(kms_stack, "AWS::Logs::LogGroup")) == 2
    for queue in of_type(kms_stack, "AWS::SQS::Queue").values():
        assert "SqsManagedSseEnabled" not in queue["Properties"]


def test_originals_and_thumbnails_use_the_key_with_a_bucket_key_and_access_logs_stay_sse_s3(
    kms_stack: Synthesized,
) -> None:
    encrypted = {kms_stack.output_target("OriginalsBucketName"), kms_stack.output_target("ThumbnailsBucketName")}
    for key, resource in of_type(kms_stack, "AWS::S3::Bucket").items():
        if key in encrypted:
            # THEN S3 asks KMS per bucket and period (bucket key), not per object
            assert encryption_of(resource) == {
                "BucketKeyEnabled": True,
                "ServerSideEncryptionByDefault": {"KMSMasterKeyID": key_arn(kms_stack), "SSEAlgorithm": "aws:kms"},
            }
        else:
            # AND server access logs can be delivered only into an SSE-S3 bucket
            assert encryption_of(resource) == {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    assert len(of_type(kms_stack, "AWS::S3::Bucket")) == 3


@pytest.mark.parametrize("bucket_output", ["OriginalsBucketName", "ThumbnailsBucketName"])
def test_uploads_asking_for_other_encryption_are_denied(kms_stack: Synthesized, bucket_output: str) -> None:
    bucket = kms_stack.output_target(bucket_output)
    [policy] = [
        policy["Properties"]["PolicyDocument"]["Statement"]
        for policy in of_type(kms_stack, "AWS::S3::BucketPolicy").values()
        if policy["Properties"]["Bucket"] == {"Ref": bucket}
    ]
    denies = {statement.get("Sid"): statement for statement in policy if statement["Effect"] == "Deny"}
    objects = {"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, "/*"]]}

    # THEN SSE-S3 (or any algorithm but aws:kms), another key and SSE-C are refused for every principal
    expected = {
        "DenyOtherEncryption": {"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}},
        "DenyOtherKmsKeys": {
            "StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption-aws-kms-key-id": key_arn(kms_stack)}
        },
        "DenyCustomerProvidedKeys": {"Null": {"s3:x-amz-server-side-encryption-customer-algorithm": "false"}},
    }
    for sid, condition in expected.items():
        statement = denies[sid]
        assert (statement["Principal"], statement["Action"], statement["Resource"]) == (
            {"AWS": "*"},
            "s3:PutObject",
            objects,
        )
        assert statement["Condition"] == condition
    # AND nothing else is denied but requests without TLS: an upload without encryption headers is allowed, and
    # gets the bucket default, the key
    assert set(denies) == {*expected, None}
    assert denies[None]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


# --- the key policy --------------------------------------------------------------------------------------------------


def test_the_key_policy_names_exactly_the_services_that_use_it(kms_stack: Synthesized) -> None:
    principals = key_policy_by_principal(kms_stack)

    account_root = json.dumps(
        {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "AWS::AccountId"}, ":root"]]},
        sort_keys=True,
    )
    logs = json.dumps(region_service("logs"), sort_keys=True)
    assert sorted(principals) == sorted(
        [account_root, logs, json.dumps("events.amazonaws.com"), json.dumps("cloudwatch.amazonaws.com")]
    )
    # THEN the account's IAM decides for its own roles (the function's and the state machine's statements below)
    [root] = principals[account_root]
    assert root["Action"] == "kms:*"


def test_cloudwatch_logs_may_use_it_only_for_this_stacks_log_groups(kms_stack: Synthesized) -> None:
    [statement] = key_policy_by_principal(kms_stack)[json.dumps(region_service("logs"), sort_keys=True)]

    assert sorted(statement["Action"]) == [
        "kms:Decrypt*",
        "kms:Describe*",
        "kms:Encrypt*",
        "kms:GenerateDataKey*",
        "kms:ReEncrypt*",
    ]
    pattern = statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert pattern["Fn::Join"][1][-1] == f":log-group:{STACK_NAME}-*"
    # AND that pattern matches the log groups because CloudFormation names them "<stack>-<logical id>-<suffix>":
    # none is given a name of its own
    for log_group in of_type(kms_stack, "AWS::Logs::LogGroup").values():
        assert "LogGroupName" not in log_group["Properties"]


def test_the_log_group_condition_follows_the_stack_name(tmp_path: Path) -> None:
    stack = synthesize(
        tmp_path,
        context={"stackName": "ThumbnailsStaging", "thumbnailsOverrides": json.dumps({"encryption": "kms"})},
    )
    [statement] = key_policy_by_principal(stack)[json.dumps(region_service("logs"), sort_keys=True)]

    assert statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]["Fn::Join"][1][-1] == (
        ":log-group:ThumbnailsStaging-*"
    )


def test_eventbridge_may_deliver_into_the_queues_for_this_account_only(kms_stack: Synthesized) -> None:
    [statement] = key_policy_by_principal(kms_stack)[json.dumps("events.amazonaws.com")]

    assert {"kms:GenerateDataKey*", "kms:Decrypt"} <= set(statement["Action"])
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_cloudwatch_alarms_may_publish_to_the_encrypted_topic(kms_stack: Synthesized) -> None:
    [statement] = key_policy_by_principal(kms_stack)[json.dumps("cloudwatch.amazonaws.com")]

    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]


def test_with_the_cdn_cloudfront_may_decrypt_for_this_accounts_distributions(kms_cdn_stack: Synthesized) -> None:
    [statement] = key_policy_by_principal(kms_cdn_stack)[json.dumps("cloudfront.amazonaws.com")]

    assert statement["Action"] == "kms:Decrypt"
    source = statement["Condition"]["ArnLike"]["AWS:SourceArn"]["Fn::Join"][1]
    assert source[-2:] == [{"Ref": "AWS::AccountId"}, ":distribution/*"]


# --- the roles -------------------------------------------------------------------------------------------------------


def test_the_function_uses_the_key_only_through_s3_sqs_and_lambda(kms_stack: Synthesized) -> None:
    statements = [
        statement
        for statement in role_statements(kms_stack, "ThumbnailerRole")
        if "kms:GenerateDataKey" in statement["Action"]
    ]

    assert statements == [
        {
            "Sid": "UseThePipelineKeyThroughS3SqsAndLambda",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": key_arn(kms_stack),
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": [region_service("s3"), region_service("sqs"), region_service("lambda")]
                }
            },
        }
    ]


def test_the_state_machine_encrypts_backfill_messages_through_sqs_only(kms_stack: Synthesized) -> None:
    statements = [statement for statement in role_statements(kms_stack, "BackfillRole") if "kms" in str(statement)]

    assert statements == [
        {
            "Sid": "EncryptBackfillMessagesThroughSqs",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": key_arn(kms_stack),
            "Condition": {"StringEquals": {"kms:ViaService": [region_service("sqs")]}},
        }
    ]


def test_no_role_may_use_any_other_key(kms_stack: Synthesized) -> None:
    for policy in of_type(kms_stack, "AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if "kms:" in json.dumps(statement["Action"]):
                assert statement["Resource"] == key_arn(kms_stack)


# --- an own originals bucket with its own key ------------------------------------------------------------------------


def test_an_own_originals_key_lets_the_function_decrypt_with_it_through_s3_only(tmp_path: Path) -> None:
    overrides = {"originalsBucketName": OWN_ORIGINALS_BUCKET, "originalsKmsKeyArn": OWN_ORIGINALS_KEY}
    stack = synthesize(tmp_path, context={"thumbnailsOverrides": json.dumps(overrides)})

    granted = [
        statement
        for statement in role_statements(stack, "ThumbnailerRole")
        if OWN_ORIGINALS_KEY in json.dumps(statement)
    ]
    assert granted == [
        {
            "Sid": "DecryptOwnOriginals",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": OWN_ORIGINALS_KEY,
            "Condition": {"StringEquals": {"kms:ViaService": [region_service("s3")]}},
        }
    ]
    # AND no other role may use it
    others = [
        key for key in of_type(stack, "AWS::IAM::Policy") if OWN_ORIGINALS_KEY in json.dumps(stack.resources[key])
    ]
    assert len(others) == 1
    assert others[0].startswith("ThumbnailerRole")


def test_without_an_own_originals_key_the_function_has_no_kms_permission(default_stack: Synthesized) -> None:
    assert "kms:" not in json.dumps(role_statements(default_stack, "ThumbnailerRole"))
