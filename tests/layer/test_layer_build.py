"""The imaging layer, built by the real bundler with pip, works on its own: no venv, no site-packages.

Slow (pip installs real wheels). This machine is x86_64 with Python 3.11, so the import test builds
for that pair; the real target (arm64, 3.14) is checked by what it contains.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stacks.application import build_app
from stacks.constants import LAYER_DIR
from stacks.constructs.imaging_layer import REQUIREMENTS_FILE, LayerBuildError, build_layer

pytestmark = pytest.mark.slow

# Runs in the isolated interpreter: imports only from the layer and makes a thumbnail of a generated JPEG.
CANARY = """
import io, json, sys
from PIL import Image, ImageOps
import aws_lambda_powertools
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

source = io.BytesIO()
Image.linear_gradient("L").resize((800, 600)).convert("RGB").save(source, format="JPEG", quality=90)
image = Image.open(io.BytesIO(source.getvalue()))
thumbnail = ImageOps.fit(image, (128, 128))
out = io.BytesIO()
thumbnail.save(out, format="WEBP", quality=80)
print(json.dumps({
    "pil": Image.__file__,
    "powertools": aws_lambda_powertools.__file__,
    "size": Image.open(io.BytesIO(out.getvalue())).size,
    "format": Image.open(io.BytesIO(out.getvalue())).format,
    "path": sys.path,
}))
"""


def base_interpreter() -> str:
    """This Python without the venv (a venv's python would still see the venv's site-packages)."""
    return getattr(sys, "_base_executable", sys.executable)


@pytest.fixture(scope="module")
def built_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out_dir = tmp_path_factory.mktemp("layer")
    python_version = f"{sys.version_info.major}.{sys.version_info.minor}"
    return build_layer(LAYER_DIR / REQUIREMENTS_FILE, out_dir, python_version, "manylinux_2_28_x86_64")


def test_layer_imports_and_makes_a_thumbnail_in_an_isolated_interpreter(built_layer: Path) -> None:
    # GIVEN the layer built for this machine's Python
    # WHEN a bare interpreter (-S: no site-packages, -s: no user site, -B: leave no bytecode) imports from it alone
    result = subprocess.run(
        [base_interpreter(), "-S", "-s", "-B", "-c", CANARY],
        env={"PYTHONPATH": str(built_layer), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )

    # THEN Pillow and Powertools come from the layer and a thumbnail is made
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert Path(report["pil"]).is_relative_to(built_layer)
    assert Path(report["powertools"]).is_relative_to(built_layer)
    assert not [entry for entry in report["path"] if "site-packages" in entry]
    assert (report["size"], report["format"]) == ([128, 128], "WEBP")


def test_layer_has_no_console_scripts_or_bytecode(built_layer: Path) -> None:
    assert not (built_layer / "bin").exists()
    assert not list(built_layer.rglob("*.pyc"))


def test_a_failing_pip_raises_with_pips_explanation(tmp_path: Path) -> None:
    # GIVEN a requirements file pip cannot parse
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("this is not a requirement!!\n")

    # WHEN the layer is built / THEN the error says what and why, instead of falling back to anything
    with pytest.raises(LayerBuildError, match=r"pip could not build the imaging layer .* manylinux_2_28_aarch64"):
        build_layer(requirements, tmp_path / "out", "3.14", "manylinux_2_28_aarch64")


def test_cdk_bundles_the_layer_for_arm64_and_python_3_14(tmp_path: Path) -> None:
    # GIVEN the app synthesized with real layer bundling (what `cdk synth` does)
    app, stack = build_app(outdir=str(tmp_path), validate_template=False)

    # WHEN synthesized
    assembly = app.synth()

    # THEN the layer asset holds Pillow's native modules for CPython 3.14 on aarch64, under python/
    template = assembly.get_stack_by_name(stack.stack_name).template
    [layer] = [value for value in template["Resources"].values() if value["Type"] == "AWS::Lambda::LayerVersion"]
    asset_hash = layer["Properties"]["Content"]["S3Key"].removesuffix(".zip")
    site_dir = tmp_path / f"asset.{asset_hash}" / "python"
    assert (site_dir / "aws_lambda_powertools").is_dir()
    native = sorted(path.name for path in (site_dir / "PIL").glob("_imaging.*.so"))
    assert native == ["_imaging.cpython-314-aarch64-linux-gnu.so"]
