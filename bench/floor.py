"""The decode floor: what no engine can avoid, at the decode scale and with the encoder settings this engine chose.

Floor = the engine's own single decode (`engine.decode_only`: same decoder, JPEG draft scale from
`engine.plan`, orientation and colour; full size for PNG, WebP and GIF, which cannot shrink while
decoding; first frame only) + the engine's own encodes, replayed: the very images it handed to the
encoder, with the very same save parameters. What the engine spends above the floor is resampling,
alpha flattening and overhead.

The encodes are observed rather than re-derived: while the engine runs once, `Image.save` is wrapped
to record each call, so the replay follows the engine's optimize flags and WebP effort without a copy
of them that could drift. `JpegImageFile.draft` is wrapped too, to check that `plan` tells the truth
about the scale the engine really decodes at. The recorded pre-encode images also let the quality
check separate resampling error from codec loss.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, JpegImagePlugin

from thumbnailer.imaging.engine import Rendition, decode_only, make_thumbnails, plan
from thumbnailer.imaging.presets import Limits, Preset


@dataclass(frozen=True)
class DraftRequest:
    """One `draft(mode, size)` call the engine made, and the DCT scale (1, 2, 4 or 8) it produced."""

    mode: str | None
    size: tuple[int, int] | None
    scale: int


@dataclass(frozen=True)
class CapturedSave:
    """One `Image.save` call the engine made: a copy of the image it encoded and the parameters."""

    image: Image.Image
    format: str | None
    params: dict[str, Any]

    def replay(self) -> bytes:
        buffer = io.BytesIO()
        self.image.save(buffer, format=self.format, **self.params)
        return buffer.getvalue()


@dataclass(frozen=True)
class EngineObservation:
    rendition: Rendition
    planned_scale: int  # what `engine.plan` says the JPEG draft scale is (1 for other formats)
    drafts: tuple[DraftRequest, ...]  # what the engine actually asked the JPEG decoder for
    saves: tuple[CapturedSave, ...] = field(repr=False)

    @property
    def decode_scale(self) -> str:
        """`1/2` etc. for the report, flagged when the planned and the observed scale disagree."""
        observed = next((draft.scale for draft in self.drafts if draft.scale > 1), 1)
        text = f"1/{self.planned_scale}"
        return text if observed == self.planned_scale else f"{text} (but decoded at 1/{observed}!)"


@contextmanager
def _recording(owner: type, name: str, record: Callable[..., None]) -> Iterator[None]:
    """Wrap `owner.name` so every call is passed to `record(self, result, *args, **kwargs)` too."""
    original = getattr(owner, name)

    def wrapper(self: object, *args: object, **kwargs: object) -> object:
        result = original(self, *args, **kwargs)
        record(self, result, *args, **kwargs)
        return result

    setattr(owner, name, wrapper)
    try:
        yield
    finally:
        setattr(owner, name, original)


def observe_engine(data: bytes, presets: Sequence[Preset], limits: Limits) -> EngineObservation:
    """Run the engine once on `data`, recording its draft requests and its encoder calls."""
    drafts: list[DraftRequest] = []
    saves: list[CapturedSave] = []

    def record_draft(image: JpegImagePlugin.JpegImageFile, _result: object, mode: str | None, size: Any) -> None:
        scale = image.decoderconfig[0] if image.decoderconfig else 1
        drafts.append(DraftRequest(mode=mode, size=tuple(size) if size else None, scale=scale))

    def record_save(image: Image.Image, _result: object, _fp: object, format: str | None = None, **params: Any) -> None:
        saves.append(CapturedSave(image=image.copy(), format=format, params=params))

    with (
        _recording(JpegImagePlugin.JpegImageFile, "draft", record_draft),
        _recording(Image.Image, "save", record_save),
    ):
        rendition = make_thumbnails(data, presets, limits)
    return EngineObservation(
        rendition=rendition,
        planned_scale=plan(data, presets, limits).draft_scale,
        drafts=tuple(drafts),
        saves=tuple(saves),
    )


def decode_floor(
    data: bytes, presets: Sequence[Preset], limits: Limits, observation: EngineObservation
) -> Callable[[], object]:
    """A callable doing exactly the floor's work, for timing beside the engine."""

    def run() -> object:
        decode_only(data, presets, limits)
        return [save.replay() for save in observation.saves]

    return run
