"""`channel_search`: find earlier messages of the current channel containing some words."""

from __future__ import annotations

from typing import Any

import redis

from switchboard.core import keys
from switchboard.core.wire import HistoryMessage, ToolCallContext
from switchboard.tools.registry import Tool


def channel_search_tool(client: redis.Redis) -> Tool:
    def channel_search(query: str, context: ToolCallContext, limit: int = 5) -> dict[str, Any]:
        words = query.lower().split()
        found = []
        for raw in client.lrange(keys.history(context.channel_id), 0, -1):  # newest first
            message = HistoryMessage.from_json(raw)
            if all(word in message.content.lower() for word in words):
                found.append({"author": message.author_name, "content": message.content,
                              "message_id": message.message_id})
                if len(found) == limit:
                    break
        return {"query": query, "matches": found}

    return Tool(
        name="channel_search",
        description="Search this channel's recent messages for all the given words (newest first).",
        parameters={"type": "object", "additionalProperties": False, "required": ["query"],
                    "properties": {"query": {"type": "string", "minLength": 1, "maxLength": 200},
                                   "limit": {"type": "integer", "minimum": 1, "maximum": 20}}},
        run=channel_search, needs_context=True)
