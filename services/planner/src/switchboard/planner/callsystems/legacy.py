"""`cs.switchboard.legacy`: persona + channel history + one streamed model call → one reply."""

from __future__ import annotations

from datetime import date

from switchboard.core.plugins import CallContext, Callsystem
from switchboard.core.wire import Activation, ChatMessage, HistoryMessage, Outcome, Reply


class Legacy(Callsystem):
    package_id = "cs.switchboard.legacy"
    version = "1.0.0"
    release_date = date(2026, 11, 21)
    capabilities = frozenset({"text"})

    history_limit = 20
    max_tokens = 200

    async def activate(self, ctx: CallContext) -> Reply:
        history = await ctx.history(limit=self.history_limit)
        # The time comes from the clock tool, so it is journaled: a replay sees the original time.
        clock = await ctx.tool("clock", {})
        system = ctx.persona.instructions.replace("{time}", clock["iso"])
        turns = conversation(history, ctx.activation)
        if notes := await attachment_notes(ctx):
            turns[-1] = ChatMessage(role="user", content=f"{turns[-1].content}\n\n{notes}")
        messages = [ChatMessage(role="system", content=system), *turns]
        result = await ctx.infer(messages, max_tokens=self.max_tokens, stream=True)
        text = result.text.strip()
        return ctx.reply(text) if text else ctx.reply("", Outcome.SILENT)


def conversation(history: list[HistoryMessage], activation: Activation) -> list[ChatMessage]:
    """History as chat turns, ending with the triggering message (added if history missed it)."""
    turns = [_turn(message) for message in history]
    if all(message.message_id != activation.message_id for message in history):
        turns.append(ChatMessage(role="user", content=f"{activation.author_name}: {activation.content}"))
    return turns


def _turn(message: HistoryMessage) -> ChatMessage:
    if message.from_self:
        return ChatMessage(role="assistant", content=message.content)
    return ChatMessage(role="user", content=f"{message.author_name}: {message.content}")


TEXT_FILE_CHARS = 4000


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
