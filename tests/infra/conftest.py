"""Shared synth builders: the app is synthesized in-process once per configuration and shared by the tests.

Layer bundling is skipped (`aws:cdk:bundling-stacks: []`, tests/layer builds it for real) and so is
CDK's built-in CloudFormation validation (cfn-lint covers it); cdk-nag always runs, so every
synth here also proves the stack has no unacknowledged finding.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import assertions

from stacks.application import build_app
from stacks.pipeline_stack import ThumbnailPipelineStack

SKIP_BUNDLING = {"aws:cdk:bundling-stacks": []}

# One non-default value for every knob that changes the template, so a single extra synth proves
# they all flow from `thumbnailsOverrides` into the resources.
OVERRIDES = {
    "memoryMb": 2048,
    "timeoutSeconds": 120,
    "batchSize": 50,
    "maxConcurrency": 7,
    "keyPrefix": "uploads/",
    "logRetentionDays": 7,
    "cacheControl": "private, max-age=60",
    "disposable": True,
    "backfillMaxConcurrency": 3,
    "backfillMapConcurrency": 7,
    "backfillToleratedFailurePercentage": 0,
    "backfillInventoryBucket": "inventory-reports",
    "alarmQueueAgeSeconds": 1800,
}

# Every optional part switched on: alarm email, dashboard, CDN, and an originals bucket that exists outside the stack.
OWN_ORIGINALS_BUCKET = "my-existing-originals"
ALL_OPTIONS = {
    "alarmEmail": "ops@example.com",
    "dashboard": True,
    "cdn": True,
    "originalsBucketName": OWN_ORIGINALS_BUCKET,
}


@dataclass(frozen=True)
class Synthesized:
    """One synthesized pipeline stack: the assertions Template plus its raw JSON for walking."""

    template: assertions.Template
    resources: Mapping[str, Mapping[str, Any]]
    outputs: Mapping[str, Mapping[str, Any]]
    outdir: Path

    def output_target(self, output_name: str) -> str:
        """The logical id an output points at (Ref or GetAtt): how tests find a resource without its hash."""
        value = self.outputs[output_name]["Value"]
        if "Ref" in value:
            return value["Ref"]
        return value["Fn::GetAtt"][0]

    def only(self, resource_type: str) -> tuple[str, Mapping[str, Any]]:
        """The single resource of a type as (logical id, resource)."""
        found = [(key, value) for key, value in self.resources.items() if value["Type"] == resource_type]
        assert len(found) == 1, f"expected one {resource_type}, found {[key for key, _ in found]}"
        return found[0]

    def properties(self, logical_id: str) -> Mapping[str, Any]:
        return self.resources[logical_id]["Properties"]

    def function_log_group(self) -> tuple[str, Mapping[str, Any]]:
        """The thumbnail function's log group (the stack has others, e.g. the backfill state machine's)."""
        _, function = self.only("AWS::Lambda::Function")
        logical_id = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        return logical_id, self.resources[logical_id]

    def mapping_of(self, queue_output: str) -> tuple[str, Mapping[str, Any]]:
        """The event source mapping that consumes the queue a stack output names."""
        queue = self.output_target(queue_output)
        found = [
            (key, value)
            for key, value in self.resources.items()
            if value["Type"] == "AWS::Lambda::EventSourceMapping"
            and value["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [queue, "Arn"]}
        ]
        assert len(found) == 1, f"expected one mapping for {queue_output}, found {[key for key, _ in found]}"
        return found[0]


def synthesize(
    outdir: Path,
    *,
    context: Mapping[str, Any] | None = None,
    customize: Callable[[ThumbnailPipelineStack], None] | None = None,
) -> Synthesized:
    """Build the app as `cdk synth` would, optionally change the stack, synthesize (nag included) and read it back."""
    app, stack = build_app(context={**SKIP_BUNDLING, **(context or {})}, outdir=str(outdir), validate_template=False)
    if customize is not None:
        customize(stack)
    assembly = app.synth()
    template_json = assembly.get_stack_by_name(stack.stack_name).template
    return Synthesized(
        template=assertions.Template.from_json(template_json),
        resources=template_json["Resources"],
        outputs=template_json["Outputs"],
        outdir=Path(assembly.directory),
    )


@pytest.fixture(scope="session")
def default_stack(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("default-synth"))


@pytest.fixture(scope="session")
def overridden_stack(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(
        tmp_path_factory.mktemp("overridden-synth"),
        context={"thumbnailsOverrides": json.dumps(OVERRIDES)},
    )


@pytest.fixture(scope="session")
def all_options_stack(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(
        tmp_path_factory.mktemp("all-options-synth"),
        context={"thumbnailsOverrides": json.dumps(ALL_OPTIONS)},
    )
