"""`tracing: true` turns on X-Ray active tracing on the function and the backfill state machine; off by default."""

from __future__ import annotations

import json
from pathlib import Path

from aws_cdk import assertions

from .conftest import Synthesized, synthesize


def test_tracing_is_off_by_default(default_stack: Synthesized) -> None:
    # GIVEN the default synth
    _, function = default_stack.only("AWS::Lambda::Function")
    _, state_machine = default_stack.only("AWS::StepFunctions::StateMachine")

    # THEN neither the function nor the state machine traces
    assert "TracingConfig" not in function["Properties"]
    assert "TracingConfiguration" not in state_machine["Properties"]


def test_tracing_true_traces_the_function_and_the_state_machine(tmp_path: Path) -> None:
    # GIVEN tracing switched on (the synth passes both cdk-nag packs: the X-Ray findings are gone, and the
    # X-Ray actions on '*' are acknowledged on the two roles)
    stack = synthesize(tmp_path, context={"thumbnailsOverrides": json.dumps({"tracing": True})})

    # THEN the function traces actively, the state machine has tracing enabled
    stack.template.has_resource_properties("AWS::Lambda::Function", {"TracingConfig": {"Mode": "Active"}})
    stack.template.has_resource_properties(
        "AWS::StepFunctions::StateMachine", {"TracingConfiguration": {"Enabled": True}}
    )
    # AND the function's role may write traces
    stack.template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": assertions.Match.array_with(
                    [
                        assertions.Match.object_like(
                            {"Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], "Resource": "*"}
                        )
                    ]
                )
            }
        },
    )
    report = json.loads((stack.outdir / "validation-report.json").read_text())
    assert [violation for plugin in report["pluginReports"] for violation in plugin["violations"]] == []
