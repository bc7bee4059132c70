"""Per-channel message history: the gateway appends, callsystems read a window.

Stored newest first in `sb:history:<channel>` and capped, so a busy channel costs bounded memory.
"""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from switchboard.core import keys
from switchboard.core.wire import HistoryMessage


class ChannelHistory:
    def __init__(self, client: aioredis.Redis, limit: int) -> None:
        self._redis = client
        self._limit = limit

    async def append(self, channel_id: str, message: HistoryMessage) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            self.queue_append(pipe, channel_id, message)
            await pipe.execute()

    def queue_append(self, pipe: Pipeline, channel_id: str, message: HistoryMessage) -> int:
        """Add the append to `pipe`, for a caller that sends it with other commands; returns how many
        commands it added (their results come back in that order)."""
        key = keys.history(channel_id)
        pipe.lpush(key, message.to_json())
        pipe.ltrim(key, 0, self._limit - 1)
        return 2

    async def recent(self, channel_id: str, limit: int) -> list[HistoryMessage]:
        """Up to `limit` messages, oldest first; a message seen twice (a replayed event) counts once."""
        raw = await self._redis.lrange(keys.history(channel_id), 0, limit - 1)
        seen: set[str] = set()
        window = []
        for item in reversed(raw):
            message = HistoryMessage.from_json(item)
            if message.message_id not in seen:
                seen.add(message.message_id)
                window.append(message)
        return window

    async def clear(self, channel_id: str) -> None:
        await self._redis.delete(keys.history(channel_id))
