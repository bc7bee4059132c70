"""`cs.switchboard.legacy`: persona + channel history + the replied-to message + attached files → one
streamed model call → one reply.

"Amnesia": after two empty answers in a row in a channel, the channel's history is reset (it is
usually what derails a small model) and the reply says so.
"""

from __future__ import annotations

from datetime import date

from switchboard.core.errors import ToolError
from switchboard.core.plugins import CallContext, Callsystem
from switchboard.core.wire import Activation, ChatMessage, HistoryMessage, Outcome, Reply

EMPTY_REPLIES = "empty_replies"
AMNESIA_AFTER = 2
AMNESIA_NOTE = "🌀 I lost my train of thought, so I cleared this channel's history. Could you ask again?"
TEXT_FILE_CHARS = 4000


class Legacy(Callsystem):
    package_id = "cs.switchboard.legacy"
    version = "1.0.0"
    release_date = date(2026, 11, 21)
    capabilities = frozenset({"text"})
    tools = frozenset({"clock"})

    history_limit = 20
    max_tokens = 200

    async def activate(self, ctx: CallContext) -> Reply:
        messages = await build_prompt(ctx, self.history_limit)
        result = await ctx.infer(messages, max_tokens=self.max_tokens, stream=True)
        return await answer(ctx, result.text.strip())


async def build_prompt(ctx: CallContext, history_limit: int) -> list[ChatMessage]:
    """Persona (with the time) + the channel's history + the trigger, with its attached files, last."""
    history, now = await ctx.gather(ctx.history(limit=history_limit), current_time(ctx))
    system = ctx.persona.instructions.replace("{time}", now)
    turns = conversation(history, ctx.activation)
    if notes := await attachment_notes(ctx):
        turns[-1] = ChatMessage(role="user", content=f"{turns[-1].content}\n\n{notes}")
    return [ChatMessage(role="system", content=system), *turns]


async def current_time(ctx: CallContext) -> str:
    """The time from the clock tool (journaled, so a replay sees the original time); "unknown" if refused."""
    try:
        return (await ctx.tool("clock", {}))["iso"]
    except ToolError as exc:
        ctx.log.info("no clock: %s", exc)
        return "unknown"


async def answer(ctx: CallContext, text: str) -> Reply:
    """The reply for the model's text, counting empty answers towards amnesia."""
    empties = await ctx.recall(EMPTY_REPLIES, scope="channel") or 0
    if text:
        if empties:
            await ctx.remember(EMPTY_REPLIES, 0, scope="channel")
        return ctx.reply(text)
    if empties + 1 >= AMNESIA_AFTER:
        await ctx.forget_history()
        await ctx.remember(EMPTY_REPLIES, 0, scope="channel")
        return ctx.reply(AMNESIA_NOTE)
    await ctx.remember(EMPTY_REPLIES, empties + 1, scope="channel")
    return ctx.reply("", Outcome.SILENT)


def conversation(history: list[HistoryMessage], activation: Activation) -> list[ChatMessage]:
    """History as chat turns, ending with the triggering message; the replied-to message is included."""
    seen = {message.message_id for message in history}
    window = list(history)
    replied = activation.replied_to
    if replied is not None and replied.message_id not in seen:
        window = [m for m in window if m.message_id != activation.message_id] + [replied]
        seen.add(replied.message_id)
    turns = [_turn(message) for message in window if message.message_id != activation.message_id]
    turns.append(ChatMessage(role="user", content=f"{activation.author_name}: {activation.content}"))
    return turns


def _turn(message: HistoryMessage) -> ChatMessage:
    if message.from_self:
        return ChatMessage(role="assistant", content=message.content)
    return ChatMessage(role="user", content=f"{message.author_name}: {message.content}")


async def attachment_notes(ctx: CallContext) -> str:
    """The attached files as the model sees them: text files inline (capped), images by name and size."""
    notes = []
    for ref in ctx.activation.attachments:
        where = " (on the replied-to message)" if ref.from_reply else ""
        if ref.media == "image":
            size = f", {ref.width}×{ref.height}" if ref.width and ref.height else ""
            notes.append(f"[image {ref.filename}{size}{where}]")
            continue
        data = await ctx.blobs.get(ref.sha256)
        if data is None:
            notes.append(f"[file {ref.filename}{where}: no longer available]")
            continue
        text = data.decode("utf-8", errors="replace")
        cut = "\n[…truncated]" if len(text) > TEXT_FILE_CHARS else ""
        notes.append(f"[file {ref.filename}{where}]\n{text[:TEXT_FILE_CHARS]}{cut}")
    return "\n\n".join(notes)
