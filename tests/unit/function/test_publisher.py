"""The EventBridge adapter alone: the entry it builds, its size, and every way a publish can fail."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from thumbnailer.contract import EVENT_SOURCE
from thumbnailer.outcomes import TransientError, WrittenManifest
from thumbnailer.publisher import MAX_ENTRY_BYTES, EventPublisher, entry_size, event_entry

from .conftest import SESSION

BUS = "thumbnail-events"
BUCKET = "thumbnails"


def complete_manifest_for(key: str, *, presets: int = 4) -> dict[str, Any]:
    return {
        "schemaVersion": 1,
        "status": "complete",
        "source": {"bucket": "originals", "key": key, "etag": "e1", "versionId": None, "sequencer": "0A", "size": 9},
        "variants": [
            {"preset": f"p{index}", "key": f"{key}/p{index}.jpg", "width": 9, "height": 9, "bytes": 9}
            for index in range(presets)
        ],
        "generatedAt": "2026-11-27T17:00:00Z",
    }


def written(document: dict[str, Any], key: str = "photos/cat.jpg") -> WrittenManifest:
    return WrittenManifest(original_key=key, document=document, replaced_status=None)


def test_the_entry_is_the_manifest_as_written_plus_where_it_is() -> None:
    # GIVEN a complete manifest that was written for photos/cat.jpg
    manifest = complete_manifest_for("photos/cat.jpg")

    # WHEN it becomes a PutEvents entry
    entry = event_entry(written(manifest), bus_name=BUS, thumbnails_bucket=BUCKET)

    # THEN it goes to the pipeline's bus, from the pipeline's source, as "Thumbnails Ready" with the manifest
    assert (entry["EventBusName"], entry["Source"], entry["DetailType"]) == (BUS, EVENT_SOURCE, "Thumbnails Ready")
    assert json.loads(entry["Detail"]) == {
        **manifest,
        "thumbnailsBucket": BUCKET,
        "manifestKey": "photos/cat.jpg/manifest.json",
    }


@pytest.mark.parametrize(
    ("status", "detail_type"),
    [("complete", "Thumbnails Ready"), ("rejected", "Thumbnails Rejected"), ("deleted", "Thumbnails Removed")],
)
def test_the_detail_type_follows_the_manifest_status(status: str, detail_type: str) -> None:
    entry = event_entry(written({"status": status}), bus_name=BUS, thumbnails_bucket=BUCKET)

    assert entry["DetailType"] == detail_type


def test_a_manifest_without_a_known_status_is_never_announced() -> None:
    with pytest.raises(ValueError, match="status 'pending' is not announced"):
        event_entry(written({"status": "pending"}), bus_name=BUS, thumbnails_bucket=BUCKET)


def test_the_largest_manifest_the_configuration_allows_fits_an_entry_many_times_over() -> None:
    # GIVEN 10 presets (the most cdk.json accepts) under a key near S3's 1024-byte limit, in non-ASCII
    key = "é" * 480 + ".jpg"
    manifest = complete_manifest_for(key, presets=10)

    # WHEN it becomes an entry
    entry = event_entry(written(manifest, key), bus_name=BUS, thumbnails_bucket=BUCKET)

    # THEN it travels whole, far below the 256 KB limit
    assert "truncated" not in json.loads(entry["Detail"])
    assert entry_size(entry) < MAX_ENTRY_BYTES / 8


def test_an_oversized_tombstone_is_announced_without_its_lists() -> None:
    # GIVEN a tombstone whose removedVariants (read from the replaced manifest) would exceed the entry limit
    tombstone = {
        "schemaVersion": 1,
        "status": "deleted",
        "source": {"bucket": "originals", "key": "a.jpg", "sequencer": "0B"},
        "variants": [],
        "removedVariants": [f"a.jpg/{index:06}.jpg" for index in range(20_000)],
    }

    # WHEN it becomes an entry
    entry = event_entry(written(tombstone, "a.jpg"), bus_name=BUS, thumbnails_bucket=BUCKET)

    # THEN the entry fits, says it is truncated, and still names the manifest to read in full
    detail = json.loads(entry["Detail"])
    assert entry_size(entry) <= MAX_ENTRY_BYTES
    assert detail["truncated"] is True
    assert "removedVariants" not in detail
    assert (detail["status"], detail["manifestKey"]) == ("deleted", "a.jpg/manifest.json")


def test_entry_size_counts_what_eventbridge_counts() -> None:
    entry = {"Source": "ab", "DetailType": "cd", "Detail": '{"é":1}', "Resources": ["r"], "Time": "x"}

    assert entry_size(entry) == 2 + 2 + len('{"é":1}'.encode()) + 1 + 14


def stubbed_publisher() -> tuple[EventPublisher, Stubber]:
    client = SESSION.client("events")
    return EventPublisher(bus_name=BUS, thumbnails_bucket=BUCKET, client=client), Stubber(client)


def test_a_failed_entry_in_a_200_answer_is_transient() -> None:
    # GIVEN EventBridge accepts the call but not the entry (FailedEntryCount 1)
    publisher, stubber = stubbed_publisher()
    stubber.add_response(
        "put_events",
        {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}]},
    )

    # WHEN the manifest is published / THEN the record must be retried
    with stubber, pytest.raises(TransientError) as raised:
        publisher.publish(written(complete_manifest_for("a.jpg"), "a.jpg"))
    assert raised.value.reason == "InternalFailure"
    assert "a.jpg/manifest.json" in raised.value.detail


@pytest.mark.parametrize("code", ["ThrottlingException", "AccessDeniedException", "ResourceNotFoundException"])
def test_a_refused_call_is_transient(code: str) -> None:
    publisher, stubber = stubbed_publisher()
    stubber.add_client_error("put_events", service_error_code=code, http_status_code=400)

    with stubber, pytest.raises(TransientError) as raised:
        publisher.publish(written(complete_manifest_for("a.jpg"), "a.jpg"))
    assert raised.value.reason == code


def test_an_accepted_entry_is_sent_once_exactly_as_built() -> None:
    publisher, stubber = stubbed_publisher()
    document = complete_manifest_for("a.jpg")
    expected = event_entry(written(document, "a.jpg"), bus_name=BUS, thumbnails_bucket=BUCKET)
    stubber.add_response(
        "put_events", {"FailedEntryCount": 0, "Entries": [{"EventId": "e-1"}]}, {"Entries": [expected]}
    )

    with stubber:
        publisher.publish(written(document, "a.jpg"))
    stubber.assert_no_pending_responses()


def test_the_client_is_created_on_the_first_publish_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN boto3.client recorded, and a publisher built without a client
    created: list[tuple[str, Any]] = []

    def fake_client(service: str, config: Any = None) -> Any:
        created.append((service, config))
        client = SESSION.client(service)
        stubber = Stubber(client)
        stubber.add_response("put_events", {"FailedEntryCount": 0, "Entries": [{"EventId": "e"}]})
        stubber.add_response("put_events", {"FailedEntryCount": 0, "Entries": [{"EventId": "f"}]})
        stubber.activate()
        return client

    monkeypatch.setattr(boto3, "client", fake_client)
    config = object()
    publisher = EventPublisher(bus_name=BUS, thumbnails_bucket=BUCKET, client_config=config)  # type: ignore[arg-type]

    # WHEN it is built, then publishes twice
    assert created == []
    publisher.publish(written(complete_manifest_for("a.jpg"), "a.jpg"))
    publisher.publish(written(complete_manifest_for("b.jpg"), "b.jpg"))

    # THEN one EventBridge client was created, at the first publish, with the given configuration
    assert created == [("events", config)]
