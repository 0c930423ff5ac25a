"""`thumbnails`, the operator CLI: status, backfill and DLQ redrive against a deployed pipeline stack.

Console script: `thumbnails = "operations.cli:app"`. Standard library, boto3, typer and rich; the function's pure
modules (contract, fingerprint, backfill message) so that what the CLI checks and sends is what the function
reads. Never the CDK: the CLI starts in well under a second.
"""
