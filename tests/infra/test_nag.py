"""cdk-nag (AwsSolutions) runs on every synth, the stack is clean, and a new finding fails synth."""

from __future__ import annotations

import json

import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs

from stacks.pipeline_stack import ThumbnailPipelineStack

from .conftest import Synthesized, synthesize


def test_the_pipeline_synthesizes_without_any_unacknowledged_finding(default_stack: Synthesized) -> None:
    # GIVEN the default synth (it would have raised on any error-level finding)
    report = json.loads((default_stack.outdir / "validation-report.json").read_text())

    # THEN the report holds no violation at all, warnings included
    violations = [violation for plugin in report["pluginReports"] for violation in plugin["violations"]]
    assert violations == []


def inject_violations(stack: ThumbnailPipelineStack) -> None:
    """Things a careless change could add, each next to an existing acknowledgment of the same rule."""
    # A queue without DLQ or TLS policy, inside the construct whose DLQs acknowledge SQS3.
    sqs.Queue(stack.ingestion, "InjectedQueue")
    # A bucket without access logs, beside the access-log bucket that acknowledges S1.
    s3.Bucket(
        stack.storage,
        "InjectedBucket",
        enforce_ssl=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        encryption=s3.BucketEncryption.S3_MANAGED,
    )
    # A wildcard on the role whose bucket-object wildcards are acknowledged.
    stack.thumbnailer.role.add_to_policy(iam.PolicyStatement(actions=["s3:*"], resources=["*"]))


def test_an_unacknowledged_finding_fails_synth(tmp_path) -> None:
    # GIVEN the pipeline plus violations placed next to the existing acknowledgments
    # WHEN it is synthesized
    with pytest.raises(RuntimeError, match="ValidationFailed") as raised:
        synthesize(tmp_path, customize=inject_violations)

    # THEN synth fails, naming each new finding and where it is: the acknowledgments are narrow
    message = str(raised.value)
    for finding in (
        "AwsSolutions-SQS3",
        "AwsSolutions-SQS4",
        "ThumbnailPipeline/Ingestion/InjectedQueue/Resource",
        "AwsSolutions-S1",
        "ThumbnailPipeline/Storage/InjectedBucket/Resource",
        "AwsSolutions-IAM5[Action::s3:*]",
        "AwsSolutions-IAM5[Resource::*]",
    ):
        assert finding in message
    # and nothing that is acknowledged shows up
    assert "ThumbnailPipeline/Storage/AccessLogs/Resource" not in message
    assert "ThumbnailPipeline/Ingestion/DeadLetterQueue/Resource" not in message
    assert "<StorageOriginals" not in message
