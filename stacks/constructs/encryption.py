"""Customer managed encryption (`encryption: "kms"`): one KMS key, with yearly rotation, for everything the
pipeline keeps at rest or in flight: the thumbnails bucket, the originals bucket when the stack creates it,
every queue, the alarm topic, both log groups and the function's environment.

The key policy names each AWS service that uses the key on the pipeline's behalf, with only the actions it needs:
- EventBridge (`events.amazonaws.com`) delivers upload events into the ingest queue and, when that fails, into
  the events dead-letter queue: SQS asks KMS for a data key as the sender. The CDK's SQS rule target adds this
  statement itself, conditioned on `aws:SourceAccount`, not on the rule's ARN: the rule targets a queue
  encrypted with this key, so naming the rule in the key policy would be a circular reference.
- CloudWatch Logs (`logs.<region>.amazonaws.com`) encrypts the stack's log groups, and only those: the
  encryption context must be a log group whose CloudFormation-generated name starts with the stack's name.
- CloudWatch alarms (`cloudwatch.amazonaws.com`) publish to the encrypted alarm topic (monitoring.py adds it).
- CloudFront, with `cdn: true`, reads the thumbnails through origin access control (the CDK's OAC origin adds it).

The function's and the state machine's roles use the key through IAM, which the key policy's account statement
(the CDK default) allows; their statements are scoped with `kms:ViaService` (the function: S3, SQS, and Lambda
for its environment; the state machine: SQS). The CDK's SQS event source also grants the function a plain
`kms:Decrypt` on the key; decrypting needs ciphertext, which only those services hold.

Not on the key: the access-log bucket (S3 server access logs can be delivered only into an SSE-S3 bucket) and the
CDN log bucket (CloudFront's ACL-based standard logging into an SSE-KMS bucket could not be verified, and a
failure would lose logs silently); see README, Security.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

# What the roles do with the key: S3 and SQS ask KMS for a data key to encrypt and decrypt it to read.
DATA_KEY_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")
# What CloudWatch Logs needs to encrypt and read a log group (AWS's documented key policy for log groups).
LOGS_ACTIONS = ("kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*")
# The shortest deletion waiting period KMS allows, for a disposable stack; otherwise the key is retained.
DISPOSABLE_PENDING_WINDOW_DAYS = 7


class PipelineKey(Construct):
    """The key and its policy."""

    def __init__(self, scope: Construct, construct_id: str, *, disposable: bool) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.key = kms.Key(
            self,
            "Key",
            description=f"Thumbnail pipeline {stack.stack_name}: images, queues, alarm topic, logs, environment",
            enable_key_rotation=True,
            # Retained by default: a deleted key makes every image and message it encrypted unreadable for good.
            # A disposable stack schedules it for deletion after KMS's shortest waiting period.
            removal_policy=RemovalPolicy.DESTROY if disposable else RemovalPolicy.RETAIN,
            pending_window=Duration.days(DISPOSABLE_PENDING_WINDOW_DAYS) if disposable else None,
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsForThisStacksLogGroups",
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=list(LOGS_ACTIONS),
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                            service="logs",
                            resource="log-group",
                            # CloudFormation names a log group without a name "<stack name>-<logical id>-<suffix>".
                            resource_name=f"{stack.stack_name}-*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    }
                },
            )
        )


def key_used_through(
    scope: Construct,
    *,
    sid: str,
    key_arn: str,
    services: tuple[str, ...],
    actions: tuple[str, ...] = DATA_KEY_ACTIONS,
) -> iam.PolicyStatement:
    """A role statement: `actions` on one key, only when one of `services` (e.g. "s3", "sqs") asks KMS for the role
    (`kms:ViaService`); the role cannot call KMS with it directly."""
    region = Stack.of(scope).region
    return iam.PolicyStatement(
        sid=sid,
        actions=list(actions),
        resources=[key_arn],
        conditions={"StringEquals": {"kms:ViaService": [f"{service}.{region}.amazonaws.com" for service in services]}},
    )
