"""The integrations callsystem's logic, against an in-memory CallContext with a scripted caller model."""

from __future__ import annotations

import json
from typing import Any

from switchboard.core.errors import ModelUnavailable, ToolTimeout
from switchboard.core.wire import Activation, InferenceResult, ModelToolCall, Outcome, Trigger
from switchboard.planner.callsystems.integrations import TOOL_ROUNDS, Integrations
from tests.support.memory_context import MemoryContext


def asks(*calls: tuple[str, dict[str, Any]]) -> InferenceResult:
    """A model answer that asks for these tool calls."""
    return InferenceResult(text="", finish_reason="tool_calls", model="scripted",
                           tool_calls=tuple(ModelToolCall(id=f"call-{i}", name=name, arguments=args)
                                            for i, (name, args) in enumerate(calls)))


def activation(content: str = "what is 6*7 and the time?") -> Activation:
    return Activation(id="10", trigger=Trigger.MENTION, channel_id="c", message_id="10", author_id="alice",
                      author_name="alice", content=content)


def calculator(arguments: dict[str, Any]) -> Any:
    return {"result": 42} if arguments == {"expression": "6*7"} else {"result": None}


async def test_two_tools_in_one_round_then_the_answer_sees_both_results() -> None:
    ctx = MemoryContext(activation(), [], [asks(("calculator", {"expression": "6*7"}), ("clock", {})),
                                           "6*7 is 42 and it is 10:00."], tools={"calculator": calculator})
    reply = await Integrations().activate(ctx)
    assert reply.text == "6*7 is 42 and it is 10:00." and reply.outcome == Outcome.REPLIED
    assert ("calculator", {"expression": "6*7"}) in ctx.calls and ctx.calls.count(("clock", {})) == 2  # + prompt
    follow_up = ctx.prompts[1]
    asked, *results = follow_up[-3:]
    assert asked.role == "assistant" and [c.name for c in asked.tool_calls] == ["calculator", "clock"]
    assert [(r.role, r.tool_call_id) for r in results] == [("tool", "call-0"), ("tool", "call-1")]
    assert json.loads(results[0].content) == {"result": 42}
    assert ctx.offered[0] == ["calculator", "clock"] and ctx.notes == []


async def test_a_failing_tool_is_a_result_the_model_reads() -> None:
    def broken(_: dict[str, Any]) -> Any:
        raise ToolTimeout("calculator took longer than 5 s")

    ctx = MemoryContext(activation(), [], [asks(("calculator", {"expression": "6*7"})), "I could not compute it."],
                        tools={"calculator": broken})
    reply = await Integrations().activate(ctx)
    assert reply.text == "I could not compute it."
    error = json.loads(ctx.prompts[1][-1].content)
    assert error == {"error": "tool_timeout", "message": "calculator took longer than 5 s"}


async def test_rounds_are_bounded_and_the_last_offers_no_tools() -> None:
    again = asks(("clock", {}))
    ctx = MemoryContext(activation(), [], [again] * TOOL_ROUNDS + ["done asking"])
    reply = await Integrations().activate(ctx)
    assert reply.text == "done asking"
    assert len(ctx.prompts) == TOOL_ROUNDS + 1 and ctx.offered[-1] == [] and all(ctx.offered[:-1])


async def test_a_caller_that_asks_for_nothing_falls_back_to_legacy_and_says_so() -> None:
    ctx = MemoryContext(activation("hello"), [], ["a direct answer", "legacy's answer"])
    reply = await Integrations().activate(ctx)
    assert reply.text == "legacy's answer" and ctx.offered[1] == []  # legacy offers no tools
    assert ctx.notes == ["fell back to cs.switchboard.legacy@1.1.0: the caller model asked for no tool"]


async def test_a_failing_caller_model_falls_back_to_legacy() -> None:
    ctx = MemoryContext(activation(), [], [ModelUnavailable("no replica"), "legacy's answer"])
    reply = await Integrations().activate(ctx)
    assert reply.text == "legacy's answer"
    assert ctx.notes == ["fell back to cs.switchboard.legacy@1.1.0: the caller model failed (model_unavailable)"]
