"""cfn-lint on the synthesized template: clean, except the findings listed (with reasons) below."""

from __future__ import annotations

from pathlib import Path

import yaml
from cfnlint.api import ManualArgs, lint

from stacks.constants import STACK_NAME

from .conftest import Synthesized

# The same settings `make synth-check` runs cfn-lint with; the file gives each ignored rule's reason.
CFN_LINT_SETTINGS = yaml.safe_load((Path(__file__).parents[2] / ".cfnlintrc.yaml").read_text())


def test_template_passes_cfn_lint(default_stack: Synthesized) -> None:
    # GIVEN the synthesized template
    template = (default_stack.outdir / f"{STACK_NAME}.template.json").read_text()

    # WHEN cfn-lint checks it
    matches = lint(
        template,
        config=ManualArgs(regions=CFN_LINT_SETTINGS["regions"], ignore_checks=CFN_LINT_SETTINGS["ignore_checks"]),
    )

    # THEN there is nothing to report
    assert [f"{match.rule.id} {match.message}" for match in matches] == []
