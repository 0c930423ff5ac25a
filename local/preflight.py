"""Checks before a command that needs Node or AWS credentials, each failing with one line that says how to fix it.

    python -m local.preflight node   # the CDK CLI's Node: >= 20 required, 22 recommended (20 is end-of-life)
    python -m local.preflight aws    # credentials and a region, found the way the CDK CLI and boto3 find them

The credential check walks boto3's credential chain (environment, shared files, SSO, process, container) and
never calls AWS. The EC2 instance metadata service is not asked unless AWS_EC2_METADATA_DISABLED=false is set:
on a machine that is not an EC2 instance that lookup would only time out, on one it is a network call.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence

MINIMUM_NODE_MAJOR = 20  # what the pinned CDK CLI runs on at all
RECOMMENDED_NODE_MAJOR = 22  # Node 20 has been end-of-life since 2026-10-30; jsii asks for 22 or 24
NODE_INSTALL_HINT = "install Node 22 (e.g. `nvm install 22`, your package manager, or `npm install -g node@22`)"


class PreflightError(RuntimeError):
    """The one-line reason a command cannot run, and what to do about it."""


def node_major(version_output: str) -> int:
    match = re.match(r"v?(\d+)\.", version_output.strip())
    if not match:
        raise PreflightError(f"cannot read the Node version from {version_output.strip()!r}; {NODE_INSTALL_HINT}")
    return int(match[1])


def check_node(node: str | None = None) -> str | None:
    """Raise when Node is missing or too old; return a one-line recommendation when it is end-of-life."""
    node = node or shutil.which("node")
    if not node:
        raise PreflightError(f"node is not on PATH: the CDK CLI needs Node {MINIMUM_NODE_MAJOR}+; {NODE_INSTALL_HINT}")
    # The node binary on PATH, asked for its version: no shell, no user input.
    output = subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout  # noqa: S603
    major = node_major(output)
    if major < MINIMUM_NODE_MAJOR:
        raise PreflightError(
            f"Node {output.strip()} is too old for the CDK CLI (needs {MINIMUM_NODE_MAJOR}+); {NODE_INSTALL_HINT}"
        )
    if major < RECOMMENDED_NODE_MAJOR:
        return (
            f"note: Node {output.strip()} is end-of-life; Node {RECOMMENDED_NODE_MAJOR} is recommended: "
            f"{NODE_INSTALL_HINT}"
        )
    return None


def check_aws(environ: Mapping[str, str] | None = None) -> str:
    """Raise unless boto3's chain finds credentials and a region; return where they point, in one line."""
    environ = dict(os.environ if environ is None else environ)
    environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(environ)
    try:
        import boto3
        from botocore.exceptions import BotoCoreError

        try:
            session = boto3.Session()
            credentials = session.get_credentials()
            # The CDK CLI also reads AWS_REGION, which boto3 does not.
            region = session.region_name or environ.get("AWS_REGION")
        except BotoCoreError as error:  # e.g. a named profile that does not exist, an expired SSO token
            raise PreflightError(f"AWS credentials: {error}; fix the profile or run `aws sso login`") from error
    finally:
        os.environ.clear()
        os.environ.update(saved)
    if credentials is None:
        raise PreflightError(
            "no AWS credentials found: run `aws configure` or `aws sso login` (then AWS_PROFILE=<name>), or export "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; for the local cloud run `make local-up` and "
            "`source .local-cloud/env`"
        )
    if not region:
        raise PreflightError(
            "no AWS region set: export AWS_REGION=<region> (e.g. eu-west-1) or `aws configure set region <region>`"
        )
    where = environ.get("AWS_ENDPOINT_URL") or "AWS"
    return f"credentials from {credentials.method}, region {region}, endpoint {where}"


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    checks: dict[str, Callable[[], str | None]] = {"node": check_node, "aws": check_aws}
    if not arguments or any(argument not in checks for argument in arguments):
        print(f"usage: python -m local.preflight {{{'|'.join(checks)}}} ...", file=sys.stderr)
        return 2
    try:
        for argument in arguments:
            note = checks[argument]()
            if note and argument == "node":
                print(note, file=sys.stderr)
    except PreflightError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
