"""cfn-lint on the synthesized template: clean, except the findings listed (with reasons) below."""

from __future__ import annotations

from cfnlint.api import ManualArgs, lint

from stacks.constants import STACK_NAME

from .conftest import Synthesized

# The only place cfn-lint findings are ignored. Each entry: rule id -> why it is not a problem.
IGNORED_RULES = {
    "W3005": "CDK adds an explicit DependsOn on the function's role next to the GetAtt, so the role's policy "
    "exists before the function; redundant but harmless, and not ours to change.",
}


def test_template_passes_cfn_lint(default_stack: Synthesized) -> None:
    # GIVEN the synthesized template
    template = (default_stack.outdir / f"{STACK_NAME}.template.json").read_text()

    # WHEN cfn-lint checks it
    matches = lint(template, config=ManualArgs(regions=["us-east-1"], ignore_checks=list(IGNORED_RULES)))

    # THEN there is nothing to report
    assert [f"{match.rule.id} {match.message}" for match in matches] == []
