"""`sleep`: stay silent in this channel until the next mention.

It marks the channel asleep (`keys.asleep`, for a bounded time: `SWITCHBOARD_SLEEP_TTL_S`); the gateway
then answers only mentions, replies to the bot and DMs there, and a mention wakes it (clears the mark).
"""

from __future__ import annotations

from typing import Any

import redis

from switchboard.core import keys
from switchboard.core.wire import ToolCallContext
from switchboard.tools.registry import Tool

DEFAULT_SLEEP_TTL_S = 6 * 3600


def sleep_tool(client: redis.Redis, ttl_s: int = DEFAULT_SLEEP_TTL_S) -> Tool:
    def sleep(context: ToolCallContext) -> dict[str, Any]:
        if context.guild_id is None:  # a DM is always answered: there is nothing to be quiet in
            return {"asleep": False, "why": "direct messages are always answered"}
        client.set(keys.asleep(context.channel_id), context.activation_id, ex=ttl_s)
        return {"asleep": True, "until": "someone mentions you", "at_most_s": ttl_s}

    return Tool(
        name="sleep",
        description="Stop answering ordinary messages in this channel until someone mentions you "
                    f"(at most {ttl_s // 3600 or 1} h). Use it when asked to be quiet.",
        parameters={"type": "object", "properties": {}, "additionalProperties": False},
        run=sleep, timeout_s=2.0, side_effects=True, needs_context=True)
