"""Per-channel arrival order for the gateway's decisions.

discord.py runs each `on_message` as its own task; without this, two messages of one channel could be
rate-limited or enqueued in the opposite order to the one they arrived in. Tasks start in dispatch
order and `asyncio.Lock` wakes waiters first come, first served, so holding the channel's lock from
the start of `on_message` keeps a channel's decisions in arrival order while channels run in parallel.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class ChannelOrder:
    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @property
    def active_channels(self) -> int:
        """Channels with a message being decided or waiting."""
        return len(self._locks)

    @asynccontextmanager
    async def hold(self, channel_id: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(channel_id, (asyncio.Lock(), 0))
        self._locks[channel_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[channel_id]
            if users == 1:
                del self._locks[channel_id]  # idle channels cost no memory
            else:
                self._locks[channel_id] = (lock, users - 1)
