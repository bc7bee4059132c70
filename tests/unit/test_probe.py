"""The probe's verdict: one typed bucket from what came back."""

from __future__ import annotations

from switchboard.core.errors import FirstResponseBudgetExceeded
from switchboard.core.wire import ErrorInfo, Outcome, Reply
from switchboard.planner.callsystems.turn_plan import Budgets
from switchboard.planner.probe import judge

EXPECTED = ("ada", "bob", "cy")


def turn(speaker: str, at: float, n: int) -> Reply:
    return Reply(activation_id="p", channel_id="c", reply_to_message_id="p", outcome=Outcome.REPLIED,
                 text="hi", speaker=speaker, turn=n, created_at=100.0 + at)


FINAL = Reply(activation_id="p", channel_id="c", reply_to_message_id="p", outcome=Outcome.REPLIED)


def verdict(turns: list[Reply], final: Reply | None = FINAL) -> tuple[str, float | None, float | None]:
    report = judge("p", EXPECTED, 100.0, turns, final, Budgets(first_s=10, all_s=30))
    return report.bucket, report.first_reply_s, report.all_replies_s


def test_every_persona_once_within_budgets_is_ok() -> None:
    assert verdict([turn("bob", 2.5, 1), turn("ada", 1.5, 0), turn("cy", 4.0, 2)]) == ("ok", 1.5, 4.0)


def test_no_answer_at_all() -> None:
    assert verdict([])[0] == "no_personas_replied"
    assert verdict([], final=None)[0] == "no_personas_replied"


def test_budgets() -> None:
    assert verdict([turn("ada", 11, 0), turn("bob", 12, 1), turn("cy", 13, 2)])[0] == "first_response_budget_exceeded"
    assert verdict([turn("ada", 1, 0), turn("bob", 2, 1), turn("cy", 31, 2)])[0] == "all_response_budget_exceeded"
    assert verdict([turn("ada", 1, 0)], final=None)[0] == "all_response_budget_exceeded"
    refused = FINAL.model_copy(update={"outcome": Outcome.BUDGET_EXCEEDED,
                                       "error": ErrorInfo.of(FirstResponseBudgetExceeded("too slow"))})
    assert verdict([], final=refused)[0] == "first_response_budget_exceeded"


def test_fairness() -> None:
    assert verdict([turn("ada", 1, 0), turn("ada", 2, 1), turn("cy", 3, 2)])[0] == "fairness_violated"
    assert verdict([turn("ada", 1, 0), turn("cy", 3, 2)])[0] == "fairness_violated"
    report = judge("p", ("ada",), 100.0, [turn("ada", 1, 0), turn("eve", 2, 1)], FINAL, Budgets())
    assert report.bucket == "fairness_violated" and "not asked: eve" in report.detail
