"""The pipeline's event bus: created, exported, named in the function's environment, and the only place the
function may put events."""

from __future__ import annotations

from typing import Any

from .conftest import Synthesized
from .test_iam import as_list, function_role, role_statements


def test_the_stack_creates_one_custom_bus_and_exports_its_name(default_stack: Synthesized) -> None:
    bus_id, bus = default_stack.only("AWS::Events::EventBus")

    assert default_stack.outputs["EventBusName"]["Value"] == {"Ref": bus_id}
    assert bus["Properties"]["Name"] != "default"
    assert "Policy" not in bus["Properties"]  # same-account publisher; consumers add rules, not permissions


def test_the_function_is_told_the_bus_name(default_stack: Synthesized) -> None:
    _, function = default_stack.only("AWS::Lambda::Function")

    assert function["Properties"]["Environment"]["Variables"]["EVENT_BUS_NAME"] == {
        "Ref": default_stack.output_target("EventBusName")
    }


def test_the_function_may_put_events_on_that_bus_only(default_stack: Synthesized) -> None:
    # GIVEN every statement of the function's role that grants an EventBridge action
    statements: list[Any] = [
        statement
        for statement in role_statements(default_stack, function_role(default_stack))
        if any(action.startswith("events:") for action in as_list(statement["Action"]))
    ]

    # THEN there is one: PutEvents, on the pipeline's bus
    assert [(statement["Action"], statement["Resource"]) for statement in statements] == [
        ("events:PutEvents", {"Fn::GetAtt": [default_stack.output_target("EventBusName"), "Arn"]})
    ]


def test_the_bus_has_no_rules_of_the_pipelines_own(default_stack: Synthesized) -> None:
    # The ingestion rule listens on the default bus (where S3 sends); the custom bus is for consumers.
    _, rule = default_stack.only("AWS::Events::Rule")

    assert "EventBusName" not in rule["Properties"]
