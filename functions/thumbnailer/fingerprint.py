"""The fingerprint of what a set was made with: the configured presets (canonical form) and the engine version.

Every complete manifest records it. A set is *stale* when its fingerprint differs from the one the deployed
function computes from its own configuration: a preset was added, dropped or changed, or the engine changed
(ENGINE_VERSION). Canonical means independent of how cdk.json spells the presets: each preset in the form
`preset_to_json` writes (every setting its format uses, defaults filled in), sorted by name (the order of the
list does not change any output), then hashed. A manifest without a fingerprint predates fingerprints and is
stale too: nothing proves which presets made it.

Pure standard library, so the operator CLI computes the deployed fingerprint from the function's environment.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from .imaging.presets import Preset, preset_to_json
from .imaging.version import ENGINE_VERSION

FINGERPRINT_LENGTH = 16  # hex digits of SHA-256: 64 bits, ample to tell configurations apart


def presets_fingerprint(presets: Iterable[Preset], *, engine_version: int = ENGINE_VERSION) -> str:
    """A short stable string, e.g. 'e1-5f0c2a9d1b7e4c3a', that changes with any preset or the engine version."""
    canonical = {
        "engine": engine_version,
        "presets": sorted((preset_to_json(preset) for preset in presets), key=lambda preset: preset["name"]),
    }
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(text.encode()).hexdigest()[:FINGERPRINT_LENGTH]
    return f"e{engine_version}-{digest}"
