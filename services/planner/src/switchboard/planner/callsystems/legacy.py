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
        messages = [ChatMessage(role="system", content=system), *conversation(history, ctx.activation)]
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
