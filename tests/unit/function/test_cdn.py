"""The CloudFront adapter alone: the paths it invalidates, and what it does when CloudFront refuses."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from thumbnailer.cdn import CdnInvalidator, invalidation_path, object_path
from thumbnailer.outcomes import TransientError

from .conftest import SESSION

DISTRIBUTION_ID = "E2QWRUHAPOMQZL"


@pytest.mark.parametrize(
    ("key", "path"),
    [
        ("photos/cat.jpg", "/photos/cat.jpg/*"),
        ("photos/cat 1.jpg", "/photos/cat%201.jpg/*"),
        ("uploads/red flower + ümlaut 花.jpg", "/uploads/red%20flower%20+%20%C3%BCmlaut%20%E8%8A%B1.jpg/*"),
        ("a*b?c#d%e.jpg", "/a%2Ab%3Fc%23d%25e.jpg/*"),
        ("x(1),y;z=w:v@u!$&'.jpg", "/x(1),y;z=w:v@u!$&'.jpg/*"),
        ('q"<>{}|\\^`[].jpg', "/q%22%3C%3E%7B%7D%7C%5C%5E%60%5B%5D.jpg/*"),
    ],
)
def test_the_set_path_encodes_exactly_what_cloudfront_wants_encoded(key: str, path: str) -> None:
    # Non-ASCII and RFC 1738 unsafe characters are encoded, '*' and '?' too (a wildcard, a query), nothing else;
    # the only '*' left is the trailing wildcard.
    assert invalidation_path(key) == path
    assert path.count("*") == 1


@pytest.fixture
def cloudfront() -> Iterator[Any]:
    with mock_aws():
        yield SESSION.client("cloudfront")


def a_distribution(cloudfront: Any) -> str:
    """A minimal distribution in moto, with an S3 origin."""
    response = cloudfront.create_distribution(
        DistributionConfig={
            "CallerReference": "test",
            "Comment": "",
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "thumbnails",
                        "DomainName": "thumbnails.s3.us-east-1.amazonaws.com",
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                    }
                ],
            },
            "DefaultCacheBehavior": {
                "TargetOriginId": "thumbnails",
                "ViewerProtocolPolicy": "redirect-to-https",
                "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
            },
        }
    )
    return str(response["Distribution"]["Id"])


def invalidated_paths(cloudfront: Any, distribution_id: str) -> list[list[str]]:
    listed = cloudfront.list_invalidations(DistributionId=distribution_id)["InvalidationList"].get("Items", [])
    return [
        cloudfront.get_invalidation(DistributionId=distribution_id, Id=item["Id"])["Invalidation"]["InvalidationBatch"][
            "Paths"
        ].get("Items", [])
        for item in listed
    ]


def test_one_invalidation_of_the_whole_set_is_created(cloudfront: Any) -> None:
    # GIVEN a distribution
    distribution_id = a_distribution(cloudfront)
    invalidator = CdnInvalidator(distribution_id=distribution_id, client=cloudfront)

    # WHEN the set of "photos/cat 1.jpg" is invalidated
    invalidation_id = invalidator.invalidate("photos/cat 1.jpg", object_keys=["photos/cat 1.jpg/w256.jpg"])

    # THEN exactly one invalidation exists, of the set's wildcard path
    assert invalidation_id
    assert invalidated_paths(cloudfront, distribution_id) == [["/photos/cat%201.jpg/*"]]


def test_an_unknown_distribution_is_a_transient_failure(cloudfront: Any) -> None:
    invalidator = CdnInvalidator(distribution_id="EDOESNOTEXIST", client=cloudfront)

    with pytest.raises(TransientError) as raised:
        invalidator.invalidate("a.jpg", object_keys=["a.jpg/manifest.json"])
    assert raised.value.reason == "NoSuchDistribution"


def stubbed() -> tuple[CdnInvalidator, Stubber]:
    client = SESSION.client("cloudfront")
    return CdnInvalidator(distribution_id=DISTRIBUTION_ID, client=client), Stubber(client)


def expected_batch(paths: list[str]) -> dict[str, Any]:
    return {
        "DistributionId": DISTRIBUTION_ID,
        "InvalidationBatch": {"Paths": {"Quantity": len(paths), "Items": paths}, "CallerReference": ANY},
    }


def invalidation_response(paths: list[str]) -> dict[str, Any]:
    batch = {"Paths": {"Quantity": len(paths), "Items": paths}, "CallerReference": "ref"}
    return {
        "Location": "https://cloudfront.amazonaws.com/invalidation/I2",
        "Invalidation": {"Id": "I2", "Status": "InProgress", "CreateTime": "2026-11-27", "InvalidationBatch": batch},
    }


def test_too_many_wildcards_in_progress_falls_back_to_the_sets_objects_one_by_one() -> None:
    # GIVEN CloudFront refuses another wildcard path (15 in progress), then accepts plain paths
    invalidator, stubber = stubbed()
    stubber.add_client_error(
        "create_invalidation",
        service_error_code="TooManyInvalidationsInProgress",
        http_status_code=400,
        expected_params=expected_batch(["/a%20b.jpg/*"]),
    )
    objects = ["a b.jpg/w256.jpg", "a b.jpg/w1024.webp", "a b.jpg/manifest.json"]
    paths = ["/a%20b.jpg/w256.jpg", "/a%20b.jpg/w1024.webp", "/a%20b.jpg/manifest.json"]
    stubber.add_response("create_invalidation", invalidation_response(paths), expected_batch(paths))

    # WHEN the set is invalidated
    with stubber:
        invalidation_id = invalidator.invalidate("a b.jpg", object_keys=objects)

    # THEN the second request named each object of the set, and that invalidation is the answer
    assert invalidation_id == "I2"
    assert [object_path(key) for key in objects] == paths
    stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("AccessDenied", None),  # not the wildcard quota: no fallback
        ("TooManyInvalidationsInProgress", "TooManyInvalidationsInProgress"),  # the plain-path quota too
        ("TooManyInvalidationsInProgress", "Throttling"),
    ],
)
def test_a_refused_invalidation_is_transient(first: str, second: str | None) -> None:
    invalidator, stubber = stubbed()
    stubber.add_client_error("create_invalidation", service_error_code=first, http_status_code=400)
    if second is not None:
        stubber.add_client_error("create_invalidation", service_error_code=second, http_status_code=400)

    with stubber, pytest.raises(TransientError) as raised:
        invalidator.invalidate("a.jpg", object_keys=["a.jpg/manifest.json"])
    assert raised.value.reason == (second or first)
    stubber.assert_no_pending_responses()
