"""The legacy callsystem's logic, against an in-memory CallContext (the real one is tested end to end)."""

from __future__ import annotations

import pytest

from switchboard.core.plugins import Persona
from switchboard.core.wire import (
    Activation,
    HistoryMessage,
    Outcome,
    Trigger,
)
from switchboard.planner.callsystems.legacy import AMNESIA_NOTE, Legacy
from tests.support.memory_context import MemoryContext


def message(mid: str, author: str, content: str, from_self: bool = False) -> HistoryMessage:
    return HistoryMessage(message_id=mid, author_id=author, author_name=author, content=content,
                          created_at=float(mid), from_self=from_self)


def activation(mid: str = "10", content: str = "hi", replied_to: HistoryMessage | None = None) -> Activation:
    return Activation(id=mid, trigger=Trigger.MENTION, channel_id="c", message_id=mid, author_id="alice",
                      author_name="alice", content=content, replied_to=replied_to)


async def test_prompt_is_persona_history_and_the_trigger_last() -> None:
    history = [message("1", "bob", "earlier"), message("2", "bot", "an answer", from_self=True),
               message("10", "alice", "hi")]
    ctx = MemoryContext(activation(), history, ["hello"])
    reply = await Legacy().activate(ctx)
    assert reply.text == "hello" and reply.outcome == Outcome.REPLIED
    prompt = ctx.prompts[0]
    assert prompt[0].role == "system" and "2026-11-21T10:00:00" in prompt[0].content
    assert [(m.role, m.content) for m in prompt[1:]] == [
        ("user", "bob: earlier"), ("assistant", "an answer"), ("user", "alice: hi")]


async def test_the_persona_reads_history_through_its_template_and_fills_its_variables() -> None:
    history = [message("1", "bob", "earlier"), message("2", "bot", "an answer", from_self=True),
               message("3", "bot", "a word from ada", from_self=True).model_copy(update={"speaker": "ada"})]
    ctx = MemoryContext(activation(), history, ["hello"])
    ctx.persona = Persona("sage", "I am {name}. It is {time}.", history_template="<{author}> {content}")
    await Legacy().activate(ctx)
    prompt = ctx.prompts[0]
    assert prompt[0].content.startswith("I am sage. It is 2026-11-21T10:00:00")
    assert [(m.role, m.content) for m in prompt[1:]] == [
        ("user", "<bob> earlier"), ("assistant", "an answer"), ("user", "<ada> a word from ada"),
        ("user", "<alice> hi")]


async def test_the_replied_to_message_is_included_when_outside_the_window() -> None:
    old = message("0", "bob", "the plan is X")
    ctx = MemoryContext(activation(content="is that right?", replied_to=old), [message("5", "carol", "lol")], ["yes"])
    await Legacy().activate(ctx)
    assert [m.content for m in ctx.prompts[0][1:]] == ["carol: lol", "bob: the plan is X", "alice: is that right?"]


async def test_two_empty_answers_in_a_row_reset_the_channel_history() -> None:
    history = [message("1", "bob", "noise")]
    ctx = MemoryContext(activation(), history, ["", "  ", "back"])
    first = await Legacy().activate(ctx)
    assert first.outcome == Outcome.SILENT and history
    second = await Legacy().activate(ctx)
    assert second.text == AMNESIA_NOTE and history == []
    third = await Legacy().activate(ctx)
    assert third.text == "back" and ctx.memory[("channel", "empty_replies")] == 0


@pytest.mark.parametrize("answers", [["", "fine", ""]])
async def test_a_real_answer_resets_the_empty_count(answers: list[str]) -> None:
    ctx = MemoryContext(activation(), [message("1", "bob", "x")], answers)
    outcomes = [(await Legacy().activate(ctx)).outcome for _ in range(3)]
    assert outcomes == [Outcome.SILENT, Outcome.REPLIED, Outcome.SILENT]
    assert ctx.history_store  # never reached two in a row
