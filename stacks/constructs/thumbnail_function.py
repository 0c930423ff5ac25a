"""The worker: a Lambda function draining the ingest queue, reading originals and writing thumbnails, announcing
each written manifest on the pipeline's event bus and, with a CDN, invalidating replaced sets."""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnResource, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.config import PipelineConfig
from stacks.constants import ARCHITECTURE, FUNCTION_CODE_DIR, FUNCTION_HANDLER, LAMBDA_RUNTIME, LOG_RETENTION
from stacks.constructs.encryption import key_used_through
from thumbnailer.contract import Settings

# What the function may do, and nothing more. Each s3:ListBucket is there for one reason: without it
# S3 answers a GET of a missing key with 403 instead of 404, and the function could not tell "the
# object is gone" (permanent: drop the message) from "access denied" (a fault: retry).
ORIGINALS_OBJECT_ACTIONS = ("s3:GetObject", "s3:GetObjectVersion")
# GetObject on thumbnails: the function reads the existing manifest to refuse an out-of-order
# overwrite by an older upload. DeleteObject on thumbnails only: when an original is deleted its
# thumbnails are deleted too. Nothing in the function deletes (or writes) an original.
THUMBNAILS_OBJECT_ACTIONS = ("s3:GetObject", "s3:PutObject", "s3:DeleteObject")
BUCKET_ACTIONS = ("s3:ListBucket",)


class ThumbnailFunction(Construct):
    """The function, its role, its log group and its SQS event source."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        originals: s3.IBucket,
        thumbnails: s3.IBucket,
        queue: sqs.IQueue,
        layer: lambda_.ILayerVersion,
        event_bus: events.IEventBus,
        distribution: cloudfront.IDistribution | None = None,
        key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)

        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            encryption_key=key,
            retention=LOG_RETENTION[config.log_retention_days],
            removal_policy=RemovalPolicy.DESTROY if config.disposable else RemovalPolicy.RETAIN,
        )
        # An explicit role instead of the default one: the default attaches the AWS managed
        # AWSLambdaBasicExecutionRole (logs:* on every log group); this one may write only its own.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Thumbnailer: read originals, write and delete thumbnails, write its own log group",
        )
        self.log_group.grant_write(self.role)
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadOriginals",
                actions=list(ORIGINALS_OBJECT_ACTIONS),
                resources=[originals.arn_for_objects("*")],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadAndWriteThumbnails",
                actions=list(THUMBNAILS_OBJECT_ACTIONS),
                resources=[thumbnails.arn_for_objects("*")],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="TellMissingFromForbidden",
                actions=list(BUCKET_ACTIONS),
                resources=[originals.bucket_arn, thumbnails.bucket_arn],
            )
        )

        if key is not None:
            # Reading and writing the buckets, receiving from the queues, and the environment at cold start:
            # each service asks KMS on the role's behalf; the role cannot call KMS directly.
            self.role.add_to_policy(
                key_used_through(
                    self,
                    sid="UseThePipelineKeyThroughS3SqsAndLambda",
                    key_arn=key.key_arn,
                    services=("s3", "sqs", "lambda"),
                )
            )
        if config.originals_kms_key_arn is not None:
            # An own originals bucket encrypted with its own key: read it, through S3 only; nothing is written there.
            self.role.add_to_policy(
                key_used_through(
                    self,
                    sid="DecryptOwnOriginals",
                    key_arn=config.originals_kms_key_arn,
                    services=("s3",),
                    actions=("kms:Decrypt",),
                )
            )

        # One event per manifest written, on the pipeline's own bus only.
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="AnnounceManifests", actions=["events:PutEvents"], resources=[event_bus.event_bus_arn]
            )
        )
        if distribution is not None:
            # A replaced set's paths, in this distribution only.
            self.role.add_to_policy(
                iam.PolicyStatement(
                    sid="InvalidateReplacedSets",
                    actions=["cloudfront:CreateInvalidation"],
                    resources=[distribution.distribution_arn],
                )
            )

        for bucket in (originals, thumbnails):
            Validations.of(self.role).acknowledge(
                Acknowledgment(
                    id=f"AwsSolutions-IAM5[Resource::{_nag_arn(bucket)}/*]",
                    reason="Object-level actions on every key of one bucket: the keys are whatever users upload.",
                )
            )

        self.function = lambda_.Function(
            self,
            "Function",
            description="Makes thumbnails of each original image, and removes them when the original is deleted",
            runtime=LAMBDA_RUNTIME,
            architecture=ARCHITECTURE,
            handler=FUNCTION_HANDLER,
            code=lambda_.Code.from_asset(str(FUNCTION_CODE_DIR), exclude=["**/__pycache__", "**/*.pyc"]),
            layers=[layer],
            memory_size=config.memory_mb,
            timeout=Duration.seconds(config.timeout_seconds),
            role=self.role,
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE if config.tracing else lambda_.Tracing.DISABLED,
            # Powertools already writes JSON; this makes the platform's START/END/REPORT lines JSON too.
            logging_format=lambda_.LoggingFormat.JSON,
            environment_encryption=key,
            environment=Settings(
                originals_bucket=originals.bucket_name,
                thumbnails_bucket=thumbnails.bucket_name,
                timeout_seconds=config.timeout_seconds,
                config=config.function,
                event_bus_name=event_bus.event_bus_name,
                distribution_id=distribution.distribution_id if distribution is not None else None,
            ).to_environment(),
            # No reserved concurrency: the event source's maximum concurrency caps scale-out without
            # taking capacity away from the rest of the account or throttling messages back into the queue.
        )
        self.function.add_event_source(queue_event_source(queue, config=config, max_concurrency=config.max_concurrency))
        Validations.of(self.function).acknowledge(
            Acknowledgment(
                id="Serverless-LambdaDLQ",
                reason="Invoked only by SQS event source mappings (synchronously): a function DLQ applies to "
                "asynchronous invocations only; failed records go to each queue's own dead-letter queue.",
            ),
        )
        if config.tracing:
            Validations.of(self.role).acknowledge(
                Acknowledgment(
                    id="AwsSolutions-IAM5[Resource::*]",
                    reason="X-Ray's PutTraceSegments and PutTelemetryRecords (`tracing: true`): on '*' only.",
                )
            )
        else:
            Validations.of(self.function).acknowledge(
                Acknowledgment(
                    id="Serverless-LambdaTracing",
                    reason="X-Ray costs per trace (`tracing: true` turns it on); the JSON logs and the metrics carry "
                    "what operators use.",
                )
            )


def queue_event_source(
    queue: sqs.IQueue, *, config: PipelineConfig, max_concurrency: int
) -> event_sources.SqsEventSource:
    """The function's mapping on one of its queues (ingest, backfill): the configured batch, each queue's own cap
    on concurrent instances, and partial batch failures."""
    return event_sources.SqsEventSource(
        queue,
        batch_size=config.batch_size,
        # SQS requires a batching window for batches above 10 records; 1 s is the smallest.
        max_batching_window=Duration.seconds(config.max_batching_window_seconds)
        if config.max_batching_window_seconds
        else None,
        max_concurrency=max_concurrency,
        # Without it one bad record makes the whole batch come back.
        report_batch_item_failures=True,
    )


def _nag_arn(bucket: s3.IBucket) -> str:
    """The bucket's ARN as cdk-nag spells it in a finding: `<LogicalId.Arn>` for a bucket of this stack; for one
    that exists outside it, the ARN as synthesized, a `Ref` written `<Name>` (`arn:<AWS::Partition>:s3:::name`
    when the region is unknown, `arn:aws:s3:::name` when the CLI supplies it)."""
    resource = bucket.node.default_child
    stack = Stack.of(bucket)
    if resource is None:
        resolved = stack.resolve(bucket.bucket_arn)
        if isinstance(resolved, str):
            return resolved
        parts = resolved["Fn::Join"][1]
        return "".join(part if isinstance(part, str) else f"<{part['Ref']}>" for part in parts)
    assert isinstance(resource, CfnResource)
    logical_id: str = stack.resolve(stack.get_logical_id(resource))
    return f"<{logical_id}.Arn>"
