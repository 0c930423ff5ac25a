"""Why an image is refused. Every refusal is permanent: retrying the same bytes cannot help."""

from __future__ import annotations

from enum import StrEnum


class RejectReason(StrEnum):
    NOT_AN_IMAGE = "not_an_image"
    UNSUPPORTED_FORMAT = "unsupported_format"
    TOO_LARGE = "too_large"
    TOO_MANY_PIXELS = "too_many_pixels"
    TOO_MANY_FRAMES = "too_many_frames"
    TRUNCATED = "truncated"
    CORRUPT = "corrupt"


class ImageRejected(Exception):
    """The source bytes cannot become thumbnails; `reason` is the typed code, `detail` is for humans."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail
