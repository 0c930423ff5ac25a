"""A record that keeps failing ends in the ingest DLQ, intact, while the rest of its batch succeeds.

Its own deployment (a fresh moto account): the test asserts on the DLQ's exact contents.
"""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

from local.moto_cloud import StackAssembly
from local.pipeline import LocalPipeline
from local.samples import landscape_photo
from tests.faults import inject_s3_fault

pytestmark = pytest.mark.slow

# botocore's retries sleep between attempts; the point here is SQS's redrive, not botocore's backoff.
NO_CLIENT_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})


def test_a_persistently_failing_write_is_dead_lettered_after_five_receives(pipeline_assembly: StackAssembly) -> None:
    with mock_aws():
        # GIVEN a batch of three uploads, where S3 answers every thumbnail write for one of them with 503
        pipeline = LocalPipeline.deploy(
            pipeline_assembly, session=boto3.Session(), function_s3_config=NO_CLIENT_RETRIES
        )
        poisoned = "batch/poisoned.jpg"
        healthy = ["batch/first.jpg", "batch/second.jpg"]
        slow_down = inject_s3_fault(pipeline.function_s3, "PutObject", 503, "SlowDown", key_prefix=f"{poisoned}/")
        uploaded = {key: pipeline.upload(key, landscape_photo(width=320, height=240)) for key in [poisoned, *healthy]}

        # WHEN the queue is drained
        report = pipeline.run()

        # THEN the healthy uploads completed in the first batch, which held all three records
        for key in healthy:
            assert pipeline.manifest(key)["status"] == "complete"
        assert report.succeeded == len(healthy)
        # AND the poisoned record was delivered five times (each time hitting the 503), then moved to the DLQ
        assert (report.invocations, report.records, report.failed) == (5, 3 + 4, 5)
        assert len(slow_down.answered) >= report.failed
        assert pipeline.manifest(poisoned) is None
        dead_letters = pipeline.queue_messages("IngestDeadLetterQueueUrl")
        assert len(dead_letters) == 1
        event = json.loads(dead_letters[0]["Body"])
        assert event["detail"]["bucket"]["name"] == pipeline.originals_bucket
        assert event["detail"]["object"]["key"] == poisoned
        assert event["detail"]["object"]["eTag"] == uploaded[poisoned]["ETag"].strip('"')
        assert event["detail"]["object"]["version-id"] == uploaded[poisoned]["VersionId"]
        assert pipeline.queue_messages("IngestQueueUrl") == []
