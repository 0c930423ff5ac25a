"""Buckets: private, encrypted, TLS-only, logged; originals versioned and wired to EventBridge natively."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match

from .conftest import Synthesized

BLOCK_ALL = {
    "BlockPublicAcls": True,
    "BlockPublicPolicy": True,
    "IgnorePublicAcls": True,
    "RestrictPublicBuckets": True,
}
SSE_S3 = {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
ABORT_UPLOADS_AFTER_7_DAYS = {
    "Id": "AbortIncompleteMultipartUploads",
    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
    "Status": "Enabled",
}


def access_log_bucket(stack: Synthesized) -> str:
    """The bucket the originals log into."""
    originals = stack.properties(stack.output_target("OriginalsBucketName"))
    return originals["LoggingConfiguration"]["DestinationBucketName"]["Ref"]


def all_buckets(stack: Synthesized) -> list[str]:
    return [key for key, value in stack.resources.items() if value["Type"] == "AWS::S3::Bucket"]


def test_there_are_exactly_three_buckets(default_stack: Synthesized) -> None:
    # THEN originals, thumbnails and access logs are distinct buckets and there is no other
    originals = default_stack.output_target("OriginalsBucketName")
    thumbnails = default_stack.output_target("ThumbnailsBucketName")
    assert sorted(all_buckets(default_stack)) == sorted({originals, thumbnails, access_log_bucket(default_stack)})


def test_originals_bucket_is_versioned_private_encrypted_and_logged(default_stack: Synthesized) -> None:
    originals = default_stack.output_target("OriginalsBucketName")

    matching = default_stack.template.find_resources(
        "AWS::S3::Bucket",
        {
            "Properties": Match.object_like(
                {
                    "VersioningConfiguration": {"Status": "Enabled"},
                    "PublicAccessBlockConfiguration": BLOCK_ALL,
                    "BucketEncryption": SSE_S3,
                    "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                    "LoggingConfiguration": {
                        "DestinationBucketName": {"Ref": access_log_bucket(default_stack)},
                        "LogFilePrefix": "originals/",
                    },
                }
            )
        },
    )

    assert originals in matching


def test_originals_lifecycle_aborts_uploads_and_expires_old_versions(default_stack: Synthesized) -> None:
    rules = default_stack.properties(default_stack.output_target("OriginalsBucketName"))["LifecycleConfiguration"]

    assert rules == {
        "Rules": [
            ABORT_UPLOADS_AFTER_7_DAYS,
            {
                "Id": "ExpireNoncurrentVersions",
                "ExpiredObjectDeleteMarker": True,
                "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                "Status": "Enabled",
            },
        ]
    }


def test_originals_send_events_through_the_native_eventbridge_property(default_stack: Synthesized) -> None:
    originals = default_stack.properties(default_stack.output_target("OriginalsBucketName"))

    # THEN the bucket itself enables EventBridge ...
    assert originals["NotificationConfiguration"] == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    # ... and no custom resource (nor its Lambda) does it instead
    default_stack.template.resource_count_is("Custom::S3BucketNotifications", 0)
    default_stack.template.resource_count_is("AWS::Lambda::Function", 1)


def test_thumbnails_bucket_is_separate_private_encrypted_logged_and_silent(default_stack: Synthesized) -> None:
    thumbnails = default_stack.properties(default_stack.output_target("ThumbnailsBucketName"))

    assert thumbnails["PublicAccessBlockConfiguration"] == BLOCK_ALL
    assert thumbnails["BucketEncryption"] == SSE_S3
    assert thumbnails["LoggingConfiguration"] == {
        "DestinationBucketName": {"Ref": access_log_bucket(default_stack)},
        "LogFilePrefix": "thumbnails/",
    }
    assert thumbnails["LifecycleConfiguration"]["Rules"] == [ABORT_UPLOADS_AFTER_7_DAYS]
    # Writing a thumbnail must never announce anything: the pipeline could trigger itself.
    assert "NotificationConfiguration" not in thumbnails


def test_access_log_bucket_is_private_sse_s3_and_expires_logs(default_stack: Synthesized) -> None:
    logs_bucket = default_stack.properties(access_log_bucket(default_stack))

    assert logs_bucket["PublicAccessBlockConfiguration"] == BLOCK_ALL
    assert logs_bucket["BucketEncryption"] == SSE_S3  # the only encryption S3 log delivery supports
    assert logs_bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert {"Id": "ExpireAccessLogs", "ExpirationInDays": 90, "Status": "Enabled"} in logs_bucket[
        "LifecycleConfiguration"
    ]["Rules"]
    # S3's log delivery is allowed in through the bucket policy (ACLs are off).
    default_stack.template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": access_log_bucket(default_stack)},
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "logging.s3.amazonaws.com"},
                                "Action": "s3:PutObject",
                            }
                        )
                    ]
                )
            },
        },
    )


def test_every_bucket_refuses_requests_without_tls(default_stack: Synthesized) -> None:
    for bucket in all_buckets(default_stack):
        default_stack.template.has_resource_properties(
            "AWS::S3::BucketPolicy",
            {
                "Bucket": {"Ref": bucket},
                "PolicyDocument": {
                    "Statement": Match.array_with(
                        [
                            Match.object_like(
                                {
                                    "Effect": "Deny",
                                    "Action": "s3:*",
                                    "Principal": {"AWS": "*"},
                                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                                }
                            )
                        ]
                    )
                },
            },
        )


@pytest.mark.parametrize(("stack_fixture", "policy"), [("default_stack", "Retain"), ("overridden_stack", "Delete")])
def test_buckets_are_retained_unless_disposable(
    stack_fixture: str, policy: str, request: pytest.FixtureRequest
) -> None:
    # GIVEN the default config (disposable: false) or the overridden one (disposable: true)
    stack: Synthesized = request.getfixturevalue(stack_fixture)

    # THEN every bucket carries the matching deletion policy
    for bucket in all_buckets(stack):
        assert stack.resources[bucket]["DeletionPolicy"] == policy
        assert stack.resources[bucket]["UpdateReplacePolicy"] == policy
    # and there is never an auto-delete custom resource that could wipe images
    assert not [value for value in stack.resources.values() if value["Type"].startswith("Custom::")]
