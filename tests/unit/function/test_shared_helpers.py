"""The shared test helpers can fail: the manifest assertion catches a bucket that disagrees, the fault injector
answers only the requests it targets and leaves S3 untouched."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.assertions import assert_variants_match_manifest
from tests.builders import THUMBNAILS_BUCKET, image_bytes
from tests.faults import inject_s3_fault
from thumbnailer.contract import Settings

from .test_service import body_for, service_for, upload


@pytest.fixture
def complete_set(s3: Any, settings: Settings) -> str:
    """A real, complete set of thumbnails for "a.jpg"."""
    put = upload(s3, "a.jpg", image_bytes("JPEG", width=300, height=200))
    service_for(s3, settings).process(body_for("a.jpg", put))
    assert_variants_match_manifest(s3, bucket=THUMBNAILS_BUCKET, original_key="a.jpg")
    return "a.jpg"


@pytest.mark.parametrize(
    ("key", "body", "content_type", "complaint"),
    [
        ("a.jpg/w256.jpg", image_bytes("JPEG", width=10, height=10), "image/jpeg", "the manifest says"),
        ("a.jpg/w256.jpg", image_bytes("PNG", width=256, height=171), "image/jpeg", "the manifest says"),
        ("a.jpg/extra.jpg", b"unlisted", "image/jpeg", "does not list"),
    ],
    ids=["other pixels", "other format", "an unlisted output"],
)
def test_the_manifest_assertion_catches_a_bucket_that_disagrees(
    s3: Any, complete_set: str, key: str, body: bytes, content_type: str, complaint: str
) -> None:
    # GIVEN one object of the set replaced, or one added
    s3.put_object(Bucket=THUMBNAILS_BUCKET, Key=key, Body=body, ContentType=content_type)

    # THEN the assertion fails, saying why
    with pytest.raises(AssertionError, match=complaint):
        assert_variants_match_manifest(s3, bucket=THUMBNAILS_BUCKET, original_key=complete_set)


def test_the_manifest_assertion_ignores_another_originals_outputs(s3: Any, complete_set: str) -> None:
    # GIVEN an output of the original "a.jpg/sub.jpg", nested under "a.jpg/"
    s3.put_object(Bucket=THUMBNAILS_BUCKET, Key="a.jpg/sub.jpg/w256.jpg", Body=b"another original's")

    assert_variants_match_manifest(s3, bucket=THUMBNAILS_BUCKET, original_key=complete_set)


def test_a_fault_answers_only_its_targets_and_s3_does_nothing(s3: Any) -> None:
    # GIVEN PutObject failing for keys under "a/" ending in ".jpg"
    fault = inject_s3_fault(s3, "PutObject", 503, "SlowDown", key_prefix="a/", key_suffix=".jpg")

    # WHEN a target and two bystanders are written
    with pytest.raises(ClientError, match="SlowDown"):
        s3.put_object(Bucket=THUMBNAILS_BUCKET, Key="a/x.jpg", Body=b"1")
    s3.put_object(Bucket=THUMBNAILS_BUCKET, Key="a/x.png", Body=b"2")
    s3.put_object(Bucket=THUMBNAILS_BUCKET, Key="b/x.jpg", Body=b"3")

    # THEN only the target was answered (once per attempt the client makes), and S3 never stored it
    assert len(fault.answered) == 2
    listed = s3.list_objects_v2(Bucket=THUMBNAILS_BUCKET)["Contents"]
    assert sorted(item["Key"] for item in listed) == ["a/x.png", "b/x.jpg"]


def test_a_fault_can_fail_only_the_first_requests_and_be_removed(s3: Any) -> None:
    fault = inject_s3_fault(s3, "HeadObject", 500, "InternalError", times=1)
    s3.put_object(Bucket=THUMBNAILS_BUCKET, Key="k", Body=b"1")

    s3.head_object(Bucket=THUMBNAILS_BUCKET, Key="k")  # the first attempt fails, botocore's retry succeeds
    fault.remove()
    inject_s3_fault(s3, "HeadObject", 403, "AccessDenied").remove()
    s3.head_object(Bucket=THUMBNAILS_BUCKET, Key="k")

    assert len(fault.answered) == 1
