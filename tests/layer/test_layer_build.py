"""The imaging layer, built by the real bundler with pip, works on its own: no venv, no site-packages.

Slow (pip installs real wheels). This machine is x86_64 with Python 3.11, so the import test builds
for that pair; the real target (arm64, 3.14) is checked by what it contains.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from stacks.application import build_app
from stacks.cdk_json import default_function_config
from stacks.constants import FUNCTION_CODE_DIR, LAYER_DIR
from stacks.constructs.imaging_layer import REQUIREMENTS_FILE, LayerBuildError, build_layer

pytestmark = pytest.mark.slow

BOTO3_VERSION = version("boto3")

# Runs in the isolated interpreter, as Lambda would: the real handler module from the code asset, Pillow and
# Powertools from the layer, boto3 from a stand-in for the runtime; renders cdk.json's presets (argv[1]).
CANARY = """
import io, json, sys
import aws_lambda_powertools, boto3
from PIL import Image
import thumbnailer.handler as handler
from thumbnailer.contract import FunctionConfig
from thumbnailer.imaging.engine import make_thumbnails

config = FunctionConfig.from_mapping(json.loads(sys.argv[1]), "thumbnails")
source = io.BytesIO()
Image.linear_gradient("L").resize((800, 600)).convert("RGB").save(source, format="JPEG", quality=90)
rendition = make_thumbnails(source.getvalue(), config.presets, config.limits)
print(json.dumps({
    "pil": Image.__file__,
    "powertools": aws_lambda_powertools.__file__,
    "boto3": boto3.__file__,
    "handler": handler.__file__,
    "entry_point": callable(handler.lambda_handler),
    "outputs": [[t.preset.name, Image.open(io.BytesIO(t.data)).format] for t in rendition.thumbnails],
    "path": sys.path,
}))
"""


def base_interpreter() -> str:
    """This Python without the venv (a venv's python would still see the venv's site-packages)."""
    return getattr(sys, "_base_executable", sys.executable)


def run_in_lambda_like_interpreter(
    script: str, *args: str, path: tuple[Path, ...], env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run `script` in a bare interpreter (-S: no site-packages, -s: no user site, -B: leave no bytecode) that sees
    only the code asset and `path`, as Lambda's would; it must succeed and print a JSON report, returned."""
    python_path = os.pathsep.join(str(entry) for entry in (FUNCTION_CODE_DIR, *path))
    result = subprocess.run(
        [base_interpreter(), "-S", "-s", "-B", "-c", script, *args],
        env={"PYTHONPATH": python_path, "PATH": "/usr/bin:/bin", **(env or {})},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


@pytest.fixture(scope="module")
def runtime_stand_in(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """boto3 at this venv's version, alone in a folder: what the Lambda runtime provides besides the layer."""
    target = tmp_path_factory.mktemp("runtime")
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(target), f"boto3=={BOTO3_VERSION}"]
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    shutil.rmtree(target / "bin", ignore_errors=True)
    return target


@pytest.fixture(scope="module")
def built_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out_dir = tmp_path_factory.mktemp("layer")
    python_version = f"{sys.version_info.major}.{sys.version_info.minor}"
    return build_layer(LAYER_DIR / REQUIREMENTS_FILE, out_dir, python_version, "manylinux_2_28_x86_64")


def test_the_real_handler_imports_and_renders_with_the_layer_alone(built_layer: Path, runtime_stand_in: Path) -> None:
    # GIVEN the layer built for this machine's Python, the function's code asset and the runtime's boto3
    config = json.dumps(default_function_config().to_json())

    # WHEN a bare interpreter with only the code asset, the layer and boto3 imports the handler
    report = run_in_lambda_like_interpreter(
        CANARY, config, path=(built_layer, runtime_stand_in), env={"AWS_DEFAULT_REGION": "us-east-1"}
    )

    # THEN the handler is the code asset's, Pillow and Powertools the layer's, and every preset is rendered
    assert Path(report["handler"]).is_relative_to(FUNCTION_CODE_DIR)
    assert report["entry_point"] is True
    assert Path(report["pil"]).is_relative_to(built_layer)
    assert Path(report["powertools"]).is_relative_to(built_layer)
    assert Path(report["boto3"]).is_relative_to(runtime_stand_in)
    assert not [entry for entry in report["path"] if "site-packages" in entry]
    expected_formats = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}
    assert [tuple(output) for output in report["outputs"]] == [
        (preset.name, expected_formats[preset.format]) for preset in default_function_config().presets
    ]


HEIC_CANARY = """
import json, sys
from thumbnailer.imaging.engine import make_thumbnails
from thumbnailer.contract import FunctionConfig
import PIL.Image

config = FunctionConfig.from_mapping(json.loads(sys.argv[1]), "thumbnails")
rendition = make_thumbnails(open(sys.argv[2], "rb").read(), config.presets, config.limits)
import pi_heif
print(json.dumps({
    "pi_heif": pi_heif.__file__,
    "source": [rendition.source.format, rendition.source.width, rendition.source.height],
    "placeholder": rendition.placeholder.to_json(),
}))
"""


def test_the_layer_alone_decodes_an_iphone_heic(built_layer: Path, runtime_stand_in: Path, tmp_path: Path) -> None:
    # GIVEN an iPhone-style HEIC (encoded here with the dev-only pillow-heif) and the layer built with pip
    from local.samples import iphone_heic

    source = tmp_path / "IMG_0001.heic"
    source.write_bytes(iphone_heic(width=300, height=400))
    config = json.dumps(default_function_config().to_json())

    # WHEN a bare interpreter makes cdk.json's presets of it
    report = run_in_lambda_like_interpreter(HEIC_CANARY, config, str(source), path=(built_layer, runtime_stand_in))

    # THEN pi-heif from the layer decoded it, upright, and the rendition has a placeholder
    assert Path(report["pi_heif"]).is_relative_to(built_layer)
    assert report["source"] == ["heif", 300, 400]
    assert report["placeholder"]["hashType"] == "thumbhash"


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
    assert [path.name for path in site_dir.glob("_pi_heif.*.so")] == ["_pi_heif.cpython-314-aarch64-linux-gnu.so"]
