"""Deploy a synthesized CDK stack into moto's CloudFormation, then do what moto's CloudFormation leaves out.

The steps mirror `cdk deploy` against a bootstrapped account: the bootstrap version parameter and assets
bucket exist, the file assets are uploaded where the asset manifest says, the template is created as a
stack (moto ignores the template's CheckBootstrapVersion rule; the parameter it reads resolves from SSM).
Then the gaps, each one a known moto limitation:

- `Custom::*` resources would wait forever for a Lambda that moto can only run in Docker, so they are
  removed before the deployment (the provider functions they point at are still created, never run);
- moto 5.2's `AWS::KMS::Key` reads tags as `TagKey`/`TagValue` and fails on CloudFormation's `Key`/`Value`,
  so a key's tags are left out (the alarm topic's key; nothing here reads them);
- moto 5.2 resolves a `Ref` to an `AWS::Events::EventBus` to its internal object, not the bus name that
  CloudFormation returns, so such a `Ref` is replaced by the bus's `Name` (CDK always writes it);
- moto's `AWS::S3::Bucket` ignores `NotificationConfiguration` and `VersioningConfiguration`, so both are
  applied with the S3 API afterwards, from the template;
- an enabled SQS event source mapping makes moto try to run the function in Docker on every message, so
  mappings are disabled; `local.poller` plays Lambda's poller instead.

Every function takes its AWS clients from a `boto3.Session`; nothing here creates a client at import, so a
caller's `moto.mock_aws()` is in place before any client exists.
"""

from __future__ import annotations

import copy
import io
import json
import re
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import boto3

if TYPE_CHECKING:
    from mypy_boto3_cloudformation.literals import CapabilityType
    from mypy_boto3_s3.literals import BucketLocationConstraintType

# CDK's default synthesizer names its bootstrap resources with this qualifier.
BOOTSTRAP_QUALIFIER = "hnb659fds"
BOOTSTRAP_VERSION_PARAMETER = f"/cdk-bootstrap/{BOOTSTRAP_QUALIFIER}/version"
# Any version the template's CheckBootstrapVersion rule accepts (it refuses 1-5); 21 is a recent real one.
BOOTSTRAP_VERSION = "21"
# The context key that tells CDK which stacks to bundle assets for; an empty list bundles none, so the
# layer's pip install is skipped (moto never runs the layer anyway).
SKIP_BUNDLING_CONTEXT: dict[str, list[str]] = {"aws:cdk:bundling-stacks": []}

# moto's warning for a resource type its CloudFormation does not model (e.g. bucket and queue policies).
UNSUPPORTED_WARNING = re.compile(r"Tried to parse (\S+) but it's not supported")

STACK_CAPABILITIES: list[CapabilityType] = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]


class DeploymentError(RuntimeError):
    """The stack cannot be deployed into moto; the message says which resource or step and why."""


@dataclass(frozen=True)
class StackAssembly:
    """What deploying one stack needs from a cloud assembly: its template and its file assets."""

    directory: Path
    stack_name: str
    template: Mapping[str, Any]
    file_assets: Mapping[str, Any]  # the asset manifest's "files": asset hash -> source + destinations

    @classmethod
    def read(cls, directory: Path, stack_name: str) -> StackAssembly:
        """Read a cloud assembly directory (`cdk synth` output or an in-process synth's outdir)."""
        manifest = json.loads((directory / "manifest.json").read_text())
        artifacts: dict[str, Any] = manifest["artifacts"]
        stacks = {
            artifact.get("properties", {}).get("stackName", artifact_id): artifact
            for artifact_id, artifact in artifacts.items()
            if artifact["type"] == "aws:cloudformation:stack"
        }
        if stack_name not in stacks:
            raise DeploymentError(f"stack {stack_name!r} is not in {directory}; it has: {', '.join(sorted(stacks))}")
        stack = stacks[stack_name]
        template = json.loads((directory / stack["properties"]["templateFile"]).read_text())
        file_assets: dict[str, Any] = {}
        for dependency in stack.get("dependencies", []):
            artifact = artifacts[dependency]
            if artifact["type"] == "cdk:asset-manifest":
                asset_manifest = json.loads((directory / artifact["properties"]["file"]).read_text())
                file_assets.update(asset_manifest.get("files", {}))
        return cls(directory=directory, stack_name=stack_name, template=template, file_assets=file_assets)


def synthesize(*, outdir: Path, context: Mapping[str, Any] | None = None, bundle: bool = False) -> StackAssembly:
    """Synthesize the project's app in-process into `outdir` and read back the pipeline stack."""
    # Imported here, not at module level: starting jsii costs seconds and only synthesis needs it.
    from stacks.application import build_app

    full_context = {**(context or {}), **({} if bundle else SKIP_BUNDLING_CONTEXT)}
    app, stack = build_app(context=full_context, outdir=str(outdir))
    assembly = app.synth()
    return StackAssembly.read(Path(assembly.directory), stack.stack_name)


@dataclass(frozen=True)
class DeployedStack:
    """A stack as moto deployed it: outputs, physical ids, and the template that was actually created."""

    name: str
    template: Mapping[str, Any]  # after the moto gaps were removed
    outputs: Mapping[str, str]
    physical_ids: Mapping[str, str]  # logical id -> physical id, for the resource types moto models
    skipped_types: tuple[str, ...] = ()  # resource types moto does not model, so did not create

    def resources_of_type(self, resource_type: str) -> dict[str, Mapping[str, Any]]:
        """Logical id -> template resource, for every resource of the type."""
        return {
            logical_id: resource
            for logical_id, resource in self.template["Resources"].items()
            if resource["Type"] == resource_type
        }

    def only_resource_of_type(self, resource_type: str) -> tuple[str, Mapping[str, Any]]:
        """The single resource of a type, as (logical id, template resource); several or none is an error."""
        found = self.resources_of_type(resource_type)
        if len(found) != 1:
            raise DeploymentError(f"expected exactly one {resource_type} in {self.name}, found {sorted(found)}")
        return next(iter(found.items()))


def deployable_template(template: Mapping[str, Any]) -> dict[str, Any]:
    """The template without `Custom::*` resources, and without the DependsOn entries that name them; a `Ref` to an
    event bus replaced by the bus's name; KMS keys without their tags."""
    result = copy.deepcopy(dict(template))
    resources: dict[str, Any] = result["Resources"]
    for resource in resources.values():
        if resource["Type"] == "AWS::KMS::Key":
            resource.get("Properties", {}).pop("Tags", None)
    bus_names = {
        logical_id: resource["Properties"]["Name"]
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::Events::EventBus" and isinstance(resource.get("Properties", {}).get("Name"), str)
    }
    if bus_names:
        result = _replace_refs(result, bus_names)
        resources = result["Resources"]
    custom = {logical_id for logical_id, resource in resources.items() if resource["Type"].startswith("Custom::")}
    for logical_id in custom:
        del resources[logical_id]
    for logical_id, resource in resources.items():
        depends_on = resource.get("DependsOn")
        if isinstance(depends_on, str):
            depends_on = [depends_on]
        if depends_on is not None:
            remaining = [name for name in depends_on if name not in custom]
            if remaining:
                resource["DependsOn"] = remaining
            else:
                del resource["DependsOn"]
        # A resource that reads a custom resource's result cannot be deployed without it: say which.
        used = _referenced_logical_ids(resource.get("Properties", {})) & custom
        if used:
            raise DeploymentError(f"{logical_id} uses custom resource(s) {sorted(used)}, which moto cannot run")
    return result


def _replace_refs(value: Any, replacements: Mapping[str, str]) -> Any:
    """`value` with every `{"Ref": id}` of a key of `replacements` replaced by its value."""
    if isinstance(value, dict):
        if set(value) == {"Ref"} and value["Ref"] in replacements:
            return replacements[value["Ref"]]
        return {key: _replace_refs(inner, replacements) for key, inner in value.items()}
    if isinstance(value, list):
        return [_replace_refs(inner, replacements) for inner in value]
    return value


def _referenced_logical_ids(value: Any) -> set[str]:
    """Logical ids named by Ref / Fn::GetAtt anywhere inside a template fragment."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt" and isinstance(inner, list) and inner:
                found.add(inner[0])
            elif key == "Fn::GetAtt" and isinstance(inner, str):
                found.add(inner.split(".", 1)[0])
            else:
                found |= _referenced_logical_ids(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= _referenced_logical_ids(inner)
    return found


def bootstrap(*, session: boto3.Session) -> str:
    """Create what `cdk bootstrap` would that a deployment reads: the version parameter and assets bucket."""
    account = session.client("sts").get_caller_identity()["Account"]
    region = session.region_name
    session.client("ssm").put_parameter(
        Name=BOOTSTRAP_VERSION_PARAMETER, Value=BOOTSTRAP_VERSION, Type="String", Overwrite=True
    )
    assets_bucket = f"cdk-{BOOTSTRAP_QUALIFIER}-assets-{account}-{region}"
    s3 = session.client("s3")
    if region == "us-east-1":
        s3.create_bucket(Bucket=assets_bucket)
    else:
        # The session's region is any string to the stubs; S3 is the judge of whether it names a region.
        location = cast("BucketLocationConstraintType", region)
        s3.create_bucket(Bucket=assets_bucket, CreateBucketConfiguration={"LocationConstraint": location})
    return assets_bucket


def publish_file_assets(assembly: StackAssembly, *, session: boto3.Session) -> None:
    """Upload every file asset to its destination, zipping directories like the CDK CLI does."""
    account = session.client("sts").get_caller_identity()["Account"]
    placeholders = {"${AWS::AccountId}": account, "${AWS::Region}": session.region_name, "${AWS::Partition}": "aws"}
    s3 = session.client("s3")
    for asset_hash, asset in assembly.file_assets.items():
        source = Path(asset["source"]["path"])
        source = source if source.is_absolute() else assembly.directory / source
        packaging = asset["source"].get("packaging", "file")
        if packaging == "zip" and source.is_dir():
            body = _zip_directory(source)
        elif source.is_file():
            body = source.read_bytes()
        else:
            raise DeploymentError(f"asset {asset_hash}: {packaging!r} source {source} does not exist")
        for destination in asset["destinations"].values():
            bucket = destination["bucketName"]
            for placeholder, value in placeholders.items():
                bucket = bucket.replace(placeholder, value)
            s3.put_object(Bucket=bucket, Key=destination["objectKey"], Body=body)


def _zip_directory(directory: Path) -> bytes:
    """The directory's files at their relative paths, in a stable order (what Lambda unpacks)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(directory).as_posix())
    return buffer.getvalue()


def deploy(assembly: StackAssembly, *, session: boto3.Session) -> DeployedStack:
    """Bootstrap, publish assets, create the stack, then close the moto gaps (see the module docstring)."""
    bootstrap(session=session)
    publish_file_assets(assembly, session=session)
    template = deployable_template(assembly.template)
    cloudformation = session.client("cloudformation")
    with warnings.catch_warnings(record=True) as caught:
        # moto warns about each resource of a type it does not model, every time it parses the template
        # again; the types are collected for `DeployedStack.skipped_types` instead of being printed.
        warnings.simplefilter("always")
        cloudformation.create_stack(
            StackName=assembly.stack_name, TemplateBody=json.dumps(template), Capabilities=STACK_CAPABILITIES
        )
        _wait_for_create(cloudformation, assembly.stack_name)
        description = cloudformation.describe_stacks(StackName=assembly.stack_name)["Stacks"][0]
        physical_ids = _physical_ids(cloudformation, assembly.stack_name)
    skipped = sorted({match[1] for warning in caught if (match := UNSUPPORTED_WARNING.search(str(warning.message)))})
    outputs = {output["OutputKey"]: output["OutputValue"] for output in description.get("Outputs", [])}
    deployed = DeployedStack(
        name=assembly.stack_name,
        template=template,
        outputs=outputs,
        physical_ids=physical_ids,
        skipped_types=tuple(skipped),
    )
    apply_bucket_configuration(deployed, s3=session.client("s3"))
    disable_event_source_mappings(deployed, lambda_client=session.client("lambda"))
    return deployed


def _wait_for_create(cloudformation: Any, stack_name: str) -> None:
    status = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]["StackStatus"]
    if status == "CREATE_COMPLETE":
        return
    try:
        cloudformation.get_waiter("stack_create_complete").wait(
            StackName=stack_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
    except Exception as error:
        events = cloudformation.describe_stack_events(StackName=stack_name)["StackEvents"]
        reasons = [
            f"{event['LogicalResourceId']}: {event.get('ResourceStatusReason')}"
            for event in events
            if event.get("ResourceStatusReason")
        ]
        raise DeploymentError(f"stack {stack_name} did not reach CREATE_COMPLETE: {reasons or error}") from error


def _physical_ids(cloudformation: Any, stack_name: str) -> dict[str, str]:
    physical_ids: dict[str, str] = {}
    for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_name):
        for summary in page["StackResourceSummaries"]:
            # moto lists resource types it does not model with an empty logical id; there is nothing to find.
            if summary.get("LogicalResourceId") and summary.get("PhysicalResourceId"):
                physical_ids[summary["LogicalResourceId"]] = summary["PhysicalResourceId"]
    return physical_ids


def apply_bucket_configuration(deployed: DeployedStack, *, s3: Any) -> None:
    """Apply the bucket properties moto's CloudFormation ignores but the pipeline depends on."""
    for logical_id, bucket in deployed.resources_of_type("AWS::S3::Bucket").items():
        properties = bucket.get("Properties", {})
        name = deployed.physical_ids[logical_id]
        versioning = properties.get("VersioningConfiguration", {}).get("Status")
        if versioning:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": versioning})
        event_bridge = properties.get("NotificationConfiguration", {}).get("EventBridgeConfiguration", {})
        if event_bridge.get("EventBridgeEnabled") in (True, "true"):
            s3.put_bucket_notification_configuration(
                Bucket=name, NotificationConfiguration={"EventBridgeConfiguration": {}}
            )


def disable_event_source_mappings(deployed: DeployedStack, *, lambda_client: Any) -> None:
    """Stop moto from invoking functions itself (it needs Docker for that); the local poller invokes them."""
    for logical_id in deployed.resources_of_type("AWS::Lambda::EventSourceMapping"):
        lambda_client.update_event_source_mapping(UUID=deployed.physical_ids[logical_id], Enabled=False)
