"""`remember` / `recall`: a user's notes that last across conversations in one guild (the same store as
`ctx.remember` / `ctx.recall` with scope "user"). Who and where come from the activation, never the model."""

from __future__ import annotations

from typing import Any

from switchboard.core.memory import SyncMemoryStore
from switchboard.core.wire import ToolCallContext
from switchboard.tools.registry import Tool

KEY_SCHEMA = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9 _.-]+$"}


def memory_tools(store: SyncMemoryStore) -> tuple[Tool, Tool]:
    def remember(key: str, value: str, context: ToolCallContext) -> dict[str, Any]:
        store.set(context.guild_id, "user", context.user_id, key, value)  # past the cap: `LimitReached`
        return {"remembered": key}

    def recall(key: str, context: ToolCallContext) -> dict[str, Any]:
        return {"key": key, "value": store.get(context.guild_id, "user", context.user_id, key)}

    return (
        Tool(name="remember", description="Remember a short note about the user for later conversations.",
             parameters={"type": "object", "additionalProperties": False, "required": ["key", "value"],
                         "properties": {"key": KEY_SCHEMA, "value": {"type": "string", "maxLength": 2000}}},
             run=remember, side_effects=True, needs_context=True),
        Tool(name="recall", description="Recall a note remembered about the user, by its key.",
             parameters={"type": "object", "additionalProperties": False, "required": ["key"],
                         "properties": {"key": KEY_SCHEMA}},
             run=recall, needs_context=True),
    )
