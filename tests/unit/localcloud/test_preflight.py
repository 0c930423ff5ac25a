"""Commands that need Node or AWS credentials say in one line what is missing, without calling AWS."""

from __future__ import annotations

from pathlib import Path

import pytest

from local.preflight import PreflightError, check_aws, check_node, node_major


def fake_node(tmp_path: Path, version: str) -> str:
    node = tmp_path / "node"
    node.write_text(f"#!/bin/sh\necho {version}\n")
    node.chmod(0o755)
    return str(node)


@pytest.mark.parametrize(("output", "major"), [("v20.20.2\n", 20), ("v22.23.3", 22), ("24.1.0", 24)])
def test_node_major(output: str, major: int) -> None:
    assert node_major(output) == major


def test_node_22_passes_quietly(tmp_path: Path) -> None:
    assert check_node(fake_node(tmp_path, "v22.23.3")) is None


def test_node_20_works_with_a_one_line_recommendation(tmp_path: Path) -> None:
    note = check_node(fake_node(tmp_path, "v20.20.2"))
    assert note is not None
    assert "end-of-life" in note
    assert "Node 22" in note
    assert "\n" not in note


def test_node_18_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PreflightError, match="too old"):
        check_node(fake_node(tmp_path, "v18.20.0"))


def test_no_credentials_names_the_fixes(tmp_path: Path) -> None:
    # GIVEN an environment with no credentials anywhere (no files, no variables, no instance metadata)
    environ = {
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
        "AWS_REGION": "eu-west-1",
    }
    # WHEN / THEN one line says what is missing and how to fix it
    with pytest.raises(PreflightError) as raised:
        check_aws(environ)
    message = str(raised.value)
    assert message.startswith("no AWS credentials found")
    assert "aws configure" in message
    assert "AWS_ACCESS_KEY_ID" in message
    assert "\n" not in message


def test_no_region_is_named(tmp_path: Path) -> None:
    environ = {
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "secret",
    }
    with pytest.raises(PreflightError, match="no AWS region set"):
        check_aws(environ)


def test_a_missing_profile_is_named(tmp_path: Path) -> None:
    environ = {
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
        "AWS_PROFILE": "nowhere",
    }
    with pytest.raises(PreflightError, match="nowhere"):
        check_aws(environ)


def test_credentials_from_the_environment_pass(tmp_path: Path) -> None:
    environ = {
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_REGION": "eu-west-1",
    }
    assert check_aws(environ) == "credentials from env, region eu-west-1, endpoint AWS"
