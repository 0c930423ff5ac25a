"""A complete manifest carries the placeholder (issue 11); rejected and deleted ones do not."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from typing import Any

from local.thumbhash import approximate_aspect_ratio, thumbhash_to_image
from tests.builders import ORIGINALS_BUCKET, THUMBNAILS_BUCKET, image_bytes, object_created_body
from thumbnailer.contract import Settings
from thumbnailer.service import ThumbnailService

GENERATED_AT = datetime(2026, 11, 27, 17, 0, 0, tzinfo=UTC)


def _process(s3: Any, settings: Settings, key: str, data: bytes) -> dict[str, Any]:
    put = s3.put_object(Bucket=ORIGINALS_BUCKET, Key=key, Body=data)
    body = object_created_body(key=key, size=len(data), etag=put["ETag"].strip('"'), version_id=None)
    ThumbnailService(settings, s3, clock=lambda: GENERATED_AT).process(body)
    return json.loads(s3.get_object(Bucket=THUMBNAILS_BUCKET, Key=f"{key}/manifest.json")["Body"].read())


def test_a_complete_manifest_has_a_placeholder_that_decodes_to_the_image(s3: Any, settings: Settings) -> None:
    # GIVEN a wide, solid orange JPEG
    data = image_bytes("JPEG", width=900, height=300, colour=(230, 120, 30))

    # WHEN processed with the real engine
    manifest = _process(s3, settings, "photos/wide.jpg", data)

    # THEN the manifest's placeholder is a ThumbHash of a wide, orange picture, with an orange dominant colour
    assert manifest["status"] == "complete"
    placeholder = manifest["placeholder"]
    assert set(placeholder) == {"hashType", "hash", "dominantColor"}
    assert placeholder["hashType"] == "thumbhash"
    hash_bytes = base64.b64decode(placeholder["hash"], validate=True)
    assert approximate_aspect_ratio(hash_bytes) > 2
    decoded = thumbhash_to_image(hash_bytes).getpixel((16, 5))[:3]
    assert max(abs(value - expected) for value, expected in zip(decoded, (230, 120, 30), strict=True)) < 16
    assert re.fullmatch(r"#[0-9a-f]{6}", placeholder["dominantColor"])
    dominant = [int(placeholder["dominantColor"][index : index + 2], 16) for index in (1, 3, 5)]
    assert max(abs(value - expected) for value, expected in zip(dominant, (230, 120, 30), strict=True)) < 6


def test_a_rejected_manifest_has_no_placeholder(s3: Any, settings: Settings) -> None:
    # GIVEN bytes that are not an image  WHEN processed  THEN rejected, and nothing to show
    manifest = _process(s3, settings, "photos/fake.jpg", b"not an image at all" * 10)
    assert manifest["status"] == "rejected"
    assert "placeholder" not in manifest
