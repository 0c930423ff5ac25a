"""Assertions shared by the unit and e2e tests, about what the function leaves in the thumbnails bucket."""

from __future__ import annotations

import io
import json
from typing import Any

from PIL import Image

MANIFEST_NAME = "manifest.json"


def assert_variants_match_manifest(s3: Any, *, bucket: str, original_key: str) -> dict[str, Any]:
    """The manifest of `original_key` and the bucket agree, whatever the manifest's status; returns the manifest.

    Every variant it lists is in the bucket, decodes to the listed width, height and format, and has the
    listed byte count and Content-Type. No other output of that original is there: an output is a direct
    child of `<original key>/` (a deeper key belongs to another original, "<original key>/<name>").
    Independent of the function's code on purpose, so that it can catch that code's mistakes.
    """
    prefix = f"{original_key}/"
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=prefix + MANIFEST_NAME)["Body"].read())
    listed = {variant["key"]: variant for variant in manifest["variants"]}
    assert len(listed) == len(manifest["variants"]), f"a variant is listed twice: {manifest['variants']}"
    for key, variant in listed.items():
        stored = s3.get_object(Bucket=bucket, Key=key)
        data = stored["Body"].read()
        image = Image.open(io.BytesIO(data))
        found = (image.width, image.height, image.format.lower(), len(data), stored["ContentType"])
        claimed = (variant["width"], variant["height"], variant["format"], variant["bytes"], variant["contentType"])
        assert found == claimed, f"{key}: the object is {found}, the manifest says {claimed}"
    paginator = s3.get_paginator("list_objects_v2")
    in_bucket = {
        item["Key"]
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix)
        for item in page.get("Contents", [])
        if "/" not in item["Key"].removeprefix(prefix)
    }
    assert in_bucket == {*listed, prefix + MANIFEST_NAME}, f"outputs of {original_key!r} the manifest does not list"
    return manifest
