"""`encryption: "kms"` end to end: the stack deployed into moto with its customer managed key, uploads and deletions
processed, and what moto reports about the key on every deployed resource and stored object.

What moto (5.2) models, and so is verified here against the deployment:
- the key itself: `AWS::KMS::Key` creates one key in moto's KMS (the only one: the alarm topic's own key is not
  created), with `EnableKeyRotation` stored (`get_key_rotation_status`);
- every queue's `KmsMasterKeyId`, the alarm topic's `KmsMasterKeyId`, and both buckets' default encryption
  (`aws:kms` with the key);
- objects: moto's `put_object` applies the bucket's default encryption to a PUT that sends no encryption header
  (moto/s3/models.py, `S3Backend.put_object`), which is what the function and the uploads here send, so every
  original, thumbnail and manifest reports `aws:kms` with the key.

What moto drops or cannot do, and so is verified only on the template (tests/infra/test_encryption.py):
- the buckets' `BucketKeyEnabled`: moto's `cfn_to_api_encryption` (moto/s3/cloud_formation.py) keeps only the
  algorithm and key id, so moto reports `BucketKeyEnabled: False` for the buckets and for every object in them;
- the function's `KmsKeyArn`: moto's `LambdaFunction.create_from_cloudformation_json` does not pass it on, so
  `get_function_configuration` has no `KMSKeyArn`;
- the log groups' `KmsKeyId`: moto's `AWS::Logs::LogGroup` passes the CloudFormation properties on as they are
  and its `LogGroup` reads the API's `kmsKeyId`, so `describe_log_groups` reports no key;
- the key policy: moto's `AWS::KMS::Key` stores the template's `KeyPolicy` object as it is, where its KMS expects a
  JSON string, so `describe_key` and `get_key_policy` fail with a TypeError for this key (not called here);
- bucket, queue and topic policies (moto does not model them in CloudFormation), hence the bucket policy that
  refuses other encryption, and every key policy and IAM decision: moto uses no key for anything, never checks
  that a key exists, is enabled or allows the caller, and stores ciphertext nowhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.moto_cloud import synthesize
from local.pipeline import LocalPipeline
from local.samples import landscape_photo
from tests.e2e.test_pipeline_e2e import assert_clean_run, delete_every_version

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPipeline]:
    with mock_aws():
        # GIVEN the stack synthesized with its own customer managed key, and deployed into moto
        assembly = synthesize(
            outdir=Path(tmp_path_factory.mktemp("kms-cdk.out")),
            context={"thumbnailsOverrides": json.dumps({"encryption": "kms"})},
        )
        yield LocalPipeline.deploy(assembly, session=boto3.Session())


@pytest.fixture(scope="module")
def key_arn(pipeline: LocalPipeline) -> str:
    """The pipeline's key, as the stack output names it."""
    return pipeline.deployed.outputs["EncryptionKeyArn"]


def key_id(reference: str | None) -> str | None:
    """A key's id from its ARN or id (moto may report either), to compare keys however they are named."""
    return reference.rsplit(":key/", 1)[-1] if reference is not None else None


def object_encryption(pipeline: LocalPipeline, *, bucket: str, key: str) -> tuple[str | None, str | None]:
    """How S3 says an object is encrypted: (algorithm, key id)."""
    head = pipeline.s3.head_object(Bucket=bucket, Key=key)
    return head.get("ServerSideEncryption"), key_id(head.get("SSEKMSKeyId"))


def test_the_deployed_key_is_the_only_one_and_rotates(pipeline: LocalPipeline, key_arn: str) -> None:
    # GIVEN the key the template created
    logical_id, _ = pipeline.deployed.only_resource_of_type("AWS::KMS::Key")
    physical_id = pipeline.deployed.physical_ids[logical_id]

    # WHEN asking moto's KMS for its keys
    kms = pipeline.session.client("kms")
    keys = kms.list_keys()["Keys"]

    # THEN there is exactly that one (the output names it), and its rotation is on
    assert [(entry["KeyId"], entry["KeyArn"]) for entry in keys] == [(physical_id, key_arn)]
    assert kms.get_key_rotation_status(KeyId=physical_id)["KeyRotationEnabled"] is True


def test_every_queue_and_the_alarm_topic_use_the_key(pipeline: LocalPipeline, key_arn: str) -> None:
    # GIVEN every queue and topic moto deployed
    queues = pipeline.deployed.resources_of_type("AWS::SQS::Queue")
    topics = pipeline.deployed.resources_of_type("AWS::SNS::Topic")
    assert (len(queues), len(topics)) == (5, 1)

    # WHEN reading back their attributes
    queue_keys = {
        logical_id: pipeline.sqs.get_queue_attributes(
            QueueUrl=pipeline.deployed.physical_ids[logical_id], AttributeNames=["KmsMasterKeyId"]
        )["Attributes"].get("KmsMasterKeyId")
        for logical_id in queues
    }
    sns = pipeline.session.client("sns")
    topic_keys = {
        logical_id: sns.get_topic_attributes(TopicArn=pipeline.deployed.physical_ids[logical_id])["Attributes"].get(
            "KmsMasterKeyId"
        )
        for logical_id in topics
    }

    # THEN each one names the pipeline's key
    assert {name: key_id(key) for name, key in {**queue_keys, **topic_keys}.items()} == dict.fromkeys(
        [*queues, *topics], key_id(key_arn)
    )


def test_both_buckets_encrypt_with_the_key_by_default(pipeline: LocalPipeline, key_arn: str) -> None:
    # WHEN reading back the default encryption of the originals and thumbnails buckets
    defaults = {
        bucket: [
            rule["ApplyServerSideEncryptionByDefault"]
            for rule in pipeline.s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        ]
        for bucket in (pipeline.originals_bucket, pipeline.thumbnails_bucket)
    }

    # THEN each has one rule: SSE-KMS with the pipeline's key
    # (not BucketKeyEnabled: moto drops it from the template and reports False; see the module docstring)
    assert {
        bucket: [(rule["SSEAlgorithm"], key_id(rule.get("KMSMasterKeyID"))) for rule in rules]
        for bucket, rules in defaults.items()
    } == {bucket: [("aws:kms", key_id(key_arn))] for bucket in defaults}


def test_an_upload_gets_its_thumbnails_all_stored_with_the_key(pipeline: LocalPipeline, key_arn: str) -> None:
    # GIVEN a photo uploaded to the originals bucket without asking for any encryption
    key = "kms/landscape.jpg"
    pipeline.upload(key, landscape_photo(width=800, height=600))

    # WHEN the pipeline runs (the event through the encrypted ingest queue, the function writing thumbnails)
    report = pipeline.run()

    # THEN the run is clean (both dead-letter queues empty) and the set is complete
    assert_clean_run(pipeline, report)
    assert report.records == 1
    manifest = pipeline.manifest(key)
    assert manifest is not None
    assert manifest["status"] == "complete"
    written = pipeline.thumbnail_keys(key)
    assert sorted(written) == sorted([f"{key}/manifest.json", *(variant["key"] for variant in manifest["variants"])])
    # AND the original, every thumbnail and the manifest are encrypted with the pipeline's key
    stored = {
        (pipeline.originals_bucket, key): object_encryption(pipeline, bucket=pipeline.originals_bucket, key=key),
        **{
            (pipeline.thumbnails_bucket, thumbnail): object_encryption(
                pipeline, bucket=pipeline.thumbnails_bucket, key=thumbnail
            )
            for thumbnail in written
        },
    }
    assert stored == dict.fromkeys(stored, ("aws:kms", key_id(key_arn)))


def test_deleting_from_the_versioned_bucket_removes_the_thumbnails(pipeline: LocalPipeline, key_arn: str) -> None:
    # GIVEN a processed upload in the originals bucket the stack created, which is versioned
    key = "kms/sunset.jpg"
    assert pipeline.s3.get_bucket_versioning(Bucket=pipeline.originals_bucket)["Status"] == "Enabled"
    pipeline.upload(key, landscape_photo(width=400, height=300))
    assert_clean_run(pipeline, pipeline.run())
    assert pipeline.manifest(key)["status"] == "complete"

    # WHEN the original is deleted for good (every version) and the pipeline runs
    assert delete_every_version(pipeline, key) == 1
    report = pipeline.run()

    # THEN the run is clean (both dead-letter queues empty), the thumbnails are gone and a tombstone remains
    assert_clean_run(pipeline, report)
    assert report.records == 1
    assert pipeline.thumbnail_keys(key) == [f"{key}/manifest.json"]
    tombstone: dict[str, Any] | None = pipeline.manifest(key)
    assert tombstone is not None
    assert (tombstone["status"], tombstone["variants"]) == ("deleted", [])
    # AND the rewritten tombstone is encrypted with the pipeline's key too
    assert object_encryption(pipeline, bucket=pipeline.thumbnails_bucket, key=f"{key}/manifest.json") == (
        "aws:kms",
        key_id(key_arn),
    )
