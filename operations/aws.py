"""How the CLI reaches AWS: one session from the environment, the stack's outputs, and errors in one line.

The session honours what boto3 does (AWS_PROFILE, AWS_ACCESS_KEY_ID/..., AWS_ENDPOINT_URL for every service)
and takes the region from AWS_REGION, then AWS_DEFAULT_REGION, then the profile. Every failure the operator
can act on becomes an `OperatorError` with an exit code (see EXIT_CODES) and one line of text.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)

# Exit codes, documented in the README (Operations) and in `thumbnails --help`.
EXIT_OK = 0
EXIT_FAILED = 1  # the command ran but did not finish its work (e.g. messages not moved, a backfill run failed)
EXIT_USAGE = 2  # bad options (typer's own code)
EXIT_NO_CREDENTIALS = 3
EXIT_UNKNOWN_STACK = 4  # no such stack, or it lacks an output this command needs (an older deployment)
EXIT_ACCESS_DENIED = 5
EXIT_NEEDS_CONFIRMATION = 6  # above the threshold, or moving messages, without --yes (and no terminal to ask)
EXIT_AWS_ERROR = 7  # any other AWS error: endpoint unreachable, throttled, invalid request
EXIT_CODES = {
    EXIT_OK: "success",
    EXIT_FAILED: "the work did not complete (some messages not moved, a backfill run failed)",
    EXIT_USAGE: "invalid options",
    EXIT_NO_CREDENTIALS: "no AWS credentials (or region) found",
    EXIT_UNKNOWN_STACK: "the stack does not exist, or lacks an output this command needs",
    EXIT_ACCESS_DENIED: "AWS refused a call: missing permission",
    EXIT_NEEDS_CONFIRMATION: "confirmation needed: re-run with --yes",
    EXIT_AWS_ERROR: "another AWS error (endpoint unreachable, throttling, invalid request)",
}

ACCESS_DENIED_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError", "403"}
)
CREDENTIAL_CODES = frozenset(
    {
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "ExpiredToken",
        "ExpiredTokenException",
        "SignatureDoesNotMatch",
    }
)
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=32)

# The services the CLI calls. boto3-stubs types `Session.client` per service name, so the name is a Literal; the
# clients stay `Any` for the callers, as elsewhere in operations/.
Service = Literal["cloudformation", "cloudwatch", "lambda", "s3", "sqs", "stepfunctions"]


class OperatorError(Exception):
    """A failure with a one-line explanation and the exit code to leave with."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@contextmanager
def aws_errors(stack_name: str) -> Iterator[None]:
    """Turn botocore's exceptions into OperatorErrors with one line each."""
    try:
        yield
    except OperatorError:
        raise
    except (NoCredentialsError, PartialCredentialsError):
        raise OperatorError(
            "no AWS credentials found: set AWS_PROFILE (or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY), "
            "or log in with `aws sso login`",
            EXIT_NO_CREDENTIALS,
        ) from None
    except ProfileNotFound as error:
        raise OperatorError(f"{error}: check AWS_PROFILE", EXIT_NO_CREDENTIALS) from None
    except NoRegionError:
        raise OperatorError(
            "no AWS region: set AWS_REGION (or a region in your profile)", EXIT_NO_CREDENTIALS
        ) from None
    except EndpointConnectionError as error:
        raise OperatorError(f"cannot reach AWS: {error}", EXIT_AWS_ERROR) from None
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        message = str(error.response.get("Error", {}).get("Message", "")) or str(error)
        operation = error.operation_name
        if code in ACCESS_DENIED_CODES:
            raise OperatorError(
                f"permission denied for {operation}: {message} (the operator role needs it; see README, Operations)",
                EXIT_ACCESS_DENIED,
            ) from None
        if code in CREDENTIAL_CODES:
            raise OperatorError(f"AWS rejected the credentials ({code}): {message}", EXIT_NO_CREDENTIALS) from None
        if operation == "DescribeStacks" and code == "ValidationError":
            raise OperatorError(
                f"stack {stack_name!r} not found in this account and region (--stack, AWS_REGION, AWS_PROFILE)",
                EXIT_UNKNOWN_STACK,
            ) from None
        raise OperatorError(f"{operation} failed: {code}: {message}", EXIT_AWS_ERROR) from None
    except BotoCoreError as error:
        raise OperatorError(f"AWS call failed: {error}", EXIT_AWS_ERROR) from None


def session() -> boto3.Session:
    """The session the environment describes (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL via botocore)."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    return boto3.Session(region_name=region) if region else boto3.Session()


@dataclass(frozen=True)
class Deployment:
    """The deployed stack as the CLI needs it: its outputs and clients."""

    stack_name: str
    outputs: Mapping[str, str]
    aws: boto3.Session

    @classmethod
    def find(cls, stack_name: str, aws: boto3.Session | None = None) -> Deployment:
        aws = aws or session()
        stacks = client(aws, "cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
        outputs = {output["OutputKey"]: output["OutputValue"] for output in stacks[0].get("Outputs", [])}
        return cls(stack_name=stack_name, outputs=outputs, aws=aws)

    def output(self, name: str) -> str:
        value = self.outputs.get(name)
        if not value:
            raise OperatorError(
                f"stack {self.stack_name!r} has no output {name!r}: deploy the current version first",
                EXIT_UNKNOWN_STACK,
            )
        return value

    def client(self, service: Service) -> Any:
        return client(self.aws, service)


def client(aws: boto3.Session, service: Service) -> Any:
    return aws.client(service, config=CLIENT_CONFIG)
