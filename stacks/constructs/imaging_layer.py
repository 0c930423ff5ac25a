"""The function's dependency layer (Pillow + Powertools), built with pip for the Lambda platform, no Docker."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from stacks.constants import ARCHITECTURE, LAMBDA_RUNTIME, LAYER_DIR, LAYER_PIP_PLATFORM, LAYER_PYTHON_VERSION

REQUIREMENTS_FILE = "requirements.txt"
# Lambda adds /opt/python to sys.path, and a layer unzips into /opt.
LAYER_SITE_DIR = "python"
# Never pulled: local bundling always succeeds or raises, and CDK only needs an image name to exist.
UNUSED_DOCKER_IMAGE = "unused-local-bundling-only"
PIP_OUTPUT_TAIL_CHARS = 4000


class LayerBuildError(RuntimeError):
    """pip could not build the layer; the message carries pip's own explanation."""


def build_layer(requirements: Path, out_dir: Path, python_version: str, platform: str) -> Path:
    """Install `requirements` as binary wheels for another platform into `out_dir/python`; return that folder.

    `platform` is a pip platform tag such as `manylinux_2_28_aarch64`, `python_version` like `3.14`.
    Only wheels are accepted (`--only-binary=:all:`): a source build would compile for this machine,
    not for Lambda. Raises LayerBuildError when pip fails — there is no Docker fallback.
    """
    site_dir = out_dir / LAYER_SITE_DIR
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--requirement",
        str(requirements),
        "--target",
        str(site_dir),
        "--platform",
        platform,
        "--python-version",
        python_version,
        "--implementation",
        "cp",
        "--only-binary=:all:",
        "--no-compile",  # bytecode compiled here would be for this interpreter, not the runtime's
        "--disable-pip-version-check",
        "--quiet",
    ]
    # No shell, and every argument is ours: this interpreter, our requirements file, our target tags.
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        output = (result.stdout + result.stderr)[-PIP_OUTPUT_TAIL_CHARS:]
        raise LayerBuildError(
            f"pip could not build the imaging layer from {requirements} for {platform} / Python {python_version} "
            f"(exit code {result.returncode}):\n{output}"
        )
    # Console scripts (e.g. jmespath's jp.py) point at this machine's interpreter and are never run in Lambda.
    shutil.rmtree(site_dir / "bin", ignore_errors=True)
    return site_dir


@jsii.implements(ILocalBundling)
class PipLocalBundling:
    """CDK's local bundling hook: runs `build_layer` for the function's exact runtime and architecture."""

    def __init__(self, *, requirements: Path, python_version: str, platform: str) -> None:
        self.requirements = requirements
        self.python_version = python_version
        self.platform = platform

    # The keyword-only `image` matters: jsii unpacks the BundlingOptions struct into keyword arguments
    # only when the method declares at least one; the other options arrive in `_options`, unused.
    def try_bundle(self, output_dir: str, *, image: DockerImage, **_options: Any) -> bool:
        build_layer(self.requirements, Path(output_dir), self.python_version, self.platform)
        return True


class ImagingLayer(Construct):
    """A LayerVersion built from `layers/imaging/requirements.txt` for LAMBDA_RUNTIME on ARCHITECTURE."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        bundling = BundlingOptions(
            image=DockerImage.from_registry(UNUSED_DOCKER_IMAGE),
            local=PipLocalBundling(
                requirements=LAYER_DIR / REQUIREMENTS_FILE,
                python_version=LAYER_PYTHON_VERSION,
                platform=LAYER_PIP_PLATFORM,
            ),
            # Not used to run anything: the bundling options are part of the asset hash, so naming the
            # target here makes a runtime or architecture change rebuild the layer.
            environment={"TARGET_PYTHON_VERSION": LAYER_PYTHON_VERSION, "TARGET_PLATFORM": LAYER_PIP_PLATFORM},
        )
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            code=lambda_.Code.from_asset(str(LAYER_DIR), bundling=bundling),
            compatible_runtimes=[LAMBDA_RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description=f"Pillow and Powertools for {LAMBDA_RUNTIME.name} on {ARCHITECTURE.name}",
        )
