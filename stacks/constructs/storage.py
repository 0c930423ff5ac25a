"""Where images live: the originals bucket (the source of truth), the thumbnails bucket and their access logs."""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.constants import ABORT_INCOMPLETE_UPLOADS_DAYS, ACCESS_LOG_EXPIRY_DAYS, NONCURRENT_VERSION_EXPIRY_DAYS


class ThumbnailStorage(Construct):
    """Three private, encrypted, TLS-only buckets.

    With `key` (`encryption: "kms"`) the originals (when created here) and thumbnails buckets are encrypted with
    it, with an S3 bucket key (S3 asks KMS for a data key per bucket and period, not per object), and refuse
    uploads asking for any other encryption. The access-log bucket stays SSE-S3: server access logs can be
    delivered only into SSE-S3 buckets.

    Originals are versioned and announce every change to EventBridge (the pipeline's trigger);
    thumbnails live in a separate bucket so writing one can never trigger the pipeline again.

    With `originals_bucket_name` the originals bucket is one that exists already (bring your own): it is
    only referenced by name, never created, changed or deleted by the stack (no bucket policy, no
    notification custom resource); its owner switches on its EventBridge notifications once (README).

    With `disposable=True` the buckets are deleted with the stack, which CloudFormation only does
    for EMPTY buckets: empty them first (`aws s3 rm s3://<bucket> --recursive`, plus old versions
    for the originals). There is deliberately no auto-delete custom resource: it would be one more
    Lambda with permission to wipe every image.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        disposable: bool,
        originals_bucket_name: str | None = None,
        key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._key = key
        removal_policy = RemovalPolicy.DESTROY if disposable else RemovalPolicy.RETAIN
        abort_incomplete_uploads = s3.LifecycleRule(
            id="AbortIncompleteMultipartUploads",
            abort_incomplete_multipart_upload_after=Duration.days(ABORT_INCOMPLETE_UPLOADS_DAYS),
        )

        # Server access log delivery only supports SSE-S3 on the target bucket.
        self.access_logs = _private_bucket(
            self,
            "AccessLogs",
            lifecycle_rules=[
                s3.LifecycleRule(id="ExpireAccessLogs", expiration=Duration.days(ACCESS_LOG_EXPIRY_DAYS)),
                abort_incomplete_uploads,
            ],
            removal_policy=removal_policy,
        )
        Validations.of(self.access_logs).acknowledge(
            Acknowledgment(
                id="AwsSolutions-S1",
                reason="This is the access-log bucket itself; logging it into itself would loop.",
            )
        )

        self.originals: s3.IBucket
        if originals_bucket_name is not None:
            self.originals = s3.Bucket.from_bucket_name(self, "Originals", originals_bucket_name)
        else:
            self.originals = self._created_originals(abort_incomplete_uploads, removal_policy)

        self.thumbnails = _private_bucket(
            self,
            "Thumbnails",
            key=key,
            # Not versioned: every thumbnail can be rebuilt from its original.
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="thumbnails/",
            lifecycle_rules=[abort_incomplete_uploads],
            removal_policy=removal_policy,
        )

    def _created_originals(
        self, abort_incomplete_uploads: s3.LifecycleRule, removal_policy: RemovalPolicy
    ) -> s3.Bucket:
        originals = _private_bucket(
            self,
            "Originals",
            key=self._key,
            versioned=True,  # two quick writes to one key stay two events, and an overwrite is recoverable
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="originals/",
            lifecycle_rules=[
                abort_incomplete_uploads,
                # Versioning keeps every overwritten or deleted image forever (and bills for it)
                # unless old versions expire; 30 days is the window to undo a mistake.
                s3.LifecycleRule(
                    id="ExpireNoncurrentVersions",
                    noncurrent_version_expiration=Duration.days(NONCURRENT_VERSION_EXPIRY_DAYS),
                    expired_object_delete_marker=True,
                ),
            ],
            removal_policy=removal_policy,
        )
        # The native CloudFormation property. `event_bridge_enabled=True` would instead deploy a
        # custom-resource Lambda that calls PutBucketNotificationConfiguration.
        originals_cfn = originals.node.default_child
        assert isinstance(originals_cfn, s3.CfnBucket)
        originals_cfn.add_property_override(
            "NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled",
            True,
        )
        return originals


def _private_bucket(scope: Construct, construct_id: str, *, key: kms.IKey | None = None, **props: Any) -> s3.Bucket:
    """A bucket no one reaches publicly or without TLS, encrypted with SSE-S3, or with `key` when given.

    Ownership is enforced (ACLs off): CDK grants the log delivery service through the bucket policy.
    """
    bucket = s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.S3_MANAGED if key is None else s3.BucketEncryption.KMS,
        encryption_key=key,
        bucket_key_enabled=True if key is not None else None,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        **props,
    )
    if key is not None:
        _deny_other_encryption(bucket, key)
    return bucket


def _deny_other_encryption(bucket: s3.Bucket, key: kms.IKey) -> None:
    """Every object is encrypted with `key`: an upload without encryption headers gets the bucket default (the
    key); one asking for SSE-S3, another KMS key or a key of its own (SSE-C) is refused. A key named by id or
    alias in the header is refused too: the condition compares the key's ARN."""
    objects = [bucket.arn_for_objects("*")]
    anyone = [iam.AnyPrincipal()]
    for sid, condition in (
        ("DenyOtherEncryption", {"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}}),
        (
            "DenyOtherKmsKeys",
            {"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption-aws-kms-key-id": key.key_arn}},
        ),
        ("DenyCustomerProvidedKeys", {"Null": {"s3:x-amz-server-side-encryption-customer-algorithm": "false"}}),
    ):
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid=sid,
                effect=iam.Effect.DENY,
                principals=anyone,
                actions=["s3:PutObject"],
                resources=objects,
                conditions=condition,
            )
        )
