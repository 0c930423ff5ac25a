"""Post-deploy smoke test for a deployed pipeline: wherever the credentials (or AWS_ENDPOINT_URL) point.

    python -m local.smoke [--stack NAME] [--timeout 120]      # make smoke [STACK=...]

It finds the stack's buckets through CloudFormation (its outputs; for a moto server, whose change sets
record no outputs, the template's outputs resolved to the stack's resources), reads the presets and key
filter from the deployed function's configuration in the template, and then, under a prefix of its own
(`smoke-<time>-<random>/` after the configured keyPrefix):

1. uploads a generated JPEG, a transparent PNG and a text file named like an image;
2. waits (bounded, with a progress line) for a complete manifest listing every preset for both images, each
   variant present with its content type, and a rejected manifest (`not_an_image`) for the text file;
3. deletes the JPEG's version and waits for its tombstone (`status: deleted`, thumbnails gone);
4. removes everything it created (every version of its originals, then its thumbnails once the function has
   written their tombstones), whatever happened before.

Exit 0 when every check passed; otherwise 1 and one line on stderr: `smoke: FAILED: <reason>`.
It never touches a key outside its own prefix.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import secrets
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MANIFEST = "manifest.json"
DEFAULT_TIMEOUT_SECONDS = 120.0
POLL_SECONDS = 0.5
PROGRESS_EVERY_SECONDS = 5.0
CLEANUP_WAIT_SECONDS = 30.0
THUMBNAILS_CONFIG_VARIABLE = "THUMBNAILS_CONFIG"


class SmokeFailure(Exception):
    """A check failed; the message is the one-line reason."""


@dataclass(frozen=True)
class Target:
    """The deployed pipeline under test."""

    stack: str
    originals: str
    thumbnails: str
    presets: tuple[str, ...]
    key_prefix: str
    key_suffixes: tuple[str, ...]
    ingest_dlq: str | None

    def key(self, run: str, name: str, natural_suffix: str) -> str:
        """A key under the run's prefix that the rule and the function both accept."""
        suffixes = [suffix.lower() for suffix in self.key_suffixes]
        suffix = natural_suffix if not suffixes or natural_suffix in suffixes else self.key_suffixes[0]
        return f"{self.key_prefix}{run}/{name}{suffix}"


def find_target(session: Any, stack: str) -> Target:
    """Read the stack: buckets from its outputs, presets and key filter from the function in its template."""
    from local.deployed import StackNotFound, read_deployed_stack

    try:
        deployed = read_deployed_stack(session.client("cloudformation"), stack)
    except StackNotFound as error:
        raise SmokeFailure(f"{error} (region {session.region_name}); deploy it first, or pass --stack") from None
    missing = [name for name in ("OriginalsBucketName", "ThumbnailsBucketName") if name not in deployed.outputs]
    if missing:
        raise SmokeFailure(f"stack {stack} has no output(s) {', '.join(missing)}: is it this project's stack?")
    functions = [
        resource
        for resource in deployed.template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
        and THUMBNAILS_CONFIG_VARIABLE in resource["Properties"].get("Environment", {}).get("Variables", {})
    ]
    if len(functions) != 1:
        raise SmokeFailure(
            f"stack {stack}: expected one function with {THUMBNAILS_CONFIG_VARIABLE}, found {len(functions)}"
        )
    config = json.loads(functions[0]["Properties"]["Environment"]["Variables"][THUMBNAILS_CONFIG_VARIABLE])
    return Target(
        stack=stack,
        originals=deployed.outputs["OriginalsBucketName"],
        thumbnails=deployed.outputs["ThumbnailsBucketName"],
        presets=tuple(preset["name"] for preset in config["presets"]),
        key_prefix=config["keyPrefix"],
        key_suffixes=tuple(config["keySuffixes"]),
        ingest_dlq=deployed.outputs.get("IngestDeadLetterQueueUrl"),
    )


def sample_jpeg() -> bytes:
    """A small photo-like JPEG (gradient and shapes), made here so the test needs no files."""
    from PIL import Image, ImageDraw

    vertical = Image.linear_gradient("L").resize((1200, 800))
    horizontal = Image.linear_gradient("L").rotate(90).resize((1200, 800))
    image = Image.merge("RGB", (horizontal, vertical, Image.new("L", (1200, 800), 160)))
    ImageDraw.Draw(image).ellipse((700, 150, 1000, 450), fill=(250, 210, 80))
    return _encode(image, "JPEG", quality=88)


def sample_png() -> bytes:
    """An RGBA PNG with transparent and half-transparent areas."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (640, 480), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((60, 60, 400, 420), fill=(20, 120, 220, 200))
    draw.rectangle((300, 150, 600, 330), fill=(240, 80, 40, 140))
    return _encode(image, "PNG")


NOT_AN_IMAGE = b"smoke test: plain text that only pretends to be an image\n"


def _encode(image: Any, image_format: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


class Smoke:
    """One run: what it uploaded, the checks, and the cleanup."""

    def __init__(self, session: Any, target: Target, *, timeout: float, say: Callable[[str], None]) -> None:
        self.s3 = session.client("s3")
        self.sqs = session.client("sqs")
        self.target = target
        self.timeout = timeout
        self.say = say
        self.run = f"smoke-{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"
        self.uploaded: dict[str, str | None] = {}  # key -> version id (None: unversioned bucket)

    # -- the checks

    def check(self) -> None:
        target = self.target
        photo = target.key(self.run, "photo", ".jpg")
        transparent = target.key(self.run, "transparent", ".png")
        text = target.key(self.run, "not-an-image", ".jpg")
        dlq_before = self._dlq_depth()
        self.say(f"uploading 3 files to s3://{target.originals}/{target.key_prefix}{self.run}/")
        self._upload(photo, sample_jpeg(), "image/jpeg")
        self._upload(transparent, sample_png(), "image/png")
        self._upload(text, NOT_AN_IMAGE, "image/jpeg")

        manifests = self._wait_for(
            {photo: "complete", transparent: "complete", text: "rejected"}, what="the function's manifests"
        )
        for key in (photo, transparent):
            self._check_complete(key, manifests[key])
        if manifests[text].get("reason") != "not_an_image":
            raise SmokeFailure(f"{text}: rejected for {manifests[text].get('reason')!r}, expected 'not_an_image'")
        self.say(f"ok: {len(target.presets)} presets for the JPEG and the PNG; the text file rejected (not_an_image)")

        self.say(f"deleting {photo} and waiting for its tombstone")
        self._delete_original(photo)
        tombstone = self._wait_for({photo: "deleted"}, what="the tombstone")[photo]
        left = [key for key in self._thumbnail_keys(f"{photo}/") if not key.endswith(f"/{MANIFEST}")]
        if left:
            raise SmokeFailure(f"{photo}: tombstone written but {len(left)} thumbnail(s) still there, e.g. {left[0]}")
        if tombstone.get("variants"):
            raise SmokeFailure(f"{photo}: the tombstone still lists variants")
        self.say("ok: tombstone written, thumbnails removed")

        dlq_after = self._dlq_depth()
        if dlq_before is not None and dlq_after is not None and dlq_after > dlq_before:
            self.say(f"warning: the ingest DLQ grew from {dlq_before} to {dlq_after} message(s) during the run")

    def _check_complete(self, key: str, manifest: Mapping[str, Any]) -> None:
        presets = [variant.get("preset") for variant in manifest.get("variants", [])]
        if sorted(presets) != sorted(self.target.presets):
            raise SmokeFailure(
                f"{key}: manifest lists presets {presets}, the function is configured with {list(self.target.presets)}"
            )
        version = self.uploaded.get(key)
        if version and manifest.get("source", {}).get("versionId") not in (None, version):
            raise SmokeFailure(f"{key}: manifest is for version {manifest['source']['versionId']}, uploaded {version}")
        for variant in manifest["variants"]:
            try:
                head = self.s3.head_object(Bucket=self.target.thumbnails, Key=variant["key"])
            except self.s3.exceptions.ClientError as error:
                raise SmokeFailure(f"{variant['key']}: listed in the manifest but not readable ({error})") from None
            if head.get("ContentType") != variant.get("contentType"):
                raise SmokeFailure(
                    f"{variant['key']}: Content-Type {head.get('ContentType')!r}, "
                    f"manifest says {variant.get('contentType')!r}"
                )
            if head.get("ContentLength") != variant.get("bytes"):
                raise SmokeFailure(
                    f"{variant['key']}: {head.get('ContentLength')} bytes, manifest says {variant.get('bytes')}"
                )

    def _wait_for(self, expected: Mapping[str, str], *, what: str) -> dict[str, dict[str, Any]]:
        """Poll the manifests until each has its expected status; fail at the deadline, saying what is missing."""
        started = time.monotonic()
        last_progress = started
        found: dict[str, dict[str, Any]] = {}
        while True:
            for key, status in expected.items():
                if key in found:
                    continue
                manifest = self._manifest(key)
                if manifest is not None and manifest.get("status") == status:
                    found[key] = manifest
                elif manifest is not None and manifest.get("status") == "rejected" and status != "rejected":
                    raise SmokeFailure(
                        f"{key}: rejected ({manifest.get('reason')}: {manifest.get('detail')}), expected {status}"
                    )
            elapsed = time.monotonic() - started
            if len(found) == len(expected):
                self.say(f"{what}: all {len(expected)} after {elapsed:.1f} s")
                return found
            pending = [key.rsplit("/", 1)[-1] for key in expected if key not in found]
            if elapsed > self.timeout:
                states = {
                    name: (self._manifest(key) or {}).get("status", "no manifest")
                    for key, name in zip(expected, [k.rsplit("/", 1)[-1] for k in expected], strict=True)
                    if name in pending
                }
                raise SmokeFailure(
                    f"waited {self.timeout:.0f} s for {what}: "
                    + ", ".join(f"{name} ({state})" for name, state in states.items())
                    + " -- is the function consuming the ingest queue? check its logs and the ingest DLQ"
                )
            if time.monotonic() - last_progress >= PROGRESS_EVERY_SECONDS:
                self.say(f"  waiting for {what}: {', '.join(pending)} ({elapsed:.0f} s of {self.timeout:.0f} s)")
                last_progress = time.monotonic()
            time.sleep(POLL_SECONDS)

    # -- cleanup

    def cleanup(self) -> list[str]:
        """Remove every original version and thumbnail this run created; return what could not be removed."""
        problems: list[str] = []
        prefix = f"{self.target.key_prefix}{self.run}/"
        originals = self._original_versions(prefix)
        for key, version in originals:
            try:
                arguments = {"VersionId": version} if version else {}
                self.s3.delete_object(Bucket=self.target.originals, Key=key, **arguments)
            except self.s3.exceptions.ClientError as error:
                problems.append(f"s3://{self.target.originals}/{key}: {error}")
        # Deleting an original makes the function write its tombstone: wait for those before deleting the
        # thumbnails, or a late tombstone would be left behind.
        keys = sorted({key for key, _ in originals if key in self.uploaded})
        deadline = time.monotonic() + CLEANUP_WAIT_SECONDS
        while keys and time.monotonic() < deadline:
            keys = [key for key in keys if (self._manifest(key) or {}).get("status") not in (None, "deleted")]
            if keys:
                time.sleep(POLL_SECONDS)
        for key in self._thumbnail_keys(prefix):
            try:
                self.s3.delete_object(Bucket=self.target.thumbnails, Key=key)
            except self.s3.exceptions.ClientError as error:
                problems.append(f"s3://{self.target.thumbnails}/{key}: {error}")
        return problems

    # -- S3 and SQS

    def _upload(self, key: str, body: bytes, content_type: str) -> None:
        response = self.s3.put_object(Bucket=self.target.originals, Key=key, Body=body, ContentType=content_type)
        self.uploaded[key] = response.get("VersionId")

    def _delete_original(self, key: str) -> None:
        """Delete the version uploaded (on a versioned bucket: permanently, which S3 announces like a delete)."""
        version = self.uploaded.get(key)
        arguments = {"VersionId": version} if version else {}
        self.s3.delete_object(Bucket=self.target.originals, Key=key, **arguments)

    def _manifest(self, key: str) -> dict[str, Any] | None:
        try:
            body = self.s3.get_object(Bucket=self.target.thumbnails, Key=f"{key}/{MANIFEST}")["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None
        manifest: dict[str, Any] = json.loads(body)
        return manifest

    def _thumbnail_keys(self, prefix: str) -> list[str]:
        paginator = self.s3.get_paginator("list_objects_v2")
        return [
            item["Key"]
            for page in paginator.paginate(Bucket=self.target.thumbnails, Prefix=prefix)
            for item in page.get("Contents", [])
        ]

    def _original_versions(self, prefix: str) -> list[tuple[str, str | None]]:
        found: list[tuple[str, str | None]] = []
        paginator = self.s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self.target.originals, Prefix=prefix):
            for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                version = entry.get("VersionId")
                found.append((entry["Key"], None if version in (None, "null") else version))
        return found

    def _dlq_depth(self) -> int | None:
        if not self.target.ingest_dlq:
            return None
        try:
            attributes = self.sqs.get_queue_attributes(
                QueueUrl=self.target.ingest_dlq, AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]
        except Exception:  # the DLQ check only warns; its permissions may be missing
            return None
        return int(attributes["ApproximateNumberOfMessages"])


def run(*, stack: str, timeout: float, session: Any = None, say: Callable[[str], None] | None = None) -> None:
    """The whole smoke test; raises SmokeFailure with the one-line reason."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    say = say or (lambda message: print(message, file=sys.stderr, flush=True))
    session = session or boto3.Session()
    try:
        target = find_target(session, stack)
        where = os.environ.get("AWS_ENDPOINT_URL") or f"AWS ({session.region_name})"
        say(f"smoke test of stack {stack} at {where}: presets {', '.join(target.presets)}")
        smoke = Smoke(session, target, timeout=timeout, say=say)
        try:
            smoke.check()
        finally:
            problems = smoke.cleanup()
            if problems:
                say(f"warning: could not remove {len(problems)} object(s), e.g. {problems[0]}")
            else:
                say(f"removed everything under {target.key_prefix}{smoke.run}/")
    except NoCredentialsError:
        raise SmokeFailure("no AWS credentials (for the local cloud: `source .local-cloud/env`)") from None
    except (BotoCoreError, ClientError) as error:
        raise SmokeFailure(f"AWS call failed: {error}") from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.smoke", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", default=os.environ.get("STACK") or None, help="default: the project's stack name")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS, help="seconds per wait")
    options = parser.parse_args(argv)
    stack = options.stack
    if not stack:
        os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")  # importing the CDK starts Node
        from stacks.constants import STACK_NAME

        stack = STACK_NAME
    started = time.monotonic()
    try:
        run(stack=stack, timeout=options.timeout)
    except SmokeFailure as failure:
        print(f"smoke: FAILED: {failure}", file=sys.stderr)
        return 1
    print(f"smoke: passed in {time.monotonic() - started:.1f} s (stack {stack})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
