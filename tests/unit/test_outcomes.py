"""Every typed failure lands in its outcome bucket, and the user reads words for it, never a traceback."""

from __future__ import annotations

import pytest

from switchboard.core.errors import (
    DeadLettered,
    LaneBackpressure,
    ModelUnavailable,
    StepTimeout,
    Superseded,
    SwitchboardError,
    ToolTimeout,
)
from switchboard.core.wire import ErrorInfo, Outcome
from switchboard.planner.outcomes import outcome_for, user_text


@pytest.mark.parametrize(("error", "outcome"), [
    (DeadLettered("delivered 4 times"), Outcome.DEAD_LETTERED), (ModelUnavailable("busy"), Outcome.MODEL_UNAVAILABLE),
    (ToolTimeout("slow"), Outcome.TOOL_FAILED), (StepTimeout("late"), Outcome.BUDGET_EXCEEDED),
    (LaneBackpressure("local:chat", 32, 32), Outcome.RATE_LIMITED), (Superseded(), Outcome.SILENT),
    (RuntimeError("bug"), Outcome.FAILED)])
def test_each_failure_has_its_bucket_and_words(error: BaseException, outcome: Outcome) -> None:
    assert outcome_for(error) == outcome
    text = user_text(outcome, error)
    assert (text == "") == (outcome == Outcome.SILENT)
    if text:
        code = error.code if isinstance(error, SwitchboardError) else "internal_error"
        assert text.endswith(f"(`{code}`)") and "Traceback" not in text


def test_a_dead_letter_travels_typed_between_services() -> None:
    restored = ErrorInfo.of(DeadLettered("step tool:crash:0 was delivered 3 times")).to_exception()
    assert isinstance(restored, DeadLettered) and outcome_for(restored) == Outcome.DEAD_LETTERED
