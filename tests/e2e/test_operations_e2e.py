"""The `thumbnails` operator CLI against the stack deployed in moto: backfill --local, a preset change and
--mode stale, DLQ redrive after an injected fault, and the one-line errors. Its --json output is parsed.

Each test deploys its own moto account. moto executes no Distributed Map with an ItemBatcher, so backfills here
use --local, which sends the same messages (same builder) into the same backfill queue; the local poller then
plays both event source mappings.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws
from typer.testing import CliRunner

from local.moto_cloud import StackAssembly
from local.pipeline import LocalPipeline
from tests.assertions import assert_variants_match_manifest
from tests.builders import image_bytes, object_created_body
from tests.faults import inject_s3_fault
from thumbnailer.contract import CONFIG_VARIABLE
from thumbnailer.fingerprint import presets_fingerprint
from thumbnailer.imaging.presets import parse_presets

pytestmark = pytest.mark.slow

NO_CLIENT_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})
SMALL_IMAGE = image_bytes("JPEG", width=96, height=72)


def thumbnails(*args: str) -> tuple[int, dict[str, Any] | None, str]:
    """Run the CLI in-process (inside the caller's mock_aws); (exit code, parsed --json stdout, stderr)."""
    result = CliRunner().invoke(__import__("operations.cli", fromlist=["app"]).app, list(args))
    document = json.loads(result.stdout) if "--json" in args and result.exit_code == 0 else None
    return result.exit_code, document, result.stderr


def count_puts(pipeline: LocalPipeline) -> Counter[str]:
    """Every PutObject the function makes from now on, by key."""
    puts: Counter[str] = Counter()

    def record(params: dict[str, Any], **_: Any) -> None:
        puts[params["Key"]] += 1

    pipeline.function_s3.meta.events.register("provide-client-params.s3.PutObject", record)
    return puts


def test_a_preset_change_shows_stale_sets_and_backfill_stale_rerenders_them(pipeline_assembly: StackAssembly) -> None:
    with mock_aws():
        # GIVEN 20 originals with complete sets made with the default presets
        pipeline = LocalPipeline.deploy(pipeline_assembly, session=boto3.Session())
        keys = [f"p/{index:02d}.jpg" for index in range(20)]
        pipeline.seed_existing(dict.fromkeys(keys, SMALL_IMAGE))
        assert thumbnails("backfill", "--local", "--json")[0] == 0
        pipeline.run()

        # WHEN the deployed function's presets change: the last preset is dropped
        lambda_client = pipeline.session.client("lambda")
        environment = dict(pipeline.function.environment)
        config = json.loads(environment[CONFIG_VARIABLE])
        dropped = config["presets"].pop()
        environment[CONFIG_VARIABLE] = json.dumps(config)
        lambda_client.update_function_configuration(
            FunctionName=pipeline.function.name, Environment={"Variables": environment}
        )
        pipeline = LocalPipeline(session=pipeline.session, deployed=pipeline.deployed)  # runs the new configuration

        # THEN status reports every set stale
        code, stale, _ = thumbnails("status", "--json")
        assert code == 0
        assert stale is not None
        assert (stale["manifests"]["complete"], stale["manifests"]["stale"]) == (20, 20)
        assert stale["fingerprint"] == presets_fingerprint(parse_presets(config["presets"]))

        # WHEN backfill --mode stale runs
        code, sent, _ = thumbnails("backfill", "--local", "--mode", "stale", "--json")
        assert code == 0
        assert sent is not None
        report = pipeline.run()

        # THEN each set was re-rendered without the dropped preset, whose variants are gone, and nothing is stale
        assert (sent["sent"], report.succeeded) == (20, 20)
        dropped_suffix = f"/{dropped['name']}."
        for key in keys:
            manifest = assert_variants_match_manifest(pipeline.s3, bucket=pipeline.thumbnails_bucket, original_key=key)
            assert manifest["fingerprint"] == stale["fingerprint"]
            assert all(dropped_suffix not in output for output in pipeline.thumbnail_keys(key))
        code, after, _ = thumbnails("status", "--json")
        assert code == 0
        assert after is not None
        assert (after["manifests"]["complete"], after["manifests"]["stale"]) == (20, 0)


def test_a_dry_run_counts_and_prices_and_a_backfill_outlasting_the_queue_needs_yes(
    pipeline_assembly: StackAssembly,
) -> None:
    with mock_aws():
        # GIVEN 30 originals without thumbnails and an object the key filter does not accept
        pipeline = LocalPipeline.deploy(pipeline_assembly, session=boto3.Session())
        pipeline.seed_existing({**{f"d/{index:02d}.jpg": SMALL_IMAGE for index in range(30)}, "d/notes.txt": b"text"})

        # WHEN the operator asks for a dry run, of the state machine path and of the local one
        code, machine, _ = thumbnails("backfill", "--dry-run", "--json")
        local_code, local, _ = thumbnails("backfill", "--local", "--dry-run", "--json")
        # AND then for a backfill that, at an absurd time per image, would outlast the queue's retention
        slow_code, _, message = thumbnails("backfill", "--local", "--seconds-per-image", "100000", "--json")

        # THEN the dry runs count what each path sends and price it, and nothing was sent
        assert (code, local_code) == (0, 0)
        assert machine is not None
        assert local is not None
        assert (machine["objects"], machine["listed"], machine["accepted"]) == (31, 31, 30)
        assert local["objects"] == 30
        assert machine["estimatedCost"]["state_transitions_usd"] > 0
        assert local["estimatedCost"]["state_transitions_usd"] == 0
        assert local["estimatedDrainSeconds"] == 30 * 0.5 / 2  # at the backfill mapping's 2 instances
        assert local["queueRetentionSeconds"] == 7 * 24 * 3600
        assert pipeline.queue_messages("BackfillQueueUrl") == []
        # AND the slow one was refused until confirmed, saying why
        assert slow_code == 6
        assert "retention" in message
        assert pipeline.queue_messages("BackfillQueueUrl") == []


def test_dead_lettered_messages_complete_after_redrive(pipeline_assembly: StackAssembly) -> None:
    with mock_aws():
        # GIVEN two uploads whose thumbnail writes failed five times (an injected S3 fault), now in the ingest DLQ
        pipeline = LocalPipeline.deploy(
            pipeline_assembly, session=boto3.Session(), function_s3_config=NO_CLIENT_RETRIES
        )
        fault = inject_s3_fault(pipeline.function_s3, "PutObject", 503, "SlowDown", key_prefix="faulty/")
        keys = ["faulty/one.jpg", "faulty/two.jpg"]
        for key in keys:
            pipeline.upload(key, SMALL_IMAGE)
        pipeline.run()
        code, status, _ = thumbnails("status", "--json")
        assert code == 0
        assert status is not None
        assert status["queues"]["ingestDlq"]["visible"] == 2
        # AND an EventBridge delivery that never reached the ingest queue, kept in the events DLQ
        late = pipeline.s3.put_object(Bucket=pipeline.originals_bucket, Key="late.jpg", Body=SMALL_IMAGE)
        pipeline.run()  # its own event is processed; the copy in the events DLQ is what EventBridge gave up on
        events_dlq = pipeline.deployed.outputs["EventsDeadLetterQueueUrl"]
        pipeline.sqs.send_message(
            QueueUrl=events_dlq,
            MessageBody=object_created_body(
                bucket=pipeline.originals_bucket,
                key="late.jpg",
                etag=late["ETag"].strip('"'),
                size=None,
                version_id=late["VersionId"],
                shape="moto",
            ),
        )

        # WHEN the operator looks first, is asked to confirm, and then redrives every DLQ once the fault is fixed
        code, dry, _ = thumbnails("redrive", "--dry-run", "--json")
        assert code == 0
        assert dry is not None
        assert {name: queue["found"] for name, queue in dry["queues"].items()} == {
            "ingest": 2,
            "events": 1,
            "backfill": 0,
        }
        unconfirmed, _, message = thumbnails("redrive", "--json")
        fault.remove()
        code, moved, _ = thumbnails("redrive", "--yes", "--json")
        report = pipeline.run()

        # THEN without --yes nothing moved (exit 6); with it, all three were moved (copied: moto has no move task)
        assert unconfirmed == 6
        assert "--yes" in message
        assert code == 0
        assert moved is not None
        assert {name: (queue["moved"], queue["failed"]) for name, queue in moved["queues"].items()} == {
            "ingest": (2, 0),
            "events": (1, 0),
            "backfill": (0, 0),
        }
        assert moved["queues"]["ingest"]["method"] == "copy"
        # AND they completed, and the DLQs are empty
        assert report.failed == 0
        for key in keys:
            assert pipeline.manifest(key)["status"] == "complete"
        assert pipeline.queue_messages("IngestDeadLetterQueueUrl") == []
        assert pipeline.queue_messages("EventsDeadLetterQueueUrl") == []


def test_an_unknown_stack_is_one_line_and_exit_code_4() -> None:
    with mock_aws():
        code, _, message = thumbnails("status", "--stack", "NoSuchStack", "--json")
    assert code == 4
    assert message.strip().count("\n") == 0
    assert "NoSuchStack" in message


def test_no_credentials_is_one_line_and_exit_code_3(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    # GIVEN an environment with no credentials anywhere (and no instance metadata to ask)
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # WHEN any command runs
    code, _, message = thumbnails("redrive", "--dry-run", "--json")
    # THEN it says so in one line
    assert code == 3
    assert message.strip().count("\n") == 0
    assert "credentials" in message
