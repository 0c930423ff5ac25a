"""Issue 11 through the deployed pipeline: a HEIC upload, the placeholder, a smart square and an AVIF variant.

The stack is synthesized with presets overridden (`thumbnailsOverrides`, as `cdk deploy -c` would) to use a
smart cover crop and AVIF output; the key suffixes stay cdk.json's, so the rule's `.heic` filter is the
default one. Everything else is as in test_pipeline_e2e.py: S3 -> EventBridge -> rule -> SQS -> function.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import numpy as np
import pytest
from moto import mock_aws
from PIL import Image

from local.moto_cloud import StackAssembly, synthesize
from local.pipeline import LocalPipeline
from local.samples import iphone_heic
from local.thumbhash import approximate_aspect_ratio
from tests.unit.imaging.samples import jpeg
from tests.unit.imaging.subjects import off_centre_subject
from thumbnailer.contract import Settings
from thumbnailer.imaging.geometry import place
from thumbnailer.imaging.presets import Preset
from thumbnailer.imaging.smartcrop import saliency, smart_box

pytestmark = pytest.mark.slow

PRESETS = [
    {"name": "square-128", "width": 128, "height": 128, "mode": "cover", "format": "jpeg", "gravity": "smart"},
    {"name": "w256", "width": 256, "mode": "fit", "format": "jpeg", "quality": 82},
    {"name": "w512", "width": 512, "mode": "fit", "format": "avif", "quality": 55, "speed": 8},
]


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> StackAssembly:
    overrides = json.dumps({"presets": PRESETS})
    return synthesize(outdir=Path(tmp_path_factory.mktemp("cdk.out")), context={"thumbnailsOverrides": overrides})


@pytest.fixture(scope="module")
def pipeline(assembly: StackAssembly) -> Iterator[LocalPipeline]:
    with mock_aws():
        yield LocalPipeline.deploy(assembly, session=boto3.Session())


def _image(pipeline: LocalPipeline, key: str) -> tuple[Image.Image, bytes]:
    data = pipeline.thumbnail(key)["Body"]
    return Image.open(io.BytesIO(data)), data


def test_the_deployed_function_runs_the_overridden_presets(pipeline: LocalPipeline) -> None:
    settings = Settings.from_environment(pipeline.function.environment)
    assert [preset.name for preset in settings.config.presets] == ["square-128", "w256", "w512"]
    assert settings.config.presets[0].gravity == "smart"
    assert ".heic" in settings.config.key_suffixes


def test_an_iphone_heic_gets_a_complete_upright_set_with_a_placeholder(pipeline: LocalPipeline) -> None:
    # GIVEN an iPhone-style HEIC portrait (stored sideways, irot + EXIF orientation 6, GPS in its EXIF)
    key = "phone/IMG_0001.HEIC"
    pipeline.upload(key, iphone_heic(width=600, height=800))

    # WHEN the queue is drained by the function
    report = pipeline.run()

    # THEN the set is complete: a HEIF source, upright, every variant written and listed
    assert (report.failed, report.handler_errors) == (0, [])
    manifest = pipeline.manifest(key)
    assert manifest is not None
    assert manifest["status"] == "complete"
    assert (manifest["source"]["format"], manifest["source"]["width"], manifest["source"]["height"]) == (
        "heif",
        600,
        800,
    )
    sizes = {variant["preset"]: (variant["width"], variant["height"]) for variant in manifest["variants"]}
    assert sizes == {"square-128": (128, 128), "w256": (256, 341), "w512": (512, 683)}
    # AND the portrait stands upright: the red band is at the top of the w256 variant
    w256, _ = _image(pipeline, f"{key}/w256.jpg")
    red, green, _blue = w256.convert("RGB").getpixel((128, 10))
    assert red > 150
    assert green < 80
    # AND the AVIF variant is an AVIF of its size, and no output carries the GPS or camera EXIF
    for variant in manifest["variants"]:
        image, data = _image(pipeline, variant["key"])
        assert image.format.lower() == variant["format"]
        assert image.size == (variant["width"], variant["height"])
        assert b"LeakyCam" not in data
        assert not image.getexif()
    assert pipeline.thumbnail(f"{key}/w512.avif")["ContentType"] == "image/avif"
    # AND the manifest's placeholder is a portrait ThumbHash with a dominant colour
    placeholder = manifest["placeholder"]
    assert placeholder["hashType"] == "thumbhash"
    assert approximate_aspect_ratio(base64.b64decode(placeholder["hash"])) < 1
    assert placeholder["dominantColor"].startswith("#")


def test_the_smart_square_follows_the_subject(pipeline: LocalPipeline) -> None:
    # GIVEN a photo whose subject sits far to one side
    subject = off_centre_subject(0)
    key = "photos/off-centre.jpg"
    pipeline.upload(key, jpeg(subject.image, quality=95))

    # WHEN processed
    pipeline.run()

    # THEN the square shows the region the smart crop picks, far closer than the centre's
    square, _ = _image(pipeline, f"{key}/square-128.jpg")
    planned = place(Preset(name="s", width=128, height=128, mode="cover", gravity="smart"), subject.image.size)
    fit = subject.image.resize((256, round(256 * subject.image.height / subject.image.width)))
    smart = smart_box(saliency(fit), subject.image.size, planned.box)

    def difference(box: tuple[float, float, float, float]) -> float:
        expected = subject.image.resize((128, 128), Image.Resampling.LANCZOS, box=box)
        return float(np.abs(np.asarray(square, dtype=float) - np.asarray(expected, dtype=float)).mean())

    assert difference(smart) < difference(planned.box) / 2
