"""Names shared by the CDK app and the operator CLI, importable without the CDK (the CLI must start fast)."""

from __future__ import annotations

import re

STACK_NAME = "ThumbnailPipeline"  # the default; `-c stackName=...` deploys another copy under another name
STACK_NAME_CONTEXT_KEY = "stackName"
STACK_NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,127}")  # CloudFormation's rule for stack names
