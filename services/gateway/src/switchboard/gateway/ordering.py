"""Per-channel arrival order for the gateway's decisions.

discord.py runs each `on_message` as its own task; deciding there, two messages of one channel could be
rate-limited or enqueued in the opposite order to the one they arrived in. So `on_message` only hands the
message to its channel's queue here, and one worker per channel with messages waiting decides them one
after another, in arrival order, while channels run in parallel.

Waiting messages are data in a queue, not tasks parked on a lock: discord.py reads a burst far faster than
it can be decided, and a parked task holds a dozen more objects (its coroutines, its lock waiter) than the
message itself, all of which the garbage collector walks again and again while the backlog lasts.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class ChannelOrder(Generic[T]):
    def __init__(self, handle: Callable[[T], Awaitable[None]]) -> None:
        """`handle` decides one item; it runs for one item of a channel at a time, in the order submitted."""
        self._handle = handle
        self._queues: dict[str, deque[T]] = {}
        self._workers: set[asyncio.Task[None]] = set()

    @property
    def active_channels(self) -> int:
        """Channels with an item being decided or waiting."""
        return len(self._queues)

    def submit(self, channel_id: str, item: T) -> None:
        """Queue `item` behind the channel's earlier ones; starts the channel's worker if it has none."""
        queue = self._queues.get(channel_id)
        if queue is None:
            queue = self._queues[channel_id] = deque()
            worker = asyncio.create_task(self._drain(channel_id, queue))
            self._workers.add(worker)
            worker.add_done_callback(self._workers.discard)
        queue.append(item)

    async def _drain(self, channel_id: str, queue: deque[T]) -> None:
        try:
            while queue:
                try:
                    await self._handle(queue.popleft())
                except Exception:  # one item's failure is logged, as discord.py does for an event handler's
                    log.exception("deciding a message of channel %s failed", channel_id)
        finally:
            del self._queues[channel_id]  # idle channels cost no memory

    async def close(self) -> None:
        """Stop every worker; what was still waiting is dropped."""
        for worker in list(self._workers):
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
