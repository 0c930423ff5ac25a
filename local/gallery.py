"""The demo's gallery: one self-contained HTML page (inline CSS, images linked by relative path)."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from local.thumbhash import thumbhash_to_image

NOT_PROCESSED = "not processed"


@dataclass(frozen=True)
class UploadResult:
    """One upload and what the pipeline made of it."""

    key: str
    description: str
    bytes: int
    ms: float  # the function's invocation for this upload, S3 calls (to moto) included
    manifest: Mapping[str, Any] | None  # None: no manifest (the key was outside the rule's filter)
    local_files: Mapping[str, str]  # thumbnails-bucket key -> path relative to the gallery page

    @property
    def status(self) -> str:
        return self.manifest["status"] if self.manifest else NOT_PROCESSED

    @property
    def reason(self) -> str | None:
        return self.manifest.get("reason") if self.manifest else None

    def to_summary(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "description": self.description,
            "bytes": self.bytes,
            "ms": self.ms,
            "status": self.status,
            "reason": self.reason,
            "detail": self.manifest.get("detail") if self.manifest else None,
            "source": self.manifest.get("source") if self.manifest else None,
            "variants": [
                {**variant, "file": self.local_files.get(variant["key"])}
                for variant in (self.manifest.get("variants", []) if self.manifest else [])
            ],
        }


STYLE = """
body { font: 15px/1.4 system-ui, sans-serif; margin: 2rem; color: #222; background: #fafafa; }
h1 { margin-bottom: .2rem; } .notes { color: #666; margin-top: 0; }
section { background: #fff; border: 1px solid #ddd; border-radius: 8px; padding: 1rem 1.2rem; margin: 1.2rem 0; }
h2 { font-size: 1.05rem; margin: 0 0 .3rem; word-break: break-all; }
.facts { color: #555; margin: 0 0 .8rem; }
.status { display: inline-block; padding: 0 .5rem; border-radius: 4px; color: #fff; font-size: .85rem; }
.complete { background: #2e7d32; } .rejected { background: #c62828; } .not-processed { background: #757575; }
.variants { display: flex; flex-wrap: wrap; gap: 1rem; align-items: flex-end; }
.variants img { width: auto; height: auto; max-width: min(100%, 256px); max-height: 192px; }
figure { margin: 0; text-align: center; }
figure img { display: block; max-width: 100%; border: 1px solid #ccc;
  background: repeating-conic-gradient(#eee 0% 25%, #fff 0% 50%) 50% / 16px 16px; }
figcaption { font-size: .8rem; color: #555; margin-top: .3rem; }
.placeholder img { image-rendering: auto; }
.swatch { display: inline-block; width: .9em; height: .9em; border: 1px solid #999; vertical-align: -.1em; }
"""


def render_gallery(results: Sequence[UploadResult], *, title: str, notes: str) -> str:
    sections = "\n".join(_section(result) for result in results)
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>\n"
        f"<body><h1>{html.escape(title)}</h1><p class='notes'>{html.escape(notes)}</p>\n{sections}\n</body></html>\n"
    )


def _section(result: UploadResult) -> str:
    css_class = result.status.replace(" ", "-")
    facts = [f"{result.bytes:,} bytes uploaded", f"{result.ms:.0f} ms in the function", html.escape(result.description)]
    manifest = result.manifest or {}  # {} only when there is none, and the status is then NOT_PROCESSED
    source = manifest.get("source", {})
    if source.get("width"):
        frames = f", {source['frames']} frames" if source.get("frames", 1) > 1 else ""
        facts.insert(0, f"{source['format']} {source['width']}&times;{source['height']}{frames}")
    body = ""
    if result.status == "complete":
        figures = [_figure(result, variant) for variant in manifest["variants"]]
        if manifest.get("placeholder"):
            figures.insert(0, _placeholder_figure(manifest["placeholder"], manifest["variants"]))
        body = "<div class='variants'>" + "".join(figures) + "</div>"
    elif result.status == "rejected":
        body = f"<p><b>{html.escape(str(result.reason))}</b>: {html.escape(str(manifest.get('detail', '')))}</p>"
    else:
        body = "<p>No manifest: the key is outside the rule's prefix/suffix filter, so no event reached the queue.</p>"
    return (
        f"<section><h2>{html.escape(result.key)} <span class='status {css_class}'>{html.escape(result.status)}</span>"
        f"</h2><p class='facts'>{' · '.join(facts)}</p>{body}</section>"
    )


def _figure(result: UploadResult, variant: Mapping[str, Any]) -> str:
    path = result.local_files.get(variant["key"], "")
    caption = " · ".join(
        [
            html.escape(variant["preset"]),
            f"{variant['width']}&times;{variant['height']}",
            html.escape(variant["format"]),
            f"{variant['bytes']:,} B",
        ]
    )
    return (
        f"<figure><a href='{quote(path)}'><img loading='lazy' src='{quote(path)}' width='{variant['width']}' "
        f"height='{variant['height']}' alt='{html.escape(variant['preset'])}'></a>"
        f"<figcaption>{caption}</figcaption></figure>"
    )


def _placeholder_figure(placeholder: Mapping[str, Any], variants: Sequence[Mapping[str, Any]]) -> str:
    """The manifest's placeholder as a page would show it before the thumbnail loads: the ThumbHash decoded
    (here in Python; a browser would use the `thumbhash` npm package) and stretched to the smallest `fit`
    variant's box, on the dominant colour."""
    picture = thumbhash_to_image(base64.b64decode(placeholder["hash"]))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    source = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    width = min((variant["width"] for variant in variants), default=picture.width)
    height = round(width * picture.height / picture.width)
    colour = html.escape(placeholder["dominantColor"])
    caption = (
        f"placeholder · {html.escape(placeholder['hashType'])} {len(base64.b64decode(placeholder['hash']))} B · "
        f"<span class='swatch' style='background:{colour}'></span> {colour}"
    )
    return (
        f"<figure class='placeholder'><img src='{source}' width='{width}' height='{height}' "
        f"style='background:{colour}' alt='placeholder'><figcaption>{caption}</figcaption></figure>"
    )
