"""Channels where the bot sleeps: the `sleep` tool's mark (`keys.asleep`), read and cleared by the gateway.

The tools worker sets the mark with a TTL; here it is read only for messages that would wake the bot
without addressing it (so a quiet channel's messages cost nothing extra), and a mention clears it.
"""

from __future__ import annotations

import redis.asyncio as aioredis

from switchboard.core import keys


class ChannelSleep:
    def __init__(self, client: aioredis.Redis) -> None:
        self._redis = client

    async def asleep(self, channel_id: str) -> bool:
        return bool(await self._redis.exists(keys.asleep(channel_id)))

    async def wake(self, channel_id: str) -> bool:
        """Clear the mark; True when the channel was asleep."""
        return bool(await self._redis.delete(keys.asleep(channel_id)))
