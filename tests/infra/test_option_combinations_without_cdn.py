"""The 8 combinations of the optional parts without the CDN, default encryption: cdk-nag, cfn-lint and checkov clean
(see option_combinations.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .option_combinations import COMBINATIONS, OPTIONS, assert_passes_the_scanners, combination_id, subset


def test_the_four_files_cover_every_combination_once() -> None:
    assert len(COMBINATIONS) == 2 ** len(OPTIONS) == 32
    covered = [
        combination_id(overrides)
        for cdn in (True, False)
        for encryption in ("kms", "service")
        for overrides in subset(cdn=cdn, encryption=encryption)
    ]
    assert sorted(covered) == sorted(map(combination_id, COMBINATIONS))
    assert len(set(covered)) == 32


@pytest.mark.parametrize("overrides", subset(cdn=False, encryption="service"), ids=combination_id)
def test_every_combination_passes_the_scanners(overrides: dict[str, Any], tmp_path: Path) -> None:
    assert_passes_the_scanners(overrides, tmp_path)
