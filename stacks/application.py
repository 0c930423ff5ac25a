"""Builds the CDK app the same way for `cdk synth`, the tests, the e2e deploy and the demo."""

from __future__ import annotations

import os
from typing import Any

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from stacks.cdk_json import cdk_json_context
from stacks.config import DEFAULTS_KEY, OVERRIDES_KEY, PipelineConfig
from stacks.constants import STACK_NAME, STACK_NAME_CONTEXT_KEY, STACK_NAME_PATTERN
from stacks.pipeline_stack import ThumbnailPipelineStack
from thumbnailer.imaging.presets import ConfigError


def build_app(
    *,
    context: dict[str, Any] | None = None,
    outdir: str | None = None,
    validate_template: bool | None = None,
) -> tuple[App, ThumbnailPipelineStack]:
    """Create the app and its one stack, with cdk-nag's AwsSolutions and Serverless checks registered.

    `context` is merged over cdk.json's context, so in-process callers (tests, demo) get the same
    feature flags and defaults as `cdk synth`. Under the CDK CLI the CLI's context (cdk.json plus
    `-c` values) takes precedence anyway. `validate_template` switches CDK's built-in CloudFormation
    validation; by default it is on unless CDK_VALIDATION=false.

    The stack is named STACK_NAME unless the `stackName` context key names another (`-c stackName=...`), e.g. a
    disposable copy next to the real one; the name is also the stack's construct id, so `cdk deploy NAME` selects it.

    Raises ConfigError (before any construct exists) when the `thumbnails` configuration or the stack name is
    invalid.
    Any unacknowledged cdk-nag finding makes `app.synth()` fail.
    """
    if validate_template is None:
        validate_template = os.environ.get("CDK_VALIDATION", "").lower() != "false"
    app = App(
        context={**cdk_json_context(), **(context or {})},
        outdir=outdir,
        builtin_cloud_formation_validation=validate_template,
    )
    config = PipelineConfig.from_context(
        app.node.try_get_context(DEFAULTS_KEY),
        app.node.try_get_context(OVERRIDES_KEY),
    )
    name = stack_name(app.node.try_get_context(STACK_NAME_CONTEXT_KEY))
    # Account and region only when the CLI supplies them: synth must never look anything up.
    env = Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION"))
    stack = ThumbnailPipelineStack(app, name, config=config, env=env)
    # cdk-nag v3 is a policy-validation plugin, not an aspect: its error findings fail `app.synth()`
    # (and `cdk synth` exits 1); acknowledgments are `Validations.of(construct).acknowledge(...)`.
    # Two packs: AwsSolutions (general) and Serverless (Lambda, SQS, Step Functions specifics).
    Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True), ServerlessChecks(app, verbose=True))
    return app, stack


def stack_name(value: Any) -> str:
    """The stack name from the `stackName` context value (None: the default), checked as CloudFormation would."""
    if value is None or value == "":
        return STACK_NAME
    if not isinstance(value, str) or not STACK_NAME_PATTERN.fullmatch(value):
        raise ConfigError(
            f"{STACK_NAME_CONTEXT_KEY}: expected a letter then letters, digits or hyphens, at most 128 characters, "
            f"got {value!r}"
        )
    return value
