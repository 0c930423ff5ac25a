"""Empty a stack's buckets so they can be deleted: every object version and delete marker, in batches of 1,000.

    python -m local.teardown --stack NAME                  # the stack's disposable buckets (DeletionPolicy Delete)
    python -m local.teardown --bucket NAME... --delete --yes   # retained buckets, after `make destroy`

CloudFormation deletes only empty buckets, and the stack deliberately has no auto-delete custom resource
(one more Lambda allowed to wipe every image). With `--stack` only the buckets the stack itself would delete
are emptied, so a production stack's retained buckets are never touched; buckets named with `--bucket` are
emptied only with `--yes`, and deleted with `--delete`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

DELETE_BATCH = 1000  # DeleteObjects' limit


def disposable_buckets(cloudformation: Any, stack: str) -> list[str]:
    """The stack's buckets whose DeletionPolicy is Delete (the template's `disposable: true`)."""
    from local.deployed import read_deployed_stack

    deployed = read_deployed_stack(cloudformation, stack)
    return [
        deployed.physical_ids[logical_id]
        for logical_id, resource in deployed.resources_of_type("AWS::S3::Bucket").items()
        if resource.get("DeletionPolicy", "Delete") == "Delete" and logical_id in deployed.physical_ids
    ]


def empty_bucket(s3: Any, bucket: str) -> int:
    """Delete every version and delete marker; return how many were deleted."""
    deleted = 0
    paginator = s3.get_paginator("list_object_versions")
    batch: list[dict[str, str]] = []
    for page in paginator.paginate(Bucket=bucket):
        for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
            batch.append({"Key": entry["Key"], "VersionId": entry["VersionId"]})
            if len(batch) == DELETE_BATCH:
                deleted += _delete(s3, bucket, batch)
                batch = []
    if batch:
        deleted += _delete(s3, bucket, batch)
    return deleted


def _delete(s3: Any, bucket: str, batch: list[dict[str, str]]) -> int:
    response = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
    errors = response.get("Errors", [])
    if errors:
        first = errors[0]
        raise RuntimeError(f"s3://{bucket}/{first['Key']}: {first['Code']} {first.get('Message', '')}")
    return len(batch)


def empty_stack_buckets(session: Any, stack: str, *, say: Callable[[str], None] = print) -> None:
    s3 = session.client("s3")
    for bucket in disposable_buckets(session.client("cloudformation"), stack):
        say(f"emptying s3://{bucket}: {empty_bucket(s3, bucket)} object version(s) deleted")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.teardown", description=__doc__.split("\n\n")[0])
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--stack", nargs="?", const="", help="empty the stack's disposable buckets (default: the project's stack)"
    )
    target.add_argument("--bucket", nargs="+", help="empty these buckets (needs --yes)")
    parser.add_argument("--delete", action="store_true", help="with --bucket: delete the buckets once empty")
    parser.add_argument("--yes", action="store_true", help="with --bucket: yes, delete every object in them")
    options = parser.parse_args(argv)

    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    session = boto3.Session()
    try:
        if options.stack is not None:
            from local.deployed import StackNotFound

            if not options.stack:
                from stacks.constants import STACK_NAME

                options.stack = STACK_NAME
            try:
                empty_stack_buckets(session, options.stack)
            except StackNotFound:
                print(f"no stack {options.stack}: nothing to empty")
            return 0
        if not options.yes:
            print("error: --bucket deletes every object version in the bucket(s): add --yes", file=sys.stderr)
            return 2
        s3 = session.client("s3")
        for bucket in options.bucket:
            print(f"emptying s3://{bucket}: {empty_bucket(s3, bucket)} object version(s) deleted")
            if options.delete:
                s3.delete_bucket(Bucket=bucket)
                print(f"deleted s3://{bucket}")
    except (BotoCoreError, ClientError, RuntimeError, LookupError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
