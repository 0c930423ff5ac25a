"""Outcomes: typed, with reasons from a closed set."""

from __future__ import annotations

import pytest

from thumbnailer.imaging.rejections import RejectReason
from thumbnailer.outcomes import (
    Completed,
    MessageRejectReason,
    Rejected,
    Removed,
    Skipped,
    SkipReason,
    TransientError,
)


@pytest.mark.parametrize("reason", [*RejectReason, *MessageRejectReason])
def test_every_image_and_message_reason_is_a_rejection_reason(reason: str) -> None:
    rejected = Rejected(reason=reason, detail="why")

    assert rejected.reason == reason
    assert rejected.kind == "rejected"


def test_a_plain_string_reason_from_the_closed_set_is_accepted() -> None:
    assert Rejected(reason="source_missing", detail="gone").reason == MessageRejectReason.SOURCE_MISSING


def test_an_unknown_rejection_reason_is_a_bug() -> None:
    with pytest.raises(ValueError, match="unknown reject reason 'oops'"):
        Rejected(reason="oops", detail="")


def test_each_outcome_names_its_kind() -> None:
    assert Completed(key="k", variant_keys=("k/a.jpg",)).kind == "completed"
    assert Skipped(reason=SkipReason.SUPERSEDED, key="k").kind == "skipped"
    assert Removed(key="k", variant_keys=()).kind == "removed"
    assert TransientError("SlowDown", "reduce your request rate").kind == "transient"


def test_a_transient_error_keeps_its_reason_and_detail() -> None:
    error = TransientError("AccessDenied", "not allowed")

    assert (error.reason, error.detail, str(error)) == ("AccessDenied", "not allowed", "AccessDenied: not allowed")


def test_outcomes_are_immutable() -> None:
    outcome = Skipped(reason=SkipReason.KEY_FILTERED, key="a.txt")

    with pytest.raises(AttributeError):
        outcome.key = "b.txt"  # type: ignore[misc]
