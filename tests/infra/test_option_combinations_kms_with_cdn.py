"""The 8 combinations of the optional parts with the CDN and `encryption: "kms"`: cdk-nag, cfn-lint and checkov clean
(see option_combinations.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .option_combinations import assert_passes_the_scanners, combination_id, subset


@pytest.mark.parametrize("overrides", subset(cdn=True, encryption="kms"), ids=combination_id)
def test_every_combination_passes_the_scanners(overrides: dict[str, Any], tmp_path: Path) -> None:
    assert_passes_the_scanners(overrides, tmp_path)
