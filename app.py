#!/usr/bin/env python3
"""CDK entry point: `cdk synth` / `cdk deploy`. Everything else lives in stacks/application.py."""

import sys

from stacks.application import build_app
from thumbnailer.imaging.presets import ConfigError

try:
    app, _stack = build_app()
except ConfigError as error:
    sys.exit(f"Invalid configuration: {error}")
app.synth()
