"""`cs.switchboard.integrations`: a caller model picks tools from those allowed here, then answers.

Each round offers the model the allowed tools (their JSON Schemas); the calls it asks for run in
parallel as one wave, and the model continues only once every result is in. A tool that fails or is
refused becomes a result the model reads (`{"error": code, "message": ...}`), never a crash. Rounds are
bounded: the last one offers no tools, so it must answer in words. If the caller model fails or asks
for no tool, the activation falls back to legacy and the record says so. Pictures drawn by the
`imagine` tool are attached to the final reply (the model reads that they are).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from switchboard.core.errors import InferenceError, SwitchboardError
from switchboard.core.plugins import CallContext, Callsystem
from switchboard.core.role_tools import model_view
from switchboard.core.wire import AttachmentRef, ChatMessage, InferenceResult, ModelToolCall, Reply, ToolSpec
from switchboard.planner.callsystems.legacy import Legacy, answer, build_prompt

TOOL_ROUNDS = 3
TOOL_RESULT_CHARS = 4000  # what a model reads of one tool result
MAX_REPLY_IMAGES = 4  # pictures drawn in one activation that its reply attaches


class Integrations(Callsystem):
    package_id = "cs.switchboard.integrations"
    version = "1.1.0"
    release_date = date(2026, 11, 21)
    capabilities = frozenset({"text", "tools", "image", "vision"})
    tools = frozenset({"calculator", "clock", "web_fetch", "channel_search", "remember", "recall", "sleep",
                       "imagine", "describe_image"})

    history_limit = 20
    max_tokens = 300

    async def activate(self, ctx: CallContext) -> Reply:
        messages, offered = await build_prompt(ctx, self.history_limit), await ctx.tool_specs()
        if not offered:
            return await fall_back(ctx, "no tool is allowed here")
        try:  # not streamed: words from a model that then asks for tools are not the answer
            result = await ctx.infer(messages, max_tokens=self.max_tokens, tools=offered, stream=False)
        except InferenceError as exc:
            return await fall_back(ctx, f"the caller model failed ({exc.code})")
        if not result.tool_calls:
            return await fall_back(ctx, "the caller model asked for no tool")
        images: list[AttachmentRef] = []
        for round_ in range(1, TOOL_ROUNDS + 1):
            turn, drawn = await run_tool_calls(ctx, result)
            messages += turn
            images += drawn
            still_offered: list[ToolSpec] = offered if round_ < TOOL_ROUNDS else []
            result = await ctx.infer(messages, max_tokens=self.max_tokens, tools=still_offered, stream=True)
            if not result.tool_calls:
                break
        return await answer(ctx, result.text.strip(), tuple(images[:MAX_REPLY_IMAGES]))


async def fall_back(ctx: CallContext, reason: str) -> Reply:
    ctx.note(f"fell back to {Legacy.key()}: {reason}")
    return await Legacy().activate(ctx)


async def run_tool_calls(ctx: CallContext, result: InferenceResult) -> tuple[list[ChatMessage], list[AttachmentRef]]:
    """The model's tool-calling turn and one `tool` message per call, all calls run as one wave; and the
    pictures the calls drew."""
    outputs = await ctx.gather(*(run_tool_call(ctx, call) for call in result.tool_calls))
    turn = [ChatMessage(role="assistant", content=result.text, tool_calls=result.tool_calls)]
    return turn + [message for message, _ in outputs], [image for _, drawn in outputs for image in drawn]


async def run_tool_call(ctx: CallContext, call: ModelToolCall) -> tuple[ChatMessage, tuple[AttachmentRef, ...]]:
    output: Any
    images: tuple[AttachmentRef, ...] = ()
    try:
        output, images = model_view(await ctx.tool(call.name, call.arguments))
    except SwitchboardError as exc:  # refused, invalid or failed: the model reads why and carries on
        output = {"error": exc.code, "message": exc.message}
    text = json.dumps(output, ensure_ascii=False, default=str)
    if len(text) > TOOL_RESULT_CHARS:
        text = text[:TOOL_RESULT_CHARS] + " …(truncated)"
    return ChatMessage(role="tool", content=text, tool_call_id=call.id), images
