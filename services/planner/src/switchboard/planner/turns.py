"""Per-channel turns: a channel's activations are answered in the order its messages arrived.

The gateway adds each activation to its channel's in-flight set (`sb:busy:<channel>`, scored by arrival
time) in the same script that queues it, and removes it once the reply is posted. An activation's turn
comes when no earlier activation of its channel is in flight, so two planners never answer one
channel out of order, and each answer sees the previous one in the history. Channels never wait for
each other.
"""

from __future__ import annotations

import asyncio
import logging
import time

import redis.asyncio as aioredis

from switchboard.core import keys
from switchboard.core.wire import Activation

log = logging.getLogger(__name__)


class ChannelTurns:
    def __init__(self, client: aioredis.Redis, timeout_s: float, poll_s: float = 0.05) -> None:
        """`timeout_s`: how long an earlier activation may hold the channel before it is assumed lost."""
        self._redis = client
        self._timeout_s = timeout_s
        self._poll_s = poll_s

    async def wait(self, activation: Activation) -> None:
        """Return once every earlier activation of the channel is done, or this one was replaced.

        An activation the gateway did not list (a replay, an entry from an older gateway) waits for
        nothing. An earlier activation that holds the channel past the timeout is dropped from the set
        with a warning: a lost reply must not silence a channel for good.
        """
        key = keys.busy(activation.channel_id)
        blocked_since, blocker = time.monotonic(), None
        while True:
            ahead = await self._earlier(key, activation.id)
            if not ahead or await self._redis.exists(keys.superseded(activation.id)):
                return
            if ahead != blocker:
                blocked_since, blocker = time.monotonic(), ahead
            elif time.monotonic() - blocked_since > self._timeout_s:
                log.warning("activation %s held channel %s for over %.0f s; going on without it",
                            ahead, activation.channel_id, self._timeout_s)
                await self._redis.zrem(key, ahead)
                continue
            await asyncio.sleep(self._poll_s)

    async def later(self, activation: Activation) -> str | None:
        """The first activation of the channel listed after this one, or None."""
        key = keys.busy(activation.channel_id)
        listed = await self._redis.zscore(key, activation.id)
        if listed is None:
            return None
        after = await self._redis.zrangebyscore(key, f"({listed}", "+inf", start=0, num=1)
        return after[0] if after else None

    async def _earlier(self, key: str, activation_id: str) -> str | None:
        """The oldest activation in flight before this one, or None when it is this one's turn."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zscore(key, activation_id)
            pipe.zrange(key, 0, 0)
            listed, head = await pipe.execute()
        if listed is None or not head or head[0] == activation_id:
            return None
        return head[0]
