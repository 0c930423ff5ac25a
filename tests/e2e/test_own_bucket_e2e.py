"""Bring your own originals bucket, end to end: a bucket created outside the stack, its EventBridge notifications
switched on the README's non-destructive way, the stack deployed against it, uploads and deletions processed.

The bucket is left unversioned on purpose: versioning is recommended, not required.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import boto3
import pytest
from moto import mock_aws

from local.moto_cloud import synthesize
from local.pipeline import LocalPipeline
from local.samples import landscape_photo
from tests.e2e.test_pipeline_e2e import assert_clean_run

pytestmark = pytest.mark.slow

OWN_BUCKET = "team-photos-originals"


def enable_eventbridge_notifications(s3: Any, bucket: str) -> None:
    """The README's one-time step: read the bucket's notification configuration, add EventBridge, write it back
    (a plain put would replace every other notification the bucket has)."""
    configuration = s3.get_bucket_notification_configuration(Bucket=bucket)
    configuration.pop("ResponseMetadata", None)
    configuration["EventBridgeConfiguration"] = {}
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=configuration)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPipeline]:
    with mock_aws():
        session = boto3.Session()
        s3 = session.client("s3")
        sqs = session.client("sqs")
        # GIVEN a bucket that exists before the stack, with a notification of its own already configured
        s3.create_bucket(Bucket=OWN_BUCKET)
        audit_queue = sqs.create_queue(QueueName="existing-audit")["QueueUrl"]
        audit_arn = sqs.get_queue_attributes(QueueUrl=audit_queue, AttributeNames=["QueueArn"])["Attributes"]
        s3.put_bucket_notification_configuration(
            Bucket=OWN_BUCKET,
            NotificationConfiguration={
                "QueueConfigurations": [
                    {"Id": "audit", "QueueArn": audit_arn["QueueArn"], "Events": ["s3:ObjectCreated:*"]}
                ]
            },
        )
        enable_eventbridge_notifications(s3, OWN_BUCKET)
        # AND the stack synthesized and deployed against it
        assembly = synthesize(
            outdir=Path(tmp_path_factory.mktemp("own-bucket-cdk.out")),
            context={"thumbnailsOverrides": json.dumps({"originalsBucketName": OWN_BUCKET})},
        )
        yield LocalPipeline.deploy(assembly, session=session)


def test_switching_on_eventbridge_kept_the_buckets_other_notifications(pipeline: LocalPipeline) -> None:
    # (moto does not report EventBridgeConfiguration back; the uploads reaching the pipeline below show it is on.)
    configuration = pipeline.s3.get_bucket_notification_configuration(Bucket=OWN_BUCKET)

    assert [queue["Id"] for queue in configuration["QueueConfigurations"]] == ["audit"]


def test_the_stack_uses_the_bucket_and_does_not_create_or_change_it(pipeline: LocalPipeline) -> None:
    # THEN the stack reads the given bucket, created none of its own for originals, and left it unversioned
    assert pipeline.originals_bucket == OWN_BUCKET
    assert pipeline.function.environment["ORIGINALS_BUCKET"] == OWN_BUCKET
    assert not pipeline.deployed.resources_of_type("AWS::S3::Bucket").keys() & {"StorageOriginals"}
    assert "Status" not in pipeline.s3.get_bucket_versioning(Bucket=OWN_BUCKET)


def test_an_upload_to_the_own_bucket_gets_its_thumbnails(pipeline: LocalPipeline) -> None:
    # WHEN a photo is uploaded to the bucket made outside the stack, and the pipeline runs
    key = "holiday/beach.jpg"
    pipeline.upload(key, landscape_photo(width=800, height=600))
    report = pipeline.run()

    # THEN its set is complete, and names the own bucket as its source
    assert_clean_run(pipeline, report)
    assert report.records == 1
    manifest = pipeline.manifest(key)
    assert manifest["status"] == "complete"
    assert (manifest["source"]["bucket"], manifest["source"]["versionId"]) == (OWN_BUCKET, None)
    assert len(manifest["variants"]) == len(pipeline.thumbnail_keys(key)) - 1
    # AND the bucket's own notification still works next to EventBridge
    audit_url = pipeline.sqs.get_queue_url(QueueName="existing-audit")["QueueUrl"]
    notified = pipeline.sqs.receive_message(QueueUrl=audit_url, MaxNumberOfMessages=10).get("Messages", [])
    # (classic notifications URL-encode the key)
    keys = [
        unquote_plus(record["s3"]["object"]["key"])
        for message in notified
        for record in json.loads(message["Body"]).get("Records", [])
    ]
    assert key in keys


def test_deleting_from_the_unversioned_bucket_removes_the_thumbnails(pipeline: LocalPipeline) -> None:
    # GIVEN a processed upload in the unversioned bucket
    key = "holiday/sunset.jpg"
    pipeline.upload(key, landscape_photo(width=400, height=300))
    assert_clean_run(pipeline, pipeline.run())

    # WHEN it is deleted (no versions: the object is simply gone) and the pipeline runs
    pipeline.s3.delete_object(Bucket=OWN_BUCKET, Key=key)
    report = pipeline.run()

    # THEN the thumbnails are gone and a tombstone remains
    assert_clean_run(pipeline, report)
    assert report.records == 1
    assert pipeline.thumbnail_keys(key) == [f"{key}/manifest.json"]
    assert pipeline.manifest(key)["status"] == "deleted"
