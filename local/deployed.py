"""A stack that is already deployed, read back through the CloudFormation API (real AWS or a moto server).

`read_deployed_stack` gives the same `DeployedStack` that `local.moto_cloud.deploy` returns for an in-process
deployment, so the fix-ups for what moto ignores (`apply_bucket_configuration`,
`disable_event_source_mappings`) and the poller work on a stack the CDK CLI deployed.

Outputs come from DescribeStacks. moto's change sets (the path `cdk deploy` takes) record none, so when a
stack has no outputs they are resolved from the template's `Outputs` section instead: each output that is a
plain `Ref` to a resource of the stack is that resource's physical id (a bucket's name, a queue's URL),
which is what CloudFormation itself would have reported.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from local.moto_cloud import DeployedStack


class StackNotFound(LookupError):
    """No stack of that name where the credentials point."""


def read_deployed_stack(cloudformation: Any, stack_name: str) -> DeployedStack:
    """The deployed stack's template, outputs and physical ids; StackNotFound when it does not exist."""
    try:
        description = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    except cloudformation.exceptions.ClientError as error:
        if "does not exist" in str(error):
            raise StackNotFound(f"no stack named {stack_name!r}") from error
        raise
    template = _template(cloudformation, stack_name)
    physical_ids: dict[str, str] = {}
    for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_name):
        for summary in page["StackResourceSummaries"]:
            if summary.get("LogicalResourceId") and summary.get("PhysicalResourceId"):
                physical_ids[summary["LogicalResourceId"]] = summary["PhysicalResourceId"]
    outputs = {output["OutputKey"]: output["OutputValue"] for output in description.get("Outputs") or []}
    if not outputs:
        outputs = outputs_from_template(template, physical_ids)
    return DeployedStack(name=stack_name, template=template, outputs=outputs, physical_ids=physical_ids)


def outputs_from_template(template: Mapping[str, Any], physical_ids: Mapping[str, str]) -> dict[str, str]:
    """The template's outputs that are a `Ref` to one of the stack's resources, resolved to its physical id."""
    outputs: dict[str, str] = {}
    for name, output in (template.get("Outputs") or {}).items():
        value = output.get("Value")
        if isinstance(value, Mapping) and isinstance(value.get("Ref"), str) and value["Ref"] in physical_ids:
            outputs[name] = physical_ids[value["Ref"]]
    return outputs


def _template(cloudformation: Any, stack_name: str) -> dict[str, Any]:
    body = cloudformation.get_template(StackName=stack_name, TemplateStage="Original")["TemplateBody"]
    # boto3 parses a JSON template body into a dict already; a YAML one (never ours) would stay a string.
    parsed: dict[str, Any] = body if isinstance(body, dict) else json.loads(body)
    return parsed
