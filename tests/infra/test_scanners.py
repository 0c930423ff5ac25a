"""The three scanners CI runs over every template: cdk-nag's AwsSolutions and Serverless packs (inside synth) and
checkov (with .checkov.yaml). The stack passes all three; a planted finding is reported by each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs

from stacks.constants import STACK_NAME
from stacks.pipeline_stack import ThumbnailPipelineStack

from .checkov_scan import CUSTOMER_MANAGED_KEY_CHECKS, SKIP_FILE, checkov
from .conftest import Synthesized, synthesize


def plant_findings(stack: ThumbnailPipelineStack) -> None:
    """What a careless change could add: a queue with no encryption and no DLQ, a bucket with no protection at all."""
    sqs.Queue(stack, "PlantedQueue", encryption=sqs.QueueEncryption.UNENCRYPTED)
    s3.CfnBucket(stack, "PlantedBucket")


def nag_findings(outdir: Path) -> dict[str, list[tuple[str, str]]]:
    report = json.loads((outdir / "validation-report.json").read_text())
    return {
        plugin["pluginName"]: [
            (violation["ruleName"], construct["constructPath"])
            for violation in plugin["violations"]
            for construct in violation["violatingConstructs"]
        ]
        for plugin in report["pluginReports"]
    }


def test_checkov_passes_the_default_template(default_stack: Synthesized) -> None:
    # GIVEN the default synth (cdk-nag's two packs already passed inside it)
    # WHEN checkov scans it with the repository's skip file
    report = checkov(default_stack.outdir / f"{STACK_NAME}.template.json")

    # THEN it ran checks and failed none
    assert report.passed > 50
    assert report.failed == []


def test_every_skipped_checkov_check_has_a_reason() -> None:
    # GIVEN the one skip file: each `- CKV_...` line follows a comment saying why
    lines = SKIP_FILE.read_text().splitlines()
    skips = [index for index, line in enumerate(lines) if line.strip().startswith("- CKV_")]

    # THEN there are skips, and none is without its reason just above it
    assert skips
    assert all(lines[index - 1].strip().startswith("#") for index in skips)


def test_a_planted_finding_is_reported_by_each_scanner(tmp_path: Path) -> None:
    # GIVEN the pipeline plus an unencrypted queue without DLQ and a bare bucket
    # WHEN it is synthesized, synth fails on cdk-nag's findings (the template is written before validation)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        synthesize(tmp_path, customize=plant_findings)
    assembly = next(path.parent for path in tmp_path.rglob("validation-report.json"))

    # THEN the AwsSolutions pack reports the planted resources, and only them
    findings = nag_findings(assembly)
    queue, bucket = f"{STACK_NAME}/PlantedQueue/Resource", f"{STACK_NAME}/PlantedBucket"
    assert set(findings["AwsSolutions"]) == {
        ("AwsSolutions-SQS2", queue),
        ("AwsSolutions-SQS3", queue),
        ("AwsSolutions-SQS4", queue),
        ("AwsSolutions-S1", bucket),
        ("AwsSolutions-S10", bucket),
    }
    # AND the Serverless pack reports the queue without a redrive policy
    assert findings["Serverless"] == [("Serverless-SQSRedrivePolicy", queue)]
    # AND checkov, skip file applied, reports the bucket open to public ACLs and policies
    report = checkov(assembly / f"{STACK_NAME}.template.json")
    assert sorted(report.failed) == [
        f"{check} AWS::S3::Bucket.PlantedBucket" for check in ("CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56")
    ]


def test_without_the_key_skips_checkov_fails_the_default_encryption(default_stack: Synthesized) -> None:
    # GIVEN the default (service-managed encryption), scanned as the `encryption: "kms"` templates are: without the
    # three customer-managed-key skips
    report = checkov(default_stack.outdir / f"{STACK_NAME}.template.json", unskip=CUSTOMER_MANAGED_KEY_CHECKS)

    # THEN exactly those checks fail: five queues, two log groups, the function's environment
    failed_checks = sorted(finding.split()[0] for finding in report.failed)
    assert failed_checks == ["CKV_AWS_158"] * 2 + ["CKV_AWS_173"] + ["CKV_AWS_27"] * 5
