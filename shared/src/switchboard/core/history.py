"""Per-channel message history: the gateway appends, callsystems read a window, Discord's deletes and edits
reach it.

Stored newest first in `sb:history:<channel>`, capped in length, and gone `ttl_s` after the channel's last
message, so a busy channel costs bounded memory and a quiet one none. A message deleted on Discord leaves it;
an edited one is rewritten in place.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from switchboard.core import keys
from switchboard.core.wire import HistoryMessage

DEFAULT_TTL_S = 7 * 24 * 3600

# Replace every entry equal to ARGV[2k-1] by ARGV[2k] (an empty ARGV[2k]: remove it), wherever appends have
# moved it meanwhile. Entries are matched whole, so a concurrent append is never touched.
_REWRITE = """
local items = redis.call('LRANGE', KEYS[1], 0, -1)
local changed = 0
for k = 1, #ARGV, 2 do
  for i, item in ipairs(items) do
    if item == ARGV[k] then
      if ARGV[k + 1] == '' then
        redis.call('LREM', KEYS[1], 0, item)
      else
        redis.call('LSET', KEYS[1], i - 1, ARGV[k + 1])
      end
      changed = changed + 1
    end
  end
end
return changed
"""


class ChannelHistory:
    def __init__(self, client: aioredis.Redis, limit: int, ttl_s: int = DEFAULT_TTL_S) -> None:
        self._redis = client
        self._limit = limit
        self._ttl_s = ttl_s
        self._rewrite = client.register_script(_REWRITE)

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
        pipe.expire(key, self._ttl_s)
        return 3

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

    async def remove(self, channel_id: str, message_ids: Collection[str]) -> int:
        """Take messages deleted on Discord out of the channel's history; returns how many entries went."""
        return await self._apply(channel_id, lambda message: None if message.message_id in message_ids else message)

    async def edit(self, channel_id: str, message_id: str, content: str) -> int:
        """Rewrite an edited message's text; returns how many entries changed (0: not in the history)."""
        return await self._apply(channel_id, lambda message: message.model_copy(update={"content": content})
                                 if message.message_id == message_id else message)

    async def clear(self, channel_id: str) -> None:
        await self._redis.delete(keys.history(channel_id))

    async def _apply(self, channel_id: str, change: Callable[[HistoryMessage], HistoryMessage | None]) -> int:
        key = keys.history(channel_id)
        rewrites: list[str] = []
        for raw in set(await self._redis.lrange(key, 0, -1)):
            message = HistoryMessage.from_json(raw)
            changed = change(message)
            if changed is not message:
                rewrites += [raw, "" if changed is None else changed.to_json()]
        return await self._rewrite(keys=[key], args=rewrites) if rewrites else 0
