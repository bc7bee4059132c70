"""How a failed activation is told to the user: the outcome bucket and the words for it."""

from __future__ import annotations

from switchboard.core.errors import (
    BudgetExceeded,
    DeadLettered,
    InferenceError,
    InvalidPayload,
    LaneBackpressure,
    LaneFull,
    NoQualifiedModel,
    RoleNotConfigured,
    Stale,
    StepTimeout,
    Superseded,
    SwitchboardError,
    ToolError,
)
from switchboard.core.plugins import CallContext
from switchboard.core.wire import ErrorInfo, Outcome, Reply

_BUCKETS: tuple[tuple[type[SwitchboardError], Outcome], ...] = (
    (Superseded, Outcome.SILENT),  # deliberate: the newer message gets the answer
    (Stale, Outcome.SILENT),  # deliberate: nobody is waiting for it any more
    (StepTimeout, Outcome.BUDGET_EXCEEDED),
    (BudgetExceeded, Outcome.BUDGET_EXCEEDED),
    (InferenceError, Outcome.MODEL_UNAVAILABLE),
    (ToolError, Outcome.TOOL_FAILED),
    (InvalidPayload, Outcome.REJECTED_INPUT),
    (LaneFull, Outcome.RATE_LIMITED),
    (LaneBackpressure, Outcome.RATE_LIMITED),
    (DeadLettered, Outcome.DEAD_LETTERED),
)

_TEXT = {
    Outcome.BUDGET_EXCEEDED: "Sorry, that took too long and I gave up.",
    Outcome.MODEL_UNAVAILABLE: "Sorry, the model is unavailable right now. Please try again in a moment.",
    Outcome.TOOL_FAILED: "Sorry, a tool I needed failed.",
    Outcome.REJECTED_INPUT: "Sorry, I could not read that message.",
    Outcome.RATE_LIMITED: "Sorry, I'm handling too much at once right now. Please try again in a moment.",
    Outcome.DEAD_LETTERED: "Sorry, I could not answer that; an operator has been told.",
    Outcome.FAILED: "Sorry, something went wrong on my side.",
}


def outcome_for(error: BaseException) -> Outcome:
    for cls, outcome in _BUCKETS:
        if isinstance(error, cls):
            return outcome
    return Outcome.FAILED


def user_text(outcome: Outcome, error: BaseException) -> str:
    if outcome == Outcome.SILENT:
        return ""
    code = error.code if isinstance(error, SwitchboardError) else "internal_error"
    if isinstance(error, RoleNotConfigured | NoQualifiedModel):  # not a passing failure: trying again will not help
        return f"Sorry, {error.message}. (`{code}`)"
    if isinstance(error, BudgetExceeded):  # refused before starting: nothing was tried
        return f"Sorry, I'm too busy to answer in time right now. Please try again in a moment. (`{code}`)"
    return f"{_TEXT.get(outcome, _TEXT[Outcome.FAILED])} (`{code}`)"


def failure_reply(ctx: CallContext, error: BaseException) -> Reply:
    """The typed reply an activation ends with when its callsystem raised `error` (the planner's and a
    replay's: the same failure must read the same, or a replay could not match its original)."""
    outcome = outcome_for(error)
    return ctx.reply(user_text(outcome, error), outcome).model_copy(update={"error": ErrorInfo.of(error)})
