"""The 8 combinations of the optional parts without the CDN: cdk-nag and cfn-lint clean (see option_combinations.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .option_combinations import COMBINATIONS, OPTIONS, assert_passes_cdk_nag_and_cfn_lint, combination_id, with_cdn


def test_the_two_files_cover_every_combination_once() -> None:
    assert len(COMBINATIONS) == 2 ** len(OPTIONS) == 16
    assert sorted(map(combination_id, with_cdn(True) + with_cdn(False))) == sorted(map(combination_id, COMBINATIONS))
    assert len(set(map(combination_id, COMBINATIONS))) == 16


@pytest.mark.parametrize("overrides", with_cdn(False), ids=combination_id)
def test_every_combination_passes_cdk_nag_and_cfn_lint(overrides: dict[str, Any], tmp_path: Path) -> None:
    assert_passes_cdk_nag_and_cfn_lint(overrides, tmp_path)
