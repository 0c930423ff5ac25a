"""Bring your own originals bucket: the stack names it, reads it, listens to it, and can change nothing about it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .conftest import ALL_OPTIONS, OWN_ORIGINALS_BUCKET, Synthesized, synthesize
from .test_iam import as_list, function_role, role_statements

OWN_BUCKET_ARN = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":s3:::{OWN_ORIGINALS_BUCKET}"]]}
OWN_OBJECTS_ARN = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":s3:::{OWN_ORIGINALS_BUCKET}/*"]]}


def test_no_originals_bucket_is_created(all_options_stack: Synthesized) -> None:
    # GIVEN a stack configured with an existing originals bucket (and the CDN, whose log bucket is the third)
    buckets = {key for key, value in all_options_stack.resources.items() if value["Type"] == "AWS::S3::Bucket"}

    # THEN the buckets it creates are the thumbnails, the access logs and the CDN logs, and it exports the given name
    thumbnails = all_options_stack.output_target("ThumbnailsBucketName")
    assert len(buckets) == 3
    assert thumbnails in buckets
    assert all_options_stack.outputs["OriginalsBucketName"]["Value"] == OWN_ORIGINALS_BUCKET
    for bucket in buckets:
        assert "BucketName" not in all_options_stack.properties(bucket)


def test_nothing_in_the_stack_can_change_or_delete_the_bucket(all_options_stack: Synthesized) -> None:
    # GIVEN the whole template as text
    template = json.dumps(all_options_stack.resources)

    # THEN no bucket policy is attached to it, no custom resource exists (no notification Lambda), and no
    # Lambda function other than the thumbnailer exists to run one
    policies = [value for value in all_options_stack.resources.values() if value["Type"] == "AWS::S3::BucketPolicy"]
    assert all(OWN_ORIGINALS_BUCKET not in json.dumps(policy["Properties"]["Bucket"]) for policy in policies)
    assert not [value for value in all_options_stack.resources.values() if value["Type"].startswith("Custom::")]
    all_options_stack.template.resource_count_is("AWS::Lambda::Function", 1)
    assert "PutBucketNotification" not in template


def test_the_rule_listens_to_the_named_bucket(all_options_stack: Synthesized) -> None:
    _, rule = all_options_stack.only("AWS::Events::Rule")

    assert rule["Properties"]["EventPattern"]["detail"]["bucket"] == {"name": [OWN_ORIGINALS_BUCKET]}
    assert rule["Properties"]["EventPattern"]["source"] == ["aws.s3"]


def test_the_function_reads_the_named_bucket_and_may_not_write_it(all_options_stack: Synthesized) -> None:
    # GIVEN every statement of the function's role that names the bucket
    naming: list[Any] = [
        statement
        for statement in role_statements(all_options_stack, function_role(all_options_stack))
        if any(resource in (OWN_BUCKET_ARN, OWN_OBJECTS_ARN) for resource in as_list(statement["Resource"]))
    ]

    # THEN it may read objects and versions, and list the bucket (a 404 for a gone key), nothing else
    granted = {
        (action, json.dumps(resource, sort_keys=True))
        for statement in naming
        for action in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
        if resource in (OWN_BUCKET_ARN, OWN_OBJECTS_ARN)
    }
    objects, bucket = json.dumps(OWN_OBJECTS_ARN, sort_keys=True), json.dumps(OWN_BUCKET_ARN, sort_keys=True)
    assert granted == {("s3:GetObject", objects), ("s3:GetObjectVersion", objects), ("s3:ListBucket", bucket)}


def test_the_function_is_told_the_named_bucket(all_options_stack: Synthesized) -> None:
    _, function = all_options_stack.only("AWS::Lambda::Function")

    assert function["Properties"]["Environment"]["Variables"]["ORIGINALS_BUCKET"] == OWN_ORIGINALS_BUCKET


def test_the_stack_synthesizes_clean_for_a_known_region_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the account and region the CDK CLI supplies (ARNs then carry a literal partition, not a Ref)
    monkeypatch.setenv("CDK_DEFAULT_ACCOUNT", "123456789012")
    monkeypatch.setenv("CDK_DEFAULT_REGION", "eu-west-1")

    # WHEN the own-bucket stack is synthesized (cdk-nag raises on an unacknowledged finding)
    stack = synthesize(tmp_path, context={"thumbnailsOverrides": json.dumps(ALL_OPTIONS)})

    # THEN the bucket's object wildcard is acknowledged in that spelling as well
    policy = json.dumps(stack.resources)
    assert f"arn:aws:s3:::{OWN_ORIGINALS_BUCKET}/*" in policy
