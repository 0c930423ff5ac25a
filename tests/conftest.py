"""Hermetic defaults for every test: fake credentials, a fixed region, no real AWS."""

import os

import pytest

# Set before any boto3 client exists, so nothing can reach a real account.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
        "CDK_DISABLE_VERSION_CHECK": "1",
        "POWERTOOLS_SERVICE_NAME": "thumbnailer",
        "POWERTOOLS_METRICS_NAMESPACE": "ThumbnailPipeline",
    }
)
for leaked in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
    os.environ.pop(leaked, None)


@pytest.fixture
def aws_region() -> str:
    return os.environ["AWS_DEFAULT_REGION"]
