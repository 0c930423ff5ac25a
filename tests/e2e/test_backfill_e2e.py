"""`thumbnails backfill --local` of 500 originals that predate the pipeline, in moto: each rendered exactly once.

A module of its own so that pytest-xdist (--dist loadfile) runs it beside the other e2e modules.
"""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from local.moto_cloud import StackAssembly
from local.pipeline import LocalPipeline
from tests.assertions import assert_variants_match_manifest

from .test_operations_e2e import SMALL_IMAGE, count_puts, thumbnails

pytestmark = pytest.mark.slow


def test_backfill_local_renders_500_existing_originals_exactly_once(pipeline_assembly: StackAssembly) -> None:
    with mock_aws():
        # GIVEN 500 originals that were in the bucket before the pipeline (no events were sent for them)
        pipeline = LocalPipeline.deploy(pipeline_assembly, session=boto3.Session())
        keys = [f"archive/{index:04d}.jpg" for index in range(500)]
        pipeline.seed_existing(dict.fromkeys(keys, SMALL_IMAGE))
        puts = count_puts(pipeline)
        code, before, _ = thumbnails("status", "--json")
        assert code == 0
        assert before is not None
        assert (before["originals"]["total"], before["originals"]["missing"]) == (500, 500)

        # WHEN they are backfilled from this machine and the function drains the backfill queue
        code, sent, _ = thumbnails("backfill", "--local", "--json")
        assert code == 0
        assert sent is not None
        report = pipeline.run(deadline_seconds=600)

        # THEN 500 messages were sent and 500 records processed, each key ending complete, each output written once
        assert (sent["sent"], sent["failed"], sent["mode"]) == (500, 0, "missing")
        assert (report.records, report.succeeded, report.failed) == (500, 500, 0)
        for key in keys[::50]:
            assert (
                assert_variants_match_manifest(pipeline.s3, bucket=pipeline.thumbnails_bucket, original_key=key)[
                    "status"
                ]
                == "complete"
            )
        manifests = {key: count for key, count in puts.items() if key.endswith("/manifest.json")}
        assert len(manifests) == 500
        assert set(puts.values()) == {1}
        assert len(puts) == 500 * 5  # four variants and a manifest each
        print(f"\nbackfill --local enqueued {sent['sent']} objects at {sent['perSecond']} objects/s")

        # AND a second backfill (of a tenth of them, to keep the test short) finds them done: nothing is written again
        code, again, _ = thumbnails("backfill", "--local", "--prefix", "archive/00", "--json")
        assert code == 0
        assert again is not None
        rerun = pipeline.run(deadline_seconds=600)
        assert (again["sent"], rerun.records, rerun.succeeded) == (100, 100, 100)
        assert set(puts.values()) == {1}

        # AND status agrees: every original complete, none missing or stale, every queue empty
        code, after, _ = thumbnails("status", "--json")
        assert code == 0
        assert after is not None
        assert after["manifests"]["complete"] == 500
        assert (after["manifests"]["stale"], after["originals"]["missing"]) == (0, 0)
        assert {name: queue["visible"] for name, queue in after["queues"].items()} == dict.fromkeys(
            ("ingest", "backfill", "ingestDlq", "eventsDlq", "backfillDlq"), 0
        )
