"""The 8 combinations of the optional parts with the CDN: cdk-nag and cfn-lint clean (see option_combinations.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .option_combinations import assert_passes_cdk_nag_and_cfn_lint, combination_id, with_cdn


@pytest.mark.parametrize("overrides", with_cdn(True), ids=combination_id)
def test_every_combination_passes_cdk_nag_and_cfn_lint(overrides: dict[str, Any], tmp_path: Path) -> None:
    assert_passes_cdk_nag_and_cfn_lint(overrides, tmp_path)
