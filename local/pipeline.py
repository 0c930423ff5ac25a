"""The whole pipeline on an embedded AWS: the deployed stack in moto, the real function code, run by the poller.

    assembly = synthesize(outdir=...)                  # the same app `cdk synth` builds
    with mock_aws():
        pipeline = LocalPipeline.deploy(assembly, session=boto3.Session(region_name="us-east-1"))
        pipeline.upload("photos/cat.jpg", data)       # S3 -> EventBridge -> rule -> SQS, inside moto
        pipeline.run()                                 # the poller invokes the function until the queue drains
        pipeline.manifest("photos/cat.jpg")

Everything the function sees comes from the deployment: its environment is read back from the deployed
function (so it is whatever the template set), the queue and batch size from the event source mapping. It
announces on the deployed event bus through its own EventBridge client (`function_events`), which tests may
inject faults into. (moto's CloudFormation does not model CloudFront: stacks with `cdn` are not deployed here.)
"""

from __future__ import annotations

import importlib
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from local.moto_cloud import DeployedStack, StackAssembly, deploy
from local.poller import EventSourceMapping, LambdaContext, PollReport, SqsBatchHandler, SqsPoller

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import (
        CompletedPartTypeDef,
        CompleteMultipartUploadOutputTypeDef,
        PutObjectOutputTypeDef,
    )
    from mypy_boto3_sqs.type_defs import MessageTypeDef

MANIFEST_NAME = "manifest.json"
DEFAULT_BATCH_SIZE = 10  # Lambda's default for an SQS event source mapping without BatchSize
MULTIPART_MIN_PART_BYTES = 5 * 1024 * 1024  # S3 refuses smaller parts (except the last)


@dataclass(frozen=True)
class DeployedFunction:
    """The deployed function's configuration, as Lambda reports it."""

    name: str
    arn: str
    memory_mb: int
    timeout_seconds: int
    environment: Mapping[str, str]
    log_group: str

    @classmethod
    def describe(cls, *, lambda_client: Any, name: str) -> DeployedFunction:
        configuration = lambda_client.get_function_configuration(FunctionName=name)
        return cls(
            name=configuration["FunctionName"],
            arn=configuration["FunctionArn"],
            memory_mb=configuration["MemorySize"],
            timeout_seconds=configuration["Timeout"],
            environment=dict(configuration.get("Environment", {}).get("Variables", {})),
            log_group=configuration.get("LoggingConfig", {}).get("LogGroup", f"/aws/lambda/{name}"),
        )

    def new_context(self) -> LambdaContext:
        return LambdaContext(
            function_name=self.name,
            invoked_function_arn=self.arn,
            memory_limit_in_mb=self.memory_mb,
            timeout_seconds=self.timeout_seconds,
            log_group_name=self.log_group,
        )


def import_function(environment: Mapping[str, str]) -> ModuleType:
    """The function's handler module, imported the way Lambda's runtime would see it configured.

    In Lambda the function's environment is the process environment, and Powertools reads its POWERTOOLS_*
    variables from there when the handler module creates its Logger and Metrics: set them before importing.
    The rest of the environment is passed explicitly (`Settings.from_environment`), so it is not copied here.
    """
    os.environ.update({name: value for name, value in environment.items() if name.startswith("POWERTOOLS_")})
    return importlib.import_module("thumbnailer.handler")


def thumbnailer_handler(
    *, function: ModuleType, environment: Mapping[str, str], s3_client: Any, events_client: Any = None
) -> SqsBatchHandler:
    """The function's `handle_batch` seam, configured from `environment`, using `s3_client` (and `events_client`
    to announce written manifests)."""
    from thumbnailer.contract import Settings
    from thumbnailer.service import ThumbnailService

    service = ThumbnailService(Settings.from_environment(environment), s3_client, events_client=events_client)

    def handler(event: dict[str, Any], context: Any) -> Any:
        try:
            return function.handle_batch(event, context, service)
        finally:
            # What the real entry point's `log_metrics` decorator does after every invocation (EMF to stdout).
            function.metrics.flush_metrics()

    return handler


class LocalPipeline:
    """A deployed stack plus the function run by a local poller; helpers to upload and look at results."""

    def __init__(
        self, *, session: boto3.Session, deployed: DeployedStack, function_s3_config: Config | None = None
    ) -> None:
        self.session = session
        self.deployed = deployed
        self.s3 = session.client("s3")
        self.sqs = session.client("sqs")
        mappings = deployed.resources_of_type("AWS::Lambda::EventSourceMapping")
        function_ids = {_logical_id(mapping["Properties"]["FunctionName"]) for mapping in mappings.values()}
        if len(function_ids) != 1:
            raise ValueError(f"expected the event source mappings of one function, found {sorted(function_ids)}")
        self.function = DeployedFunction.describe(
            lambda_client=session.client("lambda"), name=deployed.physical_ids[function_ids.pop()]
        )
        function = import_function(self.function.environment)
        from thumbnailer.contract import Settings

        # The function's own client, with the function's own botocore config unless a test gives one; separate
        # from the harness's client so that tests can inject faults into it alone.
        function_config = function.s3_client_config(Settings.from_environment(self.function.environment))
        self.function_s3 = session.client("s3", config=function_s3_config or function_config)
        self.function_events = session.client("events", config=function_config)
        handler = thumbnailer_handler(
            function=function,
            environment=self.function.environment,
            s3_client=self.function_s3,
            events_client=self.function_events,
        )
        # One poller per mapping, as Lambda runs one per mapping: the ingest queue's and the backfill queue's.
        self.pollers: dict[str, SqsPoller] = {}
        for mapping in mappings.values():
            properties = mapping["Properties"]
            queue_url = deployed.physical_ids[_logical_id(properties["EventSourceArn"])]  # a queue's Ref is its URL
            queue_arn = self.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
            source = EventSourceMapping(
                queue_url=queue_url,
                queue_arn=queue_arn["QueueArn"],
                batch_size=int(properties.get("BatchSize", DEFAULT_BATCH_SIZE)),
                report_batch_item_failures="ReportBatchItemFailures" in properties.get("FunctionResponseTypes", []),
            )
            self.pollers[queue_url] = SqsPoller(
                sqs_client=self.sqs,
                mapping=source,
                handler=handler,
                context_factory=self.function.new_context,
                region=session.region_name,
            )
        ingest_url = deployed.outputs["IngestQueueUrl"]
        self.poller = self.pollers[ingest_url]
        self.mapping = self.poller.mapping
        backfill_url = deployed.outputs.get("BackfillQueueUrl")
        self.backfill_poller = self.pollers.get(backfill_url) if backfill_url else None

    @classmethod
    def deploy(
        cls, assembly: StackAssembly, *, session: boto3.Session, function_s3_config: Config | None = None
    ) -> LocalPipeline:
        return cls(session=session, deployed=deploy(assembly, session=session), function_s3_config=function_s3_config)

    @property
    def originals_bucket(self) -> str:
        return self.deployed.outputs["OriginalsBucketName"]

    @property
    def thumbnails_bucket(self) -> str:
        return self.deployed.outputs["ThumbnailsBucketName"]

    @property
    def event_bus(self) -> str:
        """The bus the function announces written manifests on."""
        return self.deployed.outputs["EventBusName"]

    def upload(
        self, key: str, data: bytes, *, part_bytes: int | None = None
    ) -> PutObjectOutputTypeDef | CompleteMultipartUploadOutputTypeDef:
        """Put an original; with `part_bytes` as a multipart upload in parts of that size. Returns S3's answer
        (ETag, VersionId)."""
        if part_bytes is None:
            return self.s3.put_object(Bucket=self.originals_bucket, Key=key, Body=data)
        if part_bytes < MULTIPART_MIN_PART_BYTES or len(data) <= part_bytes:
            raise ValueError(f"a multipart upload needs parts of at least 5 MiB and more than one part: {part_bytes=}")
        upload_id = self.s3.create_multipart_upload(Bucket=self.originals_bucket, Key=key)["UploadId"]
        parts: list[CompletedPartTypeDef] = []
        for number, start in enumerate(range(0, len(data), part_bytes), start=1):
            part = self.s3.upload_part(
                Bucket=self.originals_bucket,
                Key=key,
                UploadId=upload_id,
                PartNumber=number,
                Body=data[start : start + part_bytes],
            )
            parts.append({"ETag": part["ETag"], "PartNumber": number})
        return self.s3.complete_multipart_upload(
            Bucket=self.originals_bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
        )

    def seed_existing(self, objects: Mapping[str, bytes]) -> None:
        """Put originals as if they predate the pipeline: with the bucket's EventBridge notifications off, so no
        event is sent for them (what `thumbnails backfill` is for), then on again."""
        self.s3.put_bucket_notification_configuration(Bucket=self.originals_bucket, NotificationConfiguration={})
        try:
            for key, data in objects.items():
                self.s3.put_object(Bucket=self.originals_bucket, Key=key, Body=data)
        finally:
            self.s3.put_bucket_notification_configuration(
                Bucket=self.originals_bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
            )

    def run(self, *, deadline_seconds: float = 120.0) -> PollReport:
        """Invoke the function until every queue it consumes is drained (failures are retried until redriven).

        The ingest queue first, then the backfill queue, again until both are empty; returns the sums."""
        deadline = time.monotonic() + deadline_seconds
        total = PollReport()
        while True:
            busy = False
            for poller in (self.poller, *(other for other in self.pollers.values() if other is not self.poller)):
                report = poller.drain(deadline_seconds=max(0.0, deadline - time.monotonic()))
                busy = busy or report.records > 0
                total.invocations += report.invocations
                total.records += report.records
                total.succeeded += report.succeeded
                total.failed += report.failed
                total.handler_errors.extend(report.handler_errors)
            if not busy:
                return total

    def thumbnail_keys(self, key: str) -> list[str]:
        """Every object the function wrote for an original, manifest included."""
        paginator = self.s3.get_paginator("list_objects_v2")
        return [
            item["Key"]
            for page in paginator.paginate(Bucket=self.thumbnails_bucket, Prefix=f"{key}/")
            for item in page.get("Contents", [])
        ]

    def manifest(self, key: str) -> dict[str, Any] | None:
        """The manifest for an original, or None when there is none (yet)."""
        try:
            response = self.s3.get_object(Bucket=self.thumbnails_bucket, Key=f"{key}/{MANIFEST_NAME}")
        except self.s3.exceptions.NoSuchKey:
            return None
        manifest: dict[str, Any] = json.loads(response["Body"].read())
        return manifest

    def thumbnail(self, key: str) -> dict[str, Any]:
        """One object from the thumbnails bucket: its bytes and headers."""
        response = self.s3.get_object(Bucket=self.thumbnails_bucket, Key=key)
        return {**response, "Body": response["Body"].read()}

    def queue_messages(self, output_name: str) -> list[MessageTypeDef]:
        """The messages in a queue named by a stack output, left in the queue (visible again at once)."""
        queue_url = self.deployed.outputs[output_name]
        messages: list[MessageTypeDef] = []
        while True:
            received = self.sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"], WaitTimeSeconds=0
            ).get("Messages", [])
            if not received:
                break
            messages.extend(received)
        for message in messages:
            self.sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        return messages


def _logical_id(reference: Any) -> str:
    """The logical id inside a template `Ref` or `Fn::GetAtt`."""
    if isinstance(reference, Mapping) and "Ref" in reference:
        logical_id: str = reference["Ref"]
    elif isinstance(reference, Mapping) and "Fn::GetAtt" in reference:
        logical_id = reference["Fn::GetAtt"][0]
    else:
        raise ValueError(f"expected a Ref or Fn::GetAtt to a resource in the stack, got {reference!r}")
    return logical_id
