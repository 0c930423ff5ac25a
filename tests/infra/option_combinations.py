"""Every combination of the optional parts, and the checks each must pass: cdk-nag's AwsSolutions and Serverless
packs (no finding, warnings included), cfn-lint and checkov (with .checkov.yaml, its one skip file; with
`encryption: "kms"` without the three customer-managed-key skips, which must then pass).

alarm email on/off x dashboard on/off x CDN on/off x own originals bucket or the stack's x service-managed or
customer managed encryption: 32 stacks (an own bucket in kms mode comes with its own key, `originalsKmsKeyArn`).
Each synth runs cdk-nag (it would raise on an error-level finding) and is then linted and scanned with the
settings CI uses. About 10 s a stack, so the 32 are split over four test files (CDN or not, kms or not), which
pytest-xdist's `--dist loadfile` can run on two workers at once.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

from cfnlint.api import ManualArgs, lint

from stacks.constants import STACK_NAME

from .checkov_scan import CUSTOMER_MANAGED_KEY_CHECKS, checkov
from .conftest import ALL_OPTIONS, synthesize
from .test_cfn_lint import CFN_LINT_SETTINGS

OPTIONS = {
    "alarmEmail": (ALL_OPTIONS["alarmEmail"], ""),
    "dashboard": (True, False),
    "cdn": (True, False),
    "originalsBucketName": (ALL_OPTIONS["originalsBucketName"], ""),
    "encryption": ("kms", "service"),
}
OWN_ORIGINALS_KEY = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _combination(values: tuple[Any, ...]) -> dict[str, Any]:
    overrides = dict(zip(OPTIONS, values, strict=True))
    if overrides["encryption"] == "kms" and overrides["originalsBucketName"]:
        overrides["originalsKmsKeyArn"] = OWN_ORIGINALS_KEY
    return overrides


COMBINATIONS = [_combination(values) for values in itertools.product(*OPTIONS.values())]


def combination_id(overrides: dict[str, Any]) -> str:
    return "-".join(
        [
            "email" if overrides["alarmEmail"] else "no-email",
            "dashboard" if overrides["dashboard"] else "no-dashboard",
            "cdn" if overrides["cdn"] else "no-cdn",
            "own-bucket" if overrides["originalsBucketName"] else "created-bucket",
            overrides["encryption"],
        ]
    )


def subset(*, cdn: bool, encryption: str) -> list[dict[str, Any]]:
    return [
        overrides for overrides in COMBINATIONS if overrides["cdn"] is cdn and overrides["encryption"] == encryption
    ]


def assert_passes_the_scanners(overrides: dict[str, Any], tmp_path: Path) -> None:
    # GIVEN one combination of the optional parts
    # WHEN it is synthesized (cdk-nag runs as part of the synth and raises on an error-level finding)
    stack = synthesize(tmp_path, context={"thumbnailsOverrides": json.dumps(overrides)})

    # THEN cdk-nag reported nothing at all, warnings included
    report = json.loads((stack.outdir / "validation-report.json").read_text())
    assert [violation for plugin in report["pluginReports"] for violation in plugin["violations"]] == []
    # AND cfn-lint finds nothing, with the settings `make synth-check` uses
    template = (stack.outdir / f"{STACK_NAME}.template.json").read_text()
    matches = lint(
        template,
        config=ManualArgs(regions=CFN_LINT_SETTINGS["regions"], ignore_checks=CFN_LINT_SETTINGS["ignore_checks"]),
    )
    assert [f"{match.rule.id} {match.message}" for match in matches] == []
    # AND checkov fails nothing that .checkov.yaml does not skip; with the customer managed key, not even the
    # encryption checks skipped for the default
    kms = overrides["encryption"] == "kms"
    unskip = CUSTOMER_MANAGED_KEY_CHECKS if kms else ()
    assert checkov(stack.outdir / f"{STACK_NAME}.template.json", unskip=unskip).failed == []
    # AND the optional parts are there exactly when asked for
    stack.template.resource_count_is("AWS::SNS::Subscription", 1 if overrides["alarmEmail"] else 0)
    stack.template.resource_count_is("AWS::CloudWatch::Dashboard", 1 if overrides["dashboard"] else 0)
    stack.template.resource_count_is("AWS::CloudFront::Distribution", 1 if overrides["cdn"] else 0)
    buckets = 2 + (0 if overrides["originalsBucketName"] else 1) + (1 if overrides["cdn"] else 0)
    stack.template.resource_count_is("AWS::S3::Bucket", buckets)
    stack.template.resource_count_is("AWS::KMS::Key", 1)  # the pipeline's key, or else the alarm topic's
    assert ("EncryptionKeyArn" in stack.outputs) is kms
