"""`-c stackName=...` deploys another copy of the stack under that name (the disposable smoke flow uses it)."""

from __future__ import annotations

import pytest

from stacks.application import build_app, stack_name
from stacks.constants import STACK_NAME
from thumbnailer.imaging.presets import ConfigError


@pytest.mark.parametrize("value", [None, ""])
def test_no_stack_name_is_the_default(value: str | None) -> None:
    assert stack_name(value) == STACK_NAME


@pytest.mark.parametrize("value", ["ThumbnailSmoke-20261202-013154-f1e5", "a", "A" * 128])
def test_a_cloudformation_stack_name_is_accepted(value: str) -> None:
    assert stack_name(value) == value


@pytest.mark.parametrize("value", ["1stack", "has_underscore", "has space", "A" * 129, 42])
def test_anything_cloudformation_would_refuse_fails_the_synth_with_the_key(value: object) -> None:
    with pytest.raises(ConfigError, match=r"^stackName: expected a letter"):
        stack_name(value)


def test_the_context_names_the_stack_and_its_construct_id() -> None:
    # GIVEN the stackName context key
    _app, stack = build_app(context={"stackName": "ThumbnailSmoke-1", "aws:cdk:bundling-stacks": []})
    # THEN the stack has that name, and the CLI selects it by the same name
    assert stack.stack_name == "ThumbnailSmoke-1"
    assert stack.node.id == "ThumbnailSmoke-1"
