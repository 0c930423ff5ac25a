"""app.py as the CDK CLI runs it: overrides arrive as a JSON string, bad config is one clear line and exit 1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from stacks.constants import REPO_ROOT, STACK_NAME


def run_app(*, context: dict[str, object], outdir: Path) -> subprocess.CompletedProcess[str]:
    """Run app.py the way `cdk synth` does: context in CDK_CONTEXT_JSON, output dir in CDK_OUTDIR."""
    environment = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(outdir)}
    return subprocess.run(
        [sys.executable, "app.py"],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_a_bad_override_stops_synth_with_one_line_naming_the_key(tmp_path: Path) -> None:
    # GIVEN `cdk synth -c thumbnailsOverrides='{"memoryMb": "x"}'`
    # WHEN the app runs
    result = run_app(context={"thumbnailsOverrides": '{"memoryMb": "x"}'}, outdir=tmp_path)

    # THEN it exits 1 with the message, not a traceback
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "Invalid configuration: thumbnails.memoryMb: expected an integer from 512 to 10240, got 'x'"
    )
    assert not (tmp_path / f"{STACK_NAME}.template.json").exists()


def test_a_json_string_override_reaches_the_template(tmp_path: Path) -> None:
    # GIVEN an override as the CLI passes it (a JSON string), layer bundling skipped for speed
    context = {"thumbnailsOverrides": '{"memoryMb": 2048}', "aws:cdk:bundling-stacks": []}

    # WHEN the app synthesizes
    result = run_app(context=context, outdir=tmp_path)

    # THEN the function has the overridden memory
    assert result.returncode == 0, result.stderr
    template = json.loads((tmp_path / f"{STACK_NAME}.template.json").read_text())
    memory = [
        resource["Properties"]["MemorySize"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
    ]
    assert memory == [2048]


ONE_INTERPRETER = """
import json, sys
from pathlib import Path
from stacks.application import build_app
app, _ = build_app(context={"aws:cdk:bundling-stacks": []}, validate_template=False)
app.synth()
import thumbnailer.handler
functions_dir = Path(sys.argv[1]).resolve()
names_by_file = {}
for name, module in list(sys.modules.items()):
    path = getattr(module, "__file__", None)
    if path and Path(path).resolve().is_relative_to(functions_dir):
        names_by_file.setdefault(str(Path(path).resolve()), []).append(name)
print(json.dumps(names_by_file))
"""


def test_the_app_and_the_handler_load_each_function_module_once(tmp_path: Path) -> None:
    # GIVEN one interpreter that builds the CDK app and then imports the function's handler, as the demo does
    functions_dir = REPO_ROOT / "functions"
    environment = {**os.environ, "CDK_OUTDIR": str(tmp_path)}

    # WHEN the modules loaded from functions/ are listed with the names they were loaded under
    result = subprocess.run(
        [sys.executable, "-c", ONE_INTERPRETER, str(functions_dir)],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )

    # THEN every file was loaded once, under the name Lambda uses (`thumbnailer...`)
    assert result.returncode == 0, result.stderr
    names_by_file = json.loads(result.stdout.strip().splitlines()[-1])
    assert str(functions_dir / "thumbnailer" / "contract.py") in names_by_file
    assert str(functions_dir / "thumbnailer" / "handler.py") in names_by_file
    for path, names in names_by_file.items():
        assert len(names) == 1, f"{path} loaded as {names}"
        assert names[0].startswith("thumbnailer"), f"{path} loaded as {names[0]}"
