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
    """The source bytes cannot become thumbnails; `reason` is the typed code, `detail` is for people.

    `detail` is one short line saying what is wrong in plain words, with any counts and limits
    as numbers ("the image data ends early (truncated file)"). It never carries a library's own
    message, an exception class name or a repr of bytes: those stay on the chained exception.
    """

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail
