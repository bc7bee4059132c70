"""An in-memory `CallContext` with scripted model answers and tools, for testing callsystems' logic.

The real context is tested end to end; this one lets a test script what the model says and what each
tool returns or raises, and see every prompt and tool call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from switchboard.core.plugins import Persona
from switchboard.core.wire import (
    Activation,
    AttachmentRef,
    ChatMessage,
    HistoryMessage,
    InferenceResult,
    Outcome,
    Reply,
    ToolSpec,
)

Answer = str | InferenceResult | Exception


def clock(_: dict[str, Any]) -> Any:
    return {"iso": "2026-11-21T10:00:00+00:00"}


class MemoryContext:
    """The CallContext surface, kept in memory: `answers` are the model's, in order; `tools` run by name."""

    def __init__(self, activation: Activation, history: list[HistoryMessage], answers: list[Answer],
                 tools: dict[str, Callable[[dict[str, Any]], Any]] | None = None) -> None:
        self.activation = activation
        self.persona = Persona("test", "Be brief. Time: {time}.")
        self.log = logging.LoggerAdapter(logging.getLogger("test"), {})
        self.blobs = None
        self.history_store = history
        self.answers = answers
        self.tools = {"clock": clock, **(tools or {})}
        self.memory: dict[tuple[str, str], Any] = {}
        self.prompts: list[list[ChatMessage]] = []
        self.offered: list[list[str]] = []  # tool names offered with each model call
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.notes: list[str] = []

    async def history(self, limit: int = 20) -> list[HistoryMessage]:
        return self.history_store[-limit:]

    async def tool(self, name: str, arguments: dict[str, Any]) -> Any:
        self.calls.append((name, arguments))
        await asyncio.sleep(0)  # let parallel calls interleave, as real steps would
        return self.tools[name](arguments)

    async def tool_specs(self) -> list[ToolSpec]:
        return [ToolSpec(name=n, description=n, parameters={"type": "object"}) for n in sorted(self.tools)]

    async def gather(self, *steps: Any) -> list[Any]:
        return list(await asyncio.gather(*steps))

    async def infer(self, messages: list[ChatMessage], *, tools: Sequence[ToolSpec] = (), **_: Any) -> InferenceResult:
        self.prompts.append(list(messages))
        self.offered.append([t.name for t in tools])
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer if isinstance(answer, InferenceResult) else InferenceResult(
            text=answer, finish_reason="stop", model="scripted")

    async def recall(self, key: str, *, scope: str = "user") -> Any:
        return self.memory.get((scope, key))

    async def remember(self, key: str, value: Any, *, scope: str = "user") -> None:
        self.memory[(scope, key)] = value

    async def forget_history(self) -> None:
        self.history_store.clear()

    def note(self, text: str) -> None:
        self.notes.append(text)

    def reply(self, text: str, outcome: Outcome = Outcome.REPLIED, images: tuple[AttachmentRef, ...] = ()) -> Reply:
        return Reply(activation_id=self.activation.id, channel_id="c", reply_to_message_id=self.activation.id,
                     outcome=outcome, text=text, images=images)
