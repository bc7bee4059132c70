"""An in-memory `CallContext` with scripted model answers and tools, for testing callsystems' logic.

The real context is tested end to end; this one lets a test script what the model says, what each
tool returns or raises, what the image and vision roles answer (unscripted: not configured), and see
every prompt, tool call, picture asked for and image described.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from switchboard.core.errors import RoleNotConfigured
from switchboard.core.plugins import Persona
from switchboard.core.role_tools import ROLE_TOOLS, role_request
from switchboard.core.wire import (
    Activation,
    AttachmentRef,
    ChatMessage,
    HistoryMessage,
    ImageRequest,
    ImageResult,
    InferenceResult,
    Outcome,
    Reply,
    ToolSpec,
    VisionResult,
)

Answer = str | InferenceResult | Exception
T = TypeVar("T")


def clock(_: dict[str, Any]) -> Any:
    return {"iso": "2026-11-21T10:00:00+00:00"}


class MemoryContext:
    """The CallContext surface, kept in memory: `answers` are the model's, in order; `tools` run by name.

    `pictures` are what the image role draws, in order; `sights` what the vision role sees, by filename
    (an exception is raised instead). With none scripted, the role is not configured.
    """

    def __init__(self, activation: Activation, history: list[HistoryMessage], answers: list[Answer],
                 tools: dict[str, Callable[[dict[str, Any]], Any]] | None = None,
                 pictures: list[ImageResult | Exception] | None = None,
                 sights: dict[str, VisionResult | Exception] | None = None) -> None:
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
        self.pictures = pictures
        self.sights = sights
        self.drawn: list[str] = []  # prompts the image role was given
        self.described: list[str] = []  # filenames the vision role was shown

    async def history(self, limit: int = 20) -> list[HistoryMessage]:
        return self.history_store[-limit:]

    async def tool(self, name: str, arguments: dict[str, Any]) -> Any:
        self.calls.append((name, arguments))
        await asyncio.sleep(0)  # let parallel calls interleave, as real steps would
        if name in ROLE_TOOLS and name not in self.tools:  # as the real context: the role answers
            request = role_request(ROLE_TOOLS[name], arguments, self.activation)
            if isinstance(request, ImageRequest):
                return await self.imagine(request.prompt, width=request.width, height=request.height)
            return await self.describe_image(request.image, top_k=request.top_k)
        return self.tools[name](arguments)

    async def imagine(self, prompt: str, *, width: int = 512, height: int = 512) -> ImageResult:
        self.drawn.append(prompt)
        if self.pictures is None:
            raise RoleNotConfigured("image")
        return _answer(self.pictures.pop(0))

    async def describe_image(self, image: AttachmentRef, *, top_k: int = 3) -> VisionResult:
        self.described.append(image.filename)
        await asyncio.sleep(0)
        if self.sights is None:
            raise RoleNotConfigured("vision")
        return _answer(self.sights[image.filename])

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


def _answer(scripted: T | Exception) -> T:
    if isinstance(scripted, Exception):
        raise scripted
    return scripted
