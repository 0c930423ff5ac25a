"""Shared test builders: what AWS hands the function, as plain data, with every field overridable.

Use them so a test states only what matters to it:

    body = object_created_body(bucket="originals", key="photos/red flower.jpg")
    event = sqs_event(sqs_record(body, message_id="m-1"))
    response = handle_batch(event, lambda_context(), service)

- `object_created_event` / `object_created_body`: the EventBridge event S3 sends for a new object, in the
  documented real-AWS shape (`shape="aws"`) or the shape moto 5.2 produces (`shape="moto"`: `eTag`,
  `version-id: "null"` for unversioned buckets, `reason: ObjectCreated`, a constant sequencer).
- `object_deleted_event` / `object_deleted_body`: the same for a deletion; the moto shape is what moto 5.2 sends
  (only when a key's last version goes: no `deletion-type`, the deleted object's size and eTag, `reason:
  ObjectRemoved`), the aws shape what S3 documents (`deletion-type`, the delete marker's version id, no size).
- `sqs_record` / `sqs_event`: the SQS event Lambda's event source mapping delivers.
- `lambda_context`: a stand-in for Lambda's context object (what Powertools reads from it).
- `function_settings` / `function_environ`: what the deployed function runs with (cdk.json's defaults, any
  setting changed), and the environment the stack sets for it.
- `image_bytes`: a small encoded image made with Pillow.
- `DEFAULT_PRESETS`, `DEFAULT_LIMITS`, `limits_with(...)`: what cdk.json deploys (the only place defaults live).
"""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from stacks.cdk_json import default_function_config, thumbnails_defaults
from thumbnailer.contract import FunctionConfig, Settings
from thumbnailer.imaging.presets import Limits

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
ORIGINALS_BUCKET = "originals"
THUMBNAILS_BUCKET = "thumbnails"
AWS_SEQUENCER = "0055AED6DCD90281E5"
MOTO_SEQUENCER = "617f08299329d189"  # moto sends this same value in every S3 event

# What cdk.json deploys: tests check the values users get, and follow cdk.json when it changes.
DEFAULT_PRESETS = default_function_config().presets
DEFAULT_LIMITS = default_function_config().limits


def limits_with(**changes: int) -> Limits:
    """cdk.json's limits with some changed, e.g. `limits_with(max_frames=4)`."""
    return replace(DEFAULT_LIMITS, **changes)


class _ShapeDefault(Enum):
    TOKEN = "the shape's own default"


SHAPE_DEFAULT = _ShapeDefault.TOKEN


def object_created_event(
    *,
    bucket: str = ORIGINALS_BUCKET,
    key: str = "photos/cat.jpg",
    size: int | None = 1024,
    etag: str | None = "d41d8cd98f00b204e9800998ecf8427e",
    version_id: str | None = None,
    sequencer: str | _ShapeDefault | None = SHAPE_DEFAULT,
    reason: str = "PutObject",
    shape: str = "aws",
) -> dict[str, Any]:
    """An S3 "Object Created" event as EventBridge delivers it. `None` leaves a field out (real AWS shape);
    the sequencer defaults to `AWS_SEQUENCER`, or to moto's constant `MOTO_SEQUENCER` in the moto shape."""
    if shape not in ("aws", "moto"):
        raise ValueError(f"shape: expected 'aws' or 'moto', got {shape!r}")
    if sequencer is SHAPE_DEFAULT:
        sequencer = MOTO_SEQUENCER if shape == "moto" else AWS_SEQUENCER
    s3_object: dict[str, Any] = {"key": key}
    if size is not None:
        s3_object["size"] = size
    if shape == "moto":
        s3_object["eTag"] = etag
        s3_object["version-id"] = version_id or "null"
        s3_object["sequencer"] = sequencer
        reason = "ObjectCreated"
    else:
        if etag is not None:
            s3_object["etag"] = etag
        if version_id is not None:
            s3_object["version-id"] = version_id
        if sequencer is not None:
            s3_object["sequencer"] = sequencer
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": ACCOUNT_ID,
        "time": "2026-11-27T17:00:00Z",
        "region": REGION,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": s3_object,
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": ACCOUNT_ID,
            "source-ip-address": "203.0.113.15",
            "reason": reason,
        },
    }


def object_created_body(**overrides: Any) -> str:
    """`object_created_event(**overrides)` as the JSON string an SQS message body carries."""
    return json.dumps(object_created_event(**overrides))


DELETE_MARKER_CREATED = "Delete Marker Created"
PERMANENTLY_DELETED = "Permanently Deleted"
EMPTY_ETAG = "d41d8cd98f00b204e9800998ecf8427e"  # what S3 reports as the ETag of a delete marker


def object_deleted_event(
    *,
    bucket: str = ORIGINALS_BUCKET,
    key: str = "photos/cat.jpg",
    version_id: str | None = None,
    sequencer: str | _ShapeDefault | None = SHAPE_DEFAULT,
    deletion_type: str = PERMANENTLY_DELETED,
    reason: str = "DeleteObject",
    size: int = 1024,
    etag: str = EMPTY_ETAG,
    shape: str = "aws",
) -> dict[str, Any]:
    """An S3 "Object Deleted" event as EventBridge delivers it. In the aws shape `None` leaves a field out;
    `size` only appears in the moto shape, `deletion_type` and `reason` only in the aws one."""
    event = object_created_event(
        bucket=bucket, key=key, size=size, etag=etag, version_id=version_id, sequencer=sequencer, shape=shape
    )
    event["detail-type"] = "Object Deleted"
    if shape == "moto":
        event["detail"]["reason"] = "ObjectRemoved"
    else:
        event["detail"]["object"].pop("size", None)
        event["detail"]["reason"] = reason
        event["detail"]["deletion-type"] = deletion_type
    return event


def object_deleted_body(**overrides: Any) -> str:
    """`object_deleted_event(**overrides)` as the JSON string an SQS message body carries."""
    return json.dumps(object_deleted_event(**overrides))


def sqs_record(
    body: str | Mapping[str, Any],
    *,
    message_id: str | None = None,
    receive_count: int = 1,
    queue_arn: str = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:ingest",
) -> dict[str, Any]:
    """One record of an SQS event; a mapping body is JSON-encoded."""
    text = body if isinstance(body, str) else json.dumps(body)
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": f"handle-{uuid.uuid4()}",
        "body": text,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": "1795800000000",
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": "1795800000001",
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(text.encode(), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def sqs_event(*records: Mapping[str, Any]) -> dict[str, Any]:
    """The event Lambda receives from an SQS event source mapping."""
    return {"Records": [dict(record) for record in records]}


@dataclass
class FakeLambdaContext:
    """What Lambda's context object offers (and Powertools reads); remaining time is fixed."""

    function_name: str = "thumbnailer"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 1536
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/thumbnailer"
    log_stream_name: str = "2026/11/27/[$LATEST]0123456789abcdef"
    remaining_ms: int = 60_000

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def lambda_context(**overrides: Any) -> FakeLambdaContext:
    return FakeLambdaContext(**overrides)


# Builder keywords -> the cdk.json keys of the function's configuration they override.
_CONFIG_KEYWORDS = {
    "presets": "presets",
    "key_prefix": "keyPrefix",
    "key_suffixes": "keySuffixes",
    "max_source_bytes": "maxSourceBytes",
    "max_source_pixels": "maxSourcePixels",
    "max_frames": "maxFrames",
    "cache_control": "cacheControl",
}


def function_settings(
    *,
    originals_bucket: str = ORIGINALS_BUCKET,
    thumbnails_bucket: str = THUMBNAILS_BUCKET,
    timeout_seconds: int | None = None,
    event_bus_name: str | None = None,
    distribution_id: str | None = None,
    **config: Any,
) -> Settings:
    """What the deployed function runs with: cdk.json's defaults, with the given settings changed.

    `config` takes `presets` (a list of preset objects as in cdk.json), `key_prefix`, `key_suffixes`,
    `max_source_bytes`, `max_source_pixels`, `max_frames` and `cache_control`; they go through the
    contract's own validator, as at synth. No event bus and no distribution unless given: the function then
    announces nothing (the deployed stack always gives a bus; tests of announcements name one).
    """
    unknown = sorted(set(config) - set(_CONFIG_KEYWORDS))
    if unknown:
        raise TypeError(f"function_settings: unknown setting(s) {', '.join(unknown)}")
    defaults = thumbnails_defaults()
    values = {key: defaults[key] for key in FunctionConfig.KEYS}
    values.update({_CONFIG_KEYWORDS[name]: value for name, value in config.items()})
    return Settings(
        originals_bucket=originals_bucket,
        thumbnails_bucket=thumbnails_bucket,
        timeout_seconds=defaults["timeoutSeconds"] if timeout_seconds is None else timeout_seconds,
        config=FunctionConfig.from_mapping(values, "thumbnails"),
        event_bus_name=event_bus_name,
        distribution_id=distribution_id,
    )


def function_environ(**settings: Any) -> dict[str, str]:
    """The function's environment as the stack sets it (`function_settings(**settings).to_environment()`)."""
    return function_settings(**settings).to_environment()


def image_bytes(
    fmt: str = "JPEG",
    *,
    width: int = 64,
    height: int = 48,
    mode: str = "RGB",
    colour: Any = (200, 30, 30),
) -> bytes:
    """A small solid-colour image encoded with Pillow (`fmt` as Pillow names it: JPEG, PNG, WEBP, GIF)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new(mode, (width, height), colour).save(buffer, format=fmt)
    return buffer.getvalue()
