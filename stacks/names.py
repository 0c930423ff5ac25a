"""Names shared by the CDK app and the operator CLI, importable without the CDK (the CLI must start fast)."""

from __future__ import annotations

STACK_NAME = "ThumbnailPipeline"
