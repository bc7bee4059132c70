"""Which activations of a channel are in flight, and what a new message does to them.

The double-texting policy of the channel decides: `enqueue` (queue behind them), `reject` (tell the
user once and queue nothing), `interrupt` (stop them: the newer message takes their place), `merge`
(stop those that have not started yet, so a burst of messages gets one answer that sees them all).
"""

from __future__ import annotations

import time

import redis.asyncio as aioredis

from switchboard.core import keys
from switchboard.core.activation_queue import STALE_AFTER_S
from switchboard.core.config import DoubleTexting


class ChannelWork:
    """A channel's in-flight activations; `ActivationQueue.enqueue` adds them, the reply poster removes them."""

    def __init__(self, client: aioredis.Redis, retention_s: int) -> None:
        self._redis = client
        self._retention_s = retention_s

    async def in_flight(self, channel_id: str) -> list[str]:
        key = keys.busy(channel_id)
        await self._redis.zremrangebyscore(key, "-inf", time.time() - STALE_AFTER_S)
        return list(await self._redis.zrange(key, 0, -1))

    async def done(self, channel_id: str, activation_id: str) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zrem(keys.busy(channel_id), activation_id)
            pipe.publish(keys.turn_freed(channel_id), activation_id)  # a planner waiting for this turn goes now
            await pipe.execute()

    async def supersede(self, activation_ids: list[str], by: str, policy: DoubleTexting) -> list[str]:
        """Stop activations a newer one replaces; returns those stopped (merge spares started ones)."""
        stopped = []
        for activation_id in activation_ids:
            if policy == DoubleTexting.MERGE and await self._redis.exists(keys.journal(activation_id)):
                continue  # already running: its answer comes, the new message is answered after it
            await self._redis.set(keys.superseded(activation_id), by, ex=self._retention_s)
            stopped.append(activation_id)
        return stopped
