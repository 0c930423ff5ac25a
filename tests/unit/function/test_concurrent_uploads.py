"""Two uploads of one key processed at the same time: whatever the interleaving, the newer upload's pixels win.

Each test is a deterministic interleaving, not a race left to the scheduler: one upload's processing runs in a
thread and blocks at a chosen point (during its render, before one of its writes) while the other upload's
processing runs to completion in the test's thread; then the first one is released and finishes.
Below them: a lost conditional write, endless contention, duplicates, events without usable sequencers, a
failed write, and what the conditional writes cost in S3 requests.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest
from PIL import Image, ImageStat

from tests.assertions import assert_variants_match_manifest
from tests.builders import ORIGINALS_BUCKET, THUMBNAILS_BUCKET, image_bytes
from tests.faults import inject_s3_fault
from thumbnailer.contract import Settings
from thumbnailer.imaging.engine import Rendition, make_thumbnails
from thumbnailer.imaging.presets import Limits, Preset
from thumbnailer.outcomes import Completed, Skipped, TransientError
from thumbnailer.pipeline import PooledFanout
from thumbnailer.storage import VARIANT_WRITE_ATTEMPTS

from .conftest import SESSION, TEST_CLIENT_CONFIG, FakeEngine, S3Call
from .test_service import DEFAULT_VARIANTS, body_for, manifest_of, service_for, thumbnail_keys, upload

KEY = "a.jpg"
VARIANTS = [f"{KEY}/{name}" for name in DEFAULT_VARIANTS]
MANIFEST = f"{KEY}/manifest.json"
OLDER_SEQUENCER, NEWER_SEQUENCER = "0055AED6DCD90281E5", "0055AED6DCD90281F0"
RED, BLUE = (200, 30, 30), (30, 30, 200)
DEADLOCK_GUARD_SECONDS = 60  # only ever reached when a test is broken: nothing here waits on timing


@dataclass
class Pause:
    """A point the paused thread blocks at, once, until the test releases it."""

    reached: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def block(self) -> None:
        if self.reached.is_set():
            return
        self.reached.set()
        assert self.released.wait(DEADLOCK_GUARD_SECONDS), "the test never released the paused upload"


@dataclass
class PausingEngine:
    """The real engine, blocking at `pause` once it has rendered."""

    pause: Pause

    def __call__(self, data: bytes, presets: tuple[Preset, ...], limits: Limits) -> Rendition:
        rendition = make_thumbnails(data, presets, limits)
        self.pause.block()
        return rendition


@dataclass
class Uploads:
    """The same key uploaded twice to a versioned bucket: first red, then blue."""

    older: dict[str, Any]
    newer: dict[str, Any]

    def body(self, which: str) -> str:
        put, sequencer = (self.older, OLDER_SEQUENCER) if which == "older" else (self.newer, NEWER_SEQUENCER)
        return body_for(KEY, put, sequencer=sequencer)


@pytest.fixture
def uploads(s3: Any) -> Uploads:
    s3.put_bucket_versioning(Bucket=ORIGINALS_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    older = upload(s3, KEY, image_bytes("PNG", width=400, height=300, colour=RED))
    newer = upload(s3, KEY, image_bytes("PNG", width=400, height=300, colour=BLUE))
    return Uploads(older=older, newer=newer)


@pytest.fixture
def background() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=1) as pool:
        yield pool


def pause_before_put(client: Any, key: str, pause: Pause) -> None:
    """Block the client's thread just before it sends its first PutObject for `key`."""

    def hook(params: dict[str, Any], **_: Any) -> None:
        if params["Key"] == key:
            pause.block()

    client.meta.events.register("provide-client-params.s3.PutObject", hook)


def mean_colour(data: bytes) -> tuple[float, ...]:
    return tuple(ImageStat.Stat(Image.open(io.BytesIO(data)).convert("RGB")).mean)


def assert_the_newer_upload_won(s3: Any, uploads: Uploads) -> None:
    """A consistent, complete set for the newer upload: its version in the manifest, its pixels in every variant."""
    manifest = assert_variants_match_manifest(s3, bucket=THUMBNAILS_BUCKET, original_key=KEY)
    assert (manifest["status"], manifest["source"]["versionId"]) == ("complete", uploads.newer["VersionId"])
    assert [variant["key"] for variant in manifest["variants"]] == VARIANTS
    for key in VARIANTS:
        stored = s3.get_object(Bucket=THUMBNAILS_BUCKET, Key=key)
        colour = mean_colour(stored["Body"].read())
        assert all(abs(found - wanted) < 12 for found, wanted in zip(colour, BLUE, strict=True)), (key, colour)
        assert stored["Metadata"]["source-sequencer"] == NEWER_SEQUENCER


SUPERSEDED = Skipped(reason="superseded", key=KEY)
COMPLETED = Completed(key=KEY, variant_keys=tuple(VARIANTS))
INTERLEAVINGS = [
    # which upload blocks, where (its render, or just before its PutObject of that key), the older one's outcome
    pytest.param("older", "render", SUPERSEDED, id="older paused while rendering"),
    pytest.param("older", VARIANTS[1], SUPERSEDED, id="older paused between two variant writes"),
    pytest.param("older", MANIFEST, SUPERSEDED, id="older paused before its manifest write"),
    pytest.param("newer", "render", COMPLETED, id="newer paused while rendering"),
    pytest.param("newer", VARIANTS[0], COMPLETED, id="newer paused before its first write"),
    pytest.param("newer", VARIANTS[1], SUPERSEDED, id="newer paused between two variant writes"),
    pytest.param("newer", MANIFEST, SUPERSEDED, id="newer paused before its manifest write"),
]


@pytest.mark.parametrize(("paused", "point", "older_outcome"), INTERLEAVINGS)
def test_the_newer_upload_wins_whatever_the_interleaving(
    s3: Any,
    settings: Settings,
    uploads: Uploads,
    background: ThreadPoolExecutor,
    paused: str,
    point: str,
    older_outcome: Any,
) -> None:
    # GIVEN one upload's processing running in a thread, with its own client, blocked at `point`
    pause = Pause()
    own_client = SESSION.client("s3", config=TEST_CLIENT_CONFIG)
    if point == "render":
        paused_service = service_for(own_client, settings, PausingEngine(pause))
    else:
        pause_before_put(own_client, point, pause)
        paused_service = service_for(own_client, settings, make_thumbnails)
    running: Future[Any] = background.submit(paused_service.process, uploads.body(paused))
    try:
        assert pause.reached.wait(DEADLOCK_GUARD_SECONDS), "the paused upload never reached its pause"

        # WHEN the other upload's record is processed to completion meanwhile, then the paused one resumes
        other = "newer" if paused == "older" else "older"
        other_result = service_for(s3, settings).process(uploads.body(other))
    finally:
        pause.released.set()
    paused_result = running.result(timeout=DEADLOCK_GUARD_SECONDS)

    # THEN every variant holds the newer image's pixels and the manifest names the newer upload
    assert_the_newer_upload_won(s3, uploads)
    # ... and the older upload completed only when it was done before the newer one wrote anything
    outcomes = {paused: paused_result, other: other_result}
    assert (outcomes["older"], outcomes["newer"]) == (older_outcome, COMPLETED)


# With a record's variant PUTs running at once (as in a batch), a pause before one PUT no longer holds back its
# siblings: where they may or may not have landed before the other upload runs, the older upload may complete or
# be superseded (None below), but the newer upload's pixels still win.
CONCURRENT_WRITE_INTERLEAVINGS = [
    pytest.param("older", "render", SUPERSEDED, id="older paused while rendering"),
    pytest.param("older", VARIANTS[1], SUPERSEDED, id="older paused before one of its variant writes"),
    pytest.param("older", MANIFEST, SUPERSEDED, id="older paused before its manifest write"),
    pytest.param("newer", "render", COMPLETED, id="newer paused while rendering"),
    pytest.param("newer", VARIANTS[0], None, id="newer paused before the write it makes itself"),
    pytest.param("newer", VARIANTS[1], None, id="newer paused before a write made in the pool"),
    pytest.param("newer", MANIFEST, SUPERSEDED, id="newer paused before its manifest write"),
]


@pytest.mark.parametrize(("paused", "point", "older_outcome"), CONCURRENT_WRITE_INTERLEAVINGS)
def test_the_newer_upload_wins_whatever_the_interleaving_with_concurrent_variant_writes(
    s3: Any,
    settings: Settings,
    uploads: Uploads,
    background: ThreadPoolExecutor,
    paused: str,
    point: str,
    older_outcome: Any,
) -> None:
    # GIVEN one upload's processing, its variant PUTs at once in a pool, blocked at `point` in a thread
    pause = Pause()
    own_client = SESSION.client("s3", config=TEST_CLIENT_CONFIG)
    if point == "render":
        paused_service = service_for(own_client, settings, PausingEngine(pause))
    else:
        pause_before_put(own_client, point, pause)
        paused_service = service_for(own_client, settings, make_thumbnails)
    with ThreadPoolExecutor(max_workers=len(VARIANTS)) as pool:
        fanout = PooledFanout(pool)
        running: Future[Any] = background.submit(paused_service.process, uploads.body(paused), fanout=fanout)
        try:
            assert pause.reached.wait(DEADLOCK_GUARD_SECONDS), "the paused upload never reached its pause"

            # WHEN the other upload's record is processed to completion meanwhile, then the paused one resumes
            other = "newer" if paused == "older" else "older"
            other_result = service_for(s3, settings).process(uploads.body(other), fanout=fanout)
        finally:
            pause.released.set()
        paused_result = running.result(timeout=DEADLOCK_GUARD_SECONDS)

    # THEN every variant holds the newer image's pixels and the manifest names the newer upload
    assert_the_newer_upload_won(s3, uploads)
    outcomes = {paused: paused_result, other: other_result}
    assert outcomes["newer"] == COMPLETED
    assert outcomes["older"] in (COMPLETED, SUPERSEDED) if older_outcome is None else outcomes["older"] == older_outcome


def test_a_variant_write_lost_to_an_older_writer_is_decided_again(
    s3: Any, settings: Settings, uploads: Uploads, s3_calls: list[S3Call]
) -> None:
    # GIVEN an older upload's variant lands just before the newer upload's (conditional) write of it
    older_writer = SESSION.client("s3", config=TEST_CLIENT_CONFIG)
    older_etags: list[str] = []

    def older_writes_first(params: dict[str, Any], **_: Any) -> None:
        if params["Key"] == VARIANTS[2] and not older_etags:
            older = older_writer.put_object(
                Bucket=THUMBNAILS_BUCKET,
                Key=VARIANTS[2],
                Body=image_bytes("JPEG", width=400, height=300, colour=RED),
                Metadata={"source-sequencer": OLDER_SEQUENCER},
            )
            older_etags.append(older["ETag"])

    s3.meta.events.register("provide-client-params.s3.PutObject", older_writes_first)

    # WHEN the newer upload's record is processed
    outcome = service_for(s3, settings).process(uploads.body("newer"))

    # THEN its write failed, it looked again, found an older variant and replaced exactly that object
    assert outcome == COMPLETED
    attempts = [(call.operation, call.params.get("IfMatch")) for call in s3_calls if call.key == VARIANTS[2]]
    assert attempts == [("PutObject", None), ("HeadObject", None), ("PutObject", older_etags[0])]
    assert_the_newer_upload_won(s3, uploads)


def test_a_variant_that_keeps_changing_is_a_transient_error(
    s3: Any, settings: Settings, fake_engine: FakeEngine
) -> None:
    # GIVEN another writer replaces the first variant just before each write of this upload
    put = upload(s3, KEY)
    other_writer = SESSION.client("s3", config=TEST_CLIENT_CONFIG)
    rewrites: list[str] = []

    def someone_else_writes(params: dict[str, Any], **_: Any) -> None:
        if params["Key"] == VARIANTS[0]:
            rewrites.append(VARIANTS[0])
            other_writer.put_object(Bucket=THUMBNAILS_BUCKET, Key=VARIANTS[0], Body=f"rewrite {len(rewrites)}".encode())

    s3.meta.events.register("provide-client-params.s3.PutObject", someone_else_writes)

    # WHEN the upload's record is processed
    with pytest.raises(TransientError) as raised:
        service_for(s3, settings, fake_engine).process(body_for(KEY, put, sequencer="01"))

    # THEN after a few tries it is retried later, with nothing claiming the set is complete
    assert raised.value.reason == "VariantContention"
    assert len(rewrites) == VARIANT_WRITE_ATTEMPTS
    assert MANIFEST not in thumbnail_keys(s3)


def test_a_duplicate_delivery_rewrites_its_own_set(s3: Any, settings: Settings, uploads: Uploads) -> None:
    # GIVEN the newer upload's record processed once
    assert isinstance(service_for(s3, settings).process(uploads.body("newer")), Completed)

    # WHEN SQS delivers it again (equal sequencers)
    outcome = service_for(s3, settings).process(uploads.body("newer"))

    # THEN it completes again over its own set
    assert outcome == COMPLETED
    assert_the_newer_upload_won(s3, uploads)


@pytest.mark.parametrize(
    ("first_event", "second_event"),
    [
        ({"shape": "moto"}, {"shape": "moto"}),  # moto: one constant sequencer for every upload
        ({"sequencer": "FF"}, {"sequencer": None}),  # an event without one
    ],
    ids=["equal sequencers", "no sequencer"],
)
def test_events_that_sequencers_cannot_order_overwrite_as_before(
    s3: Any, settings: Settings, fake_engine: FakeEngine, first_event: dict[str, Any], second_event: dict[str, Any]
) -> None:
    # GIVEN a processed upload, then another whose event cannot be ordered against the first
    first = upload(s3, KEY, b"first")
    service = service_for(s3, settings, fake_engine)
    assert isinstance(service.process(body_for(KEY, first, **first_event)), Completed)

    # WHEN the second upload's event is processed
    second = upload(s3, KEY, b"second")
    outcome = service.process(body_for(KEY, second, **second_event))

    # THEN its variants replace the first ones, as the last event processed always did
    assert outcome == COMPLETED
    assert manifest_of(s3, KEY)["source"]["etag"] == second["ETag"].strip('"')
    for key in VARIANTS:
        assert s3.head_object(Bucket=THUMBNAILS_BUCKET, Key=key)["Metadata"]["source-etag"] == second["ETag"].strip('"')


def test_one_failed_variant_write_leaves_no_manifest_and_the_retry_completes(
    s3: Any, settings: Settings, uploads: Uploads
) -> None:
    # GIVEN S3 answers every write of one variant with 503
    fault = inject_s3_fault(s3, "PutObject", 503, "SlowDown", key_suffix=VARIANTS[2])

    # WHEN the newer upload's record is processed
    with pytest.raises(TransientError) as raised:
        service_for(s3, settings).process(uploads.body("newer"))

    # THEN it is retried, and nothing half-done looks done: the variants before it exist, no manifest does
    assert raised.value.reason == "SlowDown"
    assert thumbnail_keys(s3) == sorted(VARIANTS[:2])

    # WHEN S3 recovers and SQS delivers the record again
    fault.remove()
    outcome = service_for(s3, settings).process(uploads.body("newer"))

    # THEN the set completes over what the first attempt wrote
    assert outcome == COMPLETED
    assert_the_newer_upload_won(s3, uploads)


# --- requests per record --------------------------------------------------------------------------------


def test_a_first_upload_costs_one_put_per_variant_and_no_head(
    s3: Any, settings: Settings, fake_engine: FakeEngine, s3_calls: list[S3Call]
) -> None:
    put = upload(s3, KEY)
    s3_calls.clear()

    service_for(s3, settings, fake_engine).process(body_for(KEY, put, sequencer="01"))

    assert [(call.operation, call.key) for call in s3_calls] == [
        ("GetObject", KEY),
        ("GetObject", MANIFEST),
        *(("PutObject", key) for key in VARIANTS),
        ("PutObject", MANIFEST),
    ]
    assert all(call.params["IfNoneMatch"] == "*" for call in s3_calls if call.operation == "PutObject")


def test_a_re_upload_looks_at_each_variant_before_replacing_it(
    s3: Any, settings: Settings, fake_engine: FakeEngine, s3_calls: list[S3Call]
) -> None:
    # GIVEN a key whose first upload was processed
    service = service_for(s3, settings, fake_engine)
    service.process(body_for(KEY, upload(s3, KEY, b"first"), sequencer="01"))
    put = upload(s3, KEY, b"second")
    s3_calls.clear()

    # WHEN the second upload's record is processed
    service.process(body_for(KEY, put, sequencer="02"))

    # THEN each variant is inspected once and replaced only if it is still the object inspected
    assert [(call.operation, call.key) for call in s3_calls] == [
        ("GetObject", KEY),
        ("GetObject", MANIFEST),
        *(step for key in VARIANTS for step in (("HeadObject", key), ("PutObject", key))),
        ("PutObject", MANIFEST),
    ]
    assert all("IfMatch" in call.params for call in s3_calls if call.operation == "PutObject")
