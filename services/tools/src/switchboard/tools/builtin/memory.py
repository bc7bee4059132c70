"""`remember` / `recall`: a user's notes that last across conversations (the same store as
`ctx.remember` / `ctx.recall` with scope "user")."""

from __future__ import annotations

import json
from typing import Any

import redis

from switchboard.core import keys
from switchboard.core.wire import ToolCallContext
from switchboard.tools.registry import Tool

KEY_SCHEMA = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9 _.-]+$"}


def memory_tools(client: redis.Redis) -> tuple[Tool, Tool]:
    def remember(key: str, value: str, context: ToolCallContext) -> dict[str, Any]:
        client.hset(keys.memory("user", context.user_id), key, json.dumps(value))
        return {"remembered": key}

    def recall(key: str, context: ToolCallContext) -> dict[str, Any]:
        raw = client.hget(keys.memory("user", context.user_id), key)
        return {"key": key, "value": None if raw is None else json.loads(raw)}

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
