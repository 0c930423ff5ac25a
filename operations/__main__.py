"""`python -m operations` runs the `thumbnails` CLI (what the console script runs once the package is installed)."""

from operations.cli import app

app(prog_name="thumbnails")
