"""The pure parts of replay: the recorded journal's rules, selections, verdicts, exit statuses, times."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

import pytest

from switchboard.admin.cli.replay_command import exit_status
from switchboard.admin.cli.when import point_in_time
from switchboard.core.errors import StepTimeout, Superseded, SwitchboardError, ToolError
from switchboard.core.wire import (
    Activation,
    ActivationRecord,
    ErrorInfo,
    HistoryWindow,
    Outcome,
    StepResult,
    StepTiming,
    Trigger,
)
from switchboard.planner.replay.recorded import RecordedSteps, StepNotRecorded, ending_of
from switchboard.planner.replay.records import Selection
from switchboard.planner.replay.report import ReplayReport, ReplyView, Verdict

ACTIVATION = Activation(id="1", trigger=Trigger.MENTION, guild_id="g", channel_id="c", message_id="1",
                        author_id="7", author_name="alice", content="hi")


def record(outcome: Outcome = Outcome.REPLIED, error: ErrorInfo | None = None, steps: tuple[StepTiming, ...] = (),
           **activation: object) -> ActivationRecord:
    return ActivationRecord(activation=ACTIVATION.model_copy(update=activation), callsystem="cs.x.y",
                            callsystem_version="1.0.0", persona="p", planner_id="p", outcome=outcome, error=error,
                            started_at=100.0, finished_at=110.0, steps=steps, reply_text="hello")


def step(name: str) -> StepResult:
    return StepResult(activation_id="1", step=name, output=HistoryWindow())


async def test_recorded_steps_give_what_was_recorded_and_refuse_the_rest() -> None:
    steps = RecordedSteps("1", {"history:0": step("history:0"), "infer:0": step("infer:0")})
    assert (await steps.get("1", "history:0")).step == "history:0"  # type: ignore[union-attr]
    with pytest.raises(StepNotRecorded, match="tool:clock:0") as refused:
        await steps.get("1", "tool:clock:0")
    assert not isinstance(refused.value, SwitchboardError)  # so a callsystem cannot swallow it and carry on
    assert refused.value.info().code == "step_not_recorded"
    with pytest.raises(StepNotRecorded):
        await steps.record(step("tool:clock:0"))
    assert (steps.used, steps.missing) == (["history:0"], ["tool:clock:0"])
    assert steps.unused(["history:0", "infer:0", "other:0"]) == ("infer:0",)


async def test_the_original_ending_is_raised_once_at_the_first_step_it_never_got() -> None:
    ending = ErrorInfo.of(StepTimeout("infer:0 took too long"))
    steps = RecordedSteps("1", {"history:0": step("history:0")}, ending)
    with pytest.raises(StepTimeout):
        await steps.get("1", "infer:0")
    with pytest.raises(StepNotRecorded):  # after that, a step not recorded is just that
        await steps.get("1", "infer:1")
    assert (steps.original_stop, steps.missing) == ("infer:0", ["infer:1"])


def test_an_ending_is_an_error_raised_outside_every_step() -> None:
    superseded = ErrorInfo.of(Superseded("newer"))
    assert ending_of(record(Outcome.SILENT, superseded, (StepTiming(step="history:0"),))) == superseded
    failed = ErrorInfo.of(ToolError("boom"))
    assert ending_of(record(Outcome.TOOL_FAILED, failed, (StepTiming(step="tool:x:0", error=failed),))) is None
    assert ending_of(record()) is None


def test_selection_filters() -> None:
    original = record(Outcome.MODEL_UNAVAILABLE)
    assert Selection().admits(original)
    assert Selection(outcomes=frozenset({Outcome.MODEL_UNAVAILABLE}), guild_id="g", channel_id="c").admits(original)
    assert not Selection(outcomes=frozenset({Outcome.REPLIED})).admits(original)
    assert Selection(since=105, until=110).admits(original) and not Selection(since=111).admits(original)
    assert not Selection(until=109).admits(original)
    assert Selection(callsystem="cs.x.y").admits(original) and Selection(callsystem="cs.x.y@1.0.0").admits(original)
    assert not Selection(callsystem="cs.x.y@2.0.0").admits(original)
    assert not Selection(callsystem="cs.x").admits(original)
    assert not Selection(channel_id="other").admits(original)
    assert Selection(channel_id="parent").admits(record(channel_id="thread", thread_parent_id="parent"))
    replay = record(replay_of="0")
    assert not Selection().admits(replay) and Selection(include_replays=True).admits(replay)


def report(mode: str = "recorded", **fields: object) -> ReplayReport:
    return ReplayReport(activation_id="1", mode=mode, operator="ops", started_at=0.0, duration_s=0.1,  # type: ignore[arg-type]
                        **fields)  # type: ignore[arg-type]


def test_verdicts_and_exit_statuses() -> None:
    said = ReplyView(outcome=Outcome.REPLIED, text="hello")
    matches = report(original=said, replayed=said, matches=True)
    differs = report(original=said, replayed=said.model_copy(update={"text": "bye"}), matches=False)
    stopped = report(original=said, matches=False, not_recorded=("tool:x:0",),
                     error=ErrorInfo(code="step_not_recorded", message="..."))
    failed = report(error=ErrorInfo(code="no_record", message="..."))
    unknown = report(original=said.model_copy(update={"text": None}), replayed=said, matches=None)
    assert [r.verdict for r in (matches, differs, stopped, failed, unknown)] == [
        Verdict.MATCHES, Verdict.DIFFERS, Verdict.DIFFERS, Verdict.FAILED, Verdict.UNKNOWN]
    assert matches.as_json()["verdict"] == "matches"
    assert exit_status([matches, unknown]) == 0 and exit_status([]) == 0
    assert exit_status([matches, stopped]) == 1 and exit_status([differs, failed]) == 3
    assert exit_status([report("live", original=said, replayed=said, matches=False)]) == 0  # a model asked again


def test_reply_views_compare_outcome_text_and_images() -> None:
    said = ReplyView(outcome=Outcome.REPLIED, text="hello", images=("ab",))
    assert said.same_as(said) is True
    assert said.same_as(said.model_copy(update={"images": ()})) is False
    assert said.same_as(said.model_copy(update={"outcome": Outcome.SILENT})) is False
    assert said.same_as(said.model_copy(update={"text": None})) is None


def test_points_in_time() -> None:
    assert point_in_time("90s", now=1000.0) == 910.0
    assert point_in_time("2h", now=10_000.0) == 2800.0 and point_in_time("1d", now=86_400.0) == 0.0
    assert point_in_time("1700000000") == 1_700_000_000.0
    assert point_in_time("2026-11-21T10:00:00") == datetime(2026, 11, 21, 10, tzinfo=UTC).timestamp()
    assert point_in_time("2026-11-21T12:00:00+02:00") == datetime(2026, 11, 21, 10, tzinfo=UTC).timestamp()
    with pytest.raises(argparse.ArgumentTypeError, match="not an age"):
        point_in_time("yesterday")
