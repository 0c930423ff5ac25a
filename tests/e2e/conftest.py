"""Shared e2e fixtures: the app is synthesized once per session; each test module deploys it into moto."""

from __future__ import annotations

import pytest

from local.moto_cloud import StackAssembly, synthesize


@pytest.fixture(scope="session")
def pipeline_assembly(tmp_path_factory: pytest.TempPathFactory) -> StackAssembly:
    """The project's app, synthesized in-process with cdk.json's configuration (layer bundling skipped)."""
    return synthesize(outdir=tmp_path_factory.mktemp("cdk.out"))
