"""Per-channel turns: a channel's activations are answered in the order its messages arrived.

The gateway adds each activation to its channel's in-flight set (`sb:busy:<channel>`, scored by arrival
time) in the same script that queues it, and removes it once the reply is posted. An activation's turn
comes when no earlier activation of its channel is in flight, so two planners never answer one
channel out of order, and each answer sees the previous one in the history. Channels never wait for
each other.

A waiter looks again as soon as the gateway rings the channel's bell (`sb:turn-freed:<channel>`, pub/sub,
rung when a reply is posted), so the next answer starts within a Redis round trip rather than at the next
poll. Pub/sub is at-most-once, so a slow poll remains for a ring that was missed (a reconnect) and for
changes that ring no bell (a replaced activation, a lost reply past the timeout).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from switchboard.core import keys
from switchboard.core.wire import Activation

log = logging.getLogger(__name__)


RECONNECT_S = 1.0


class TurnBell:
    """One pub/sub subscription per planner to every channel's bell; wakes the waiters of the channel rung."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._redis = client
        self._waiters: dict[str, set[asyncio.Event]] = {}
        self._listener: asyncio.Task[None] | None = None

    @contextlib.contextmanager
    def listening(self, channel_id: str) -> Iterator[asyncio.Event]:
        """An event set whenever the channel's bell rings while the block runs; the caller clears it."""
        if self._listener is None or self._listener.done():
            self._listener = asyncio.get_running_loop().create_task(self._listen())
        rung = asyncio.Event()
        self._waiters.setdefault(channel_id, set()).add(rung)
        try:
            yield rung
        finally:
            waiters = self._waiters.get(channel_id, set())
            waiters.discard(rung)
            if not waiters:
                self._waiters.pop(channel_id, None)

    async def _listen(self) -> None:
        prefix = keys.TURN_FREED_PATTERN.removesuffix("*")
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.psubscribe(keys.TURN_FREED_PATTERN)
                    async for message in pubsub.listen():
                        if message["type"] == "pmessage":
                            channel = message["channel"]
                            channel = channel.decode() if isinstance(channel, bytes) else channel
                            for rung in self._waiters.get(channel.removeprefix(prefix), ()):
                                rung.set()
            except (RedisError, OSError) as exc:  # waiters fall back on their poll meanwhile
                log.warning("turn bell lost its subscription (%s); resubscribing", exc)
                await asyncio.sleep(RECONNECT_S)


class ChannelTurns:
    def __init__(self, client: aioredis.Redis, timeout_s: float, poll_s: float = 0.5) -> None:
        """`timeout_s`: how long an earlier activation may hold the channel before it is assumed lost;
        `poll_s`: how often a waiter looks again without a ring."""
        self._redis = client
        self._timeout_s = timeout_s
        self._poll_s = poll_s
        self._bell = TurnBell(client)

    async def wait(self, activation: Activation) -> None:
        """Return once every earlier activation of the channel is done, or this one was replaced.

        An activation the gateway did not list (a replay, an entry from an older gateway) waits for
        nothing. An earlier activation that holds the channel past the timeout is dropped from the set
        with a warning: a lost reply must not silence a channel for good.
        """
        key = keys.busy(activation.channel_id)
        blocked_since, blocker = time.monotonic(), None
        with self._bell.listening(activation.channel_id) as rung:
            while True:
                rung.clear()  # before looking: a ring from here on means look again
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
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(rung.wait(), self._poll_s)

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
