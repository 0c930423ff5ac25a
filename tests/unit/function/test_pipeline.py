"""A batch as a pipeline: the same outcomes as one record after another, with S3 waits overlapped.

The overlaps are shown without timing: a test blocks one phase until the phase it should overlap with has
started (a render until the next record's GET, a variant PUT until its siblings'), so a pipeline that did
not overlap them would wait forever (a guard timeout fails the test instead). Failures are injected in each
kind of thread: only that record is retried, its neighbours complete, and nothing half-done looks done.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest
from aws_lambda_powertools import Metrics

from tests.assertions import assert_variants_match_manifest
from tests.builders import (
    ORIGINALS_BUCKET,
    THUMBNAILS_BUCKET,
    image_bytes,
    lambda_context,
    object_created_body,
    sqs_event,
    sqs_record,
)
from tests.faults import inject_s3_fault
from thumbnailer.contract import Settings
from thumbnailer.handler import handle_batch, s3_client_config
from thumbnailer.imaging.engine import Rendition, make_thumbnails
from thumbnailer.imaging.presets import Limits, Preset
from thumbnailer.pipeline import PIPELINED, SEQUENTIAL, Overlap, PooledFanout

from .conftest import JsonLog, S3Call
from .test_service import DEFAULT_VARIANTS, body_for, service_for, thumbnail_keys, upload

GUARD_SECONDS = 30  # only reached when the pipeline does not overlap what it should: nothing here waits on timing
OVERLAPS = [pytest.param(SEQUENTIAL, id="sequential"), pytest.param(PIPELINED, id="pipelined")]


@dataclass
class Batch:
    """Uploads of small real images, one record each, message id = the key's stem."""

    s3: Any
    records: list[dict[str, Any]] = field(default_factory=list)

    def image(self, key: str, colour: tuple[int, int, int] = (200, 30, 30), **event: Any) -> Batch:
        put = upload(self.s3, key, image_bytes("JPEG", width=320, height=240, colour=colour))
        return self.body(key.split(".")[0], body_for(key, put, **event))

    def body(self, message_id: str, body: str) -> Batch:
        self.records.append(sqs_record(body, message_id=message_id))
        return self

    def run(
        self,
        service: Any,
        log: JsonLog,
        metrics: Metrics,
        *,
        overlap: Overlap = PIPELINED,
        only: Sequence[str] | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        records = [record for record in self.records if only is None or record["messageId"] in only]
        options.setdefault("context", lambda_context())
        return handle_batch(
            sqs_event(*records),
            options.pop("context"),
            service,
            overlap=overlap,
            logger=log.logger,
            metrics=metrics,
            **options,
        )


def failures(response: dict[str, Any]) -> list[str]:
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def manifest_exists(s3: Any, key: str) -> bool:
    return f"{key}/manifest.json" in thumbnail_keys(s3)


def on_request(client: Any, operation: str, action: Callable[[dict[str, Any]], None]) -> None:
    """Call `action(params)` just before each `operation` request of `client` is sent, in the sending thread."""

    def hook(params: dict[str, Any], **_: Any) -> None:  # a value returned here would replace the parameters
        action(params)

    client.meta.events.register(f"provide-client-params.s3.{operation}", hook)


def wait_for(event: threading.Event, what: str) -> None:
    assert event.wait(GUARD_SECONDS), f"never happened: {what}"


# --- the same outcomes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("overlap", OVERLAPS)
def test_a_mixed_batch_ends_the_same_however_much_overlaps(
    s3: Any, settings: Settings, log: JsonLog, metrics: Metrics, overlap: Overlap
) -> None:
    # GIVEN images, a non-image, a key outside the filter, a malformed body, and a late event for an older upload
    batch = Batch(s3).image("a.jpg", sequencer="00A2").image("b.jpg").image("c.jpg")
    fake = upload(s3, "fake.jpg", b"%PDF-1.7 not an image")
    batch.body("fake", body_for("fake.jpg", fake)).body("notes", object_created_body(key="notes.txt"))
    batch.body("junk", "{not json")
    batch.body("late-a", body_for("a.jpg", {"ETag": '"older"'}, sequencer="00A1"))

    # WHEN the batch is handled
    response = batch.run(service_for(s3, settings), log, metrics, overlap=overlap)

    # THEN each record has the outcome it has alone, and every set is complete and consistent
    assert response == {"batchItemFailures": []}
    assert log.outcomes() == {
        "a": "completed",
        "b": "completed",
        "c": "completed",
        "fake": "rejected",
        "notes": "skipped",
        "junk": "rejected",
        "late-a": "skipped",
    }
    assert log.records()["late-a"]["reason"] == "superseded"
    for key in ("a.jpg", "b.jpg", "c.jpg", "fake.jpg"):
        assert_variants_match_manifest(s3, bucket=THUMBNAILS_BUCKET, original_key=key)
    assert all(isinstance(line["ms"], float) for line in log.records().values())


# --- failures stay with their record ----------------------------------------------------------------------


@pytest.mark.parametrize("failing", ["b.jpg/w512.jpg", "b.jpg/manifest.json"], ids=["a variant", "the manifest"])
def test_a_failed_write_retries_only_its_record_and_leaves_no_manifest(
    s3: Any, settings: Settings, log: JsonLog, metrics: Metrics, failing: str
) -> None:
    # GIVEN S3 answers every PUT of one output of the middle record with 503, while its other PUTs go through
    batch = Batch(s3).image("a.jpg").image("b.jpg").image("c.jpg")
    fault = inject_s3_fault(s3, "PutObject", 503, "SlowDown", key_suffix=failing)

    # WHEN the batch is handled with its writes running at once
    response = batch.run(service_for(s3, settings), log, metrics)

    # THEN only that record goes back to the queue, as transient, and it claims nothing: no manifest
    assert failures(response) == ["b"]
    assert (log.records()["b"]["outcome"], log.records()["b"]["reason"]) == ("transient", "SlowDown")
    assert not manifest_exists(s3, "b.jpg")
    assert failing not in thumbnail_keys(s3)
    # ... its neighbours are complete
    for key in ("a.jpg", "c.jpg"):
        assert_variants_match_manifest(s3, bucket=THUMBNAILS_BUCKET, original_key=key)

    # WHEN S3 recovers and SQS delivers the record again
    fault.remove()
    retry = batch.run(service_for(s3, settings), JsonLog(), metrics, only=["b"])

    # THEN the set completes over what the first attempt wrote
    assert retry == {"batchItemFailures": []}
    manifest = assert_variants_match_manifest(s3, bucket=THUMBNAILS_BUCKET, original_key="b.jpg")
    assert manifest["status"] == "complete"


class Bug(Exception):
    """Stands for a programming error: not a TransientError, not an S3 error."""


class EngineWithABug:
    """The real engine, except that it raises `Bug` for the bytes it is told to."""

    def __init__(self, fails_on: bytes) -> None:
        self.fails_on = fails_on

    def __call__(self, data: bytes, presets: Sequence[Preset], limits: Limits) -> Rendition:
        if data == self.fails_on:
            raise Bug("in the render")
        return make_thumbnails(data, presets, limits)


@pytest.mark.parametrize("where", ["fetch", "render", "write"])
def test_an_unexpected_exception_in_any_thread_is_reported_for_its_record(
    s3: Any, settings: Settings, log: JsonLog, metrics: Metrics, where: str
) -> None:
    # GIVEN a bug that strikes the middle record in its fetch (the fetch thread), its render (the calling
    # thread) or one of its variant PUTs (a write thread or the request pool)
    batch = Batch(s3).image("a.jpg").image("b.jpg", colour=(30, 200, 30)).image("c.jpg")
    engine: Any = make_thumbnails
    if where == "fetch":
        inject_s3_fault(s3, "GetObject", key_suffix="b.jpg", exception=Bug("in the fetch"))
    elif where == "render":
        engine = EngineWithABug(image_bytes("JPEG", width=320, height=240, colour=(30, 200, 30)))
    else:
        inject_s3_fault(s3, "PutObject", key_suffix="b.jpg/w256.jpg", exception=Bug("in the write"))

    # WHEN the batch is handled
    response = batch.run(service_for(s3, settings, engine), log, metrics)

    # THEN that record alone is retried, logged as an error with the traceback of its own thread
    assert failures(response) == ["b"]
    line = log.records()["b"]
    assert (line["level"], line["outcome"], line["reason"]) == ("ERROR", "error", "Bug")
    assert f"Bug: in the {where}" in line["exception"]
    assert not manifest_exists(s3, "b.jpg")
    # ... and its neighbours complete
    assert (log.outcomes()["a"], log.outcomes()["c"]) == ("completed", "completed")
    for key in ("a.jpg", "c.jpg"):
        assert_variants_match_manifest(s3, bucket=THUMBNAILS_BUCKET, original_key=key)


def test_a_record_stuck_in_its_writes_does_not_hold_up_its_neighbours(
    s3: Any, settings: Settings, log: JsonLog, metrics: Metrics, s3_calls: list[S3Call]
) -> None:
    # GIVEN the first record's first variant PUT hangs until the last record's manifest is being written
    batch = Batch(s3).image("a.jpg").image("b.jpg").image("c.jpg")
    last_manifest = threading.Event()

    def hang_or_release(params: dict[str, Any]) -> None:
        if params["Key"] == "c.jpg/manifest.json":
            last_manifest.set()
        if params["Key"] == "a.jpg/square-128.jpg":
            wait_for(last_manifest, "the last record's manifest write, while the first one's writes hang")

    on_request(s3, "PutObject", hang_or_release)

    # WHEN the batch is handled
    response = batch.run(service_for(s3, settings), log, metrics)

    # THEN the others went on and finished first; then the first one finished too
    assert response == {"batchItemFailures": []}
    manifests = [call.key for call in s3_calls if call.operation == "PutObject" and call.key.endswith("manifest.json")]
    assert manifests.index("c.jpg/manifest.json") < manifests.index("a.jpg/manifest.json")
    for key in ("a.jpg", "b.jpg", "c.jpg"):
        assert_variants_match_manifest(s3, bucket=THUMBNAILS_BUCKET, original_key=key)


# --- what overlaps, and what never does --------------------------------------------------------------------


class RenderWatcher:
    """The real engine, recording at each render how many source GETs had been sent; render `n` (from 0) waits
    until the GET of record `n + 1` has been sent and, from the second render on, until record `n - 1`'s manifest
    PUT has: neither can happen during the render unless fetching and writing overlap it."""

    def __init__(self, s3: Any, keys: Sequence[str]) -> None:
        self.keys = list(keys)
        self.gets_sent: list[str] = []
        self.gets_at_render: list[int] = []
        self.fetching = {key: threading.Event() for key in self.keys}
        self.manifest_writing = {key: threading.Event() for key in self.keys}
        on_request(s3, "GetObject", self._get)
        on_request(s3, "PutObject", self._put)

    def _get(self, params: dict[str, Any]) -> None:
        if params["Bucket"] == ORIGINALS_BUCKET:
            self.gets_sent.append(params["Key"])
            self.fetching[params["Key"]].set()

    def _put(self, params: dict[str, Any]) -> None:
        key = params["Key"].removesuffix("/manifest.json")
        if key in self.manifest_writing:
            self.manifest_writing[key].set()

    def __call__(self, data: bytes, presets: Sequence[Preset], limits: Limits) -> Rendition:
        n = len(self.gets_at_render)
        self.gets_at_render.append(len(self.gets_sent))
        if n + 1 < len(self.keys):
            wait_for(self.fetching[self.keys[n + 1]], f"the GET of {self.keys[n + 1]} during the render of {n}")
        if n >= 1:
            wait_for(self.manifest_writing[self.keys[n - 1]], f"the manifest PUT of {n - 1} during the render of {n}")
        return make_thumbnails(data, presets, limits)


def test_the_next_source_is_fetched_and_the_previous_set_written_while_a_record_renders(
    s3: Any, settings: Settings, log: JsonLog, metrics: Metrics
) -> None:
    # GIVEN a batch of four uploads, and an engine that waits for the overlaps it expects
    keys = ["a.jpg", "b.jpg", "c.jpg", "d.jpg"]
    batch = Batch(s3)
    for key in keys:
        batch.image(key)
    engine = RenderWatcher(s3, keys)

    # WHEN the batch is handled
    response = batch.run(service_for(s3, settings, engine), log, metrics)

    # THEN every record completed, and no render ever had more than one source fetched ahead of it
    assert response == {"batchItemFailures": []}
    assert set(log.outcomes().values()) == {"completed"}
    assert len(engine.gets_at_render) == len(keys)
    assert all(sent <= n + 2 for n, sent in enumerate(engine.gets_at_render)), engine.gets_at_render


def test_a_records_variant_puts_are_all_in_flight_at_once(
    s3: Any, settings: Settings, log: JsonLog, metrics: Metrics
) -> None:
    # GIVEN every variant PUT of the upload waits until all of them have been sent
    batch = Batch(s3).image("a.jpg")
    all_sent = threading.Barrier(len(DEFAULT_VARIANTS), timeout=GUARD_SECONDS)
    on_request(s3, "PutObject", lambda params: None if params["Key"].endswith("manifest.json") else all_sent.wait())

    # WHEN its record is handled
    response = batch.run(service_for(s3, settings), log, metrics)

    # THEN the set is complete (a PUT sent alone would have broken the barrier)
    assert response == {"batchItemFailures": []}
    assert not all_sent.broken
    assert_variants_match_manifest(s3, bucket=THUMBNAILS_BUCKET, original_key="a.jpg")


@pytest.mark.parametrize("order", [("older", "newer"), ("newer", "older")], ids=["older first", "newer first"])
def test_two_events_of_one_key_in_a_batch_never_overlap(
    s3: Any, settings: Settings, log: JsonLog, metrics: Metrics, s3_calls: list[S3Call], order: tuple[str, str]
) -> None:
    # GIVEN two uploads of one key (versioned), both in the batch, with another upload between them
    s3.put_bucket_versioning(Bucket=ORIGINALS_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    older = upload(s3, "k.jpg", image_bytes("JPEG", width=320, height=240, colour=(200, 30, 30)))
    newer = upload(s3, "k.jpg", image_bytes("JPEG", width=320, height=240, colour=(30, 30, 200)))
    events = {
        "older": body_for("k.jpg", older, sequencer="00B1"),
        "newer": body_for("k.jpg", newer, sequencer="00B2"),
    }
    batch = Batch(s3).body(order[0], events[order[0]]).image("other.jpg").body(order[1], events[order[1]])

    # WHEN the batch is handled with the pipeline
    response = batch.run(service_for(s3, settings), log, metrics)

    # THEN the second event of the key sent its first request (the source GET) only after the first event's
    # last one (its manifest PUT, strictly last)
    assert response == {"batchItemFailures": []}
    of_key = [(call.operation, call.key) for call in s3_calls if call.key.startswith("k.jpg")]
    source_gets = [index for index, call in enumerate(of_key) if call == ("GetObject", "k.jpg")]
    assert len(source_gets) == 2
    assert of_key.index(("PutObject", "k.jpg/manifest.json")) < source_gets[1]
    # ... and the newer upload owns the key, whichever event came first
    manifest = assert_variants_match_manifest(s3, bucket=THUMBNAILS_BUCKET, original_key="k.jpg")
    assert manifest["source"]["versionId"] == newer["VersionId"]
    older_outcome = "completed" if order[0] == "older" else "skipped"
    assert log.outcomes() == {"newer": "completed", "other": "completed", "older": older_outcome}


def test_records_not_started_in_time_are_retried_and_the_started_ones_finish(
    s3: Any, settings: Settings, log: JsonLog, metrics: Metrics
) -> None:
    # GIVEN an invocation that has time to start the first record only
    batch = Batch(s3).image("a.jpg").image("b.jpg").image("c.jpg")
    remaining = iter([60_000])

    class RunningOut:
        def get_remaining_time_in_millis(self) -> int:
            return next(remaining, 1_000)

    # WHEN the batch is handled, keeping 5 s in reserve
    response = batch.run(service_for(s3, settings), log, metrics, context=RunningOut(), reserve_seconds=5.0)

    # THEN the first record completes, and the two not started go back to the queue, logged once
    assert failures(response) == ["b", "c"]
    assert log.outcomes() == {"a": "completed"}
    assert [line["notStarted"] for line in log.lines() if "notStarted" in line] == [["b", "c"]]
    assert not manifest_exists(s3, "b.jpg")


# --- the S3 client -----------------------------------------------------------------------------------------


def test_the_client_pool_holds_every_request_the_pipeline_can_have_in_flight(
    s3: Any, settings: Settings, log: JsonLog, metrics: Metrics
) -> None:
    # GIVEN the function's client configuration, and a count of the requests in flight during a batch
    pool = s3_client_config(settings).max_pool_connections
    in_flight, most = [0], [0]
    lock = threading.Lock()

    def sent(**_: Any) -> None:
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])

    def answered(**_: Any) -> None:
        with lock:
            in_flight[0] -= 1

    s3.meta.events.register("before-call.s3", sent)
    s3.meta.events.register("after-call.s3", answered)
    batch = Batch(s3)
    for key in ("a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg"):
        batch.image(key)

    # WHEN a batch is handled
    batch.run(service_for(s3, settings), log, metrics)

    # THEN the pool was never short of a connection
    assert pool == PIPELINED.connections(len(settings.config.presets))
    assert 2 <= most[0] <= pool


def test_the_concurrent_fanout_waits_for_every_task_and_raises_the_first_failure() -> None:
    # GIVEN tasks where the second and third fail, and the fourth is slow to finish
    finished: list[str] = []
    release = threading.Event()

    def fails(name: str) -> Callable[[], str]:
        def task() -> str:
            finished.append(name)
            raise Bug(name)

        return task

    def slow() -> str:
        wait_for(release, "the release")
        finished.append("slow")
        return "slow"

    with ThreadPoolExecutor(max_workers=4) as pool:
        fanout = PooledFanout(pool)

        def first() -> str:
            release.set()
            return "first"

        # WHEN they run through the fanout
        with pytest.raises(Bug) as raised:
            fanout([first, fails("second"), fails("third"), slow])

    # THEN it raised the first failure in task order, once every task had finished
    assert str(raised.value) == "second"
    assert sorted(finished) == ["second", "slow", "third"]
