"""Waiting for step results: a pub/sub wake-up makes it fast, polling the journal makes it sure.

Workers publish on this planner's wake channel after recording a result. Pub/sub is at-most-once, so
a waiter also re-reads the journal every `poll_s`: a lost wake-up costs latency, never a result.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import redis.asyncio as aioredis

from switchboard.core.errors import StepTimeout
from switchboard.core.journal import Journal, parse_wake_message
from switchboard.core.wire import StepResult

log = logging.getLogger(__name__)


class StepWaiter:
    def __init__(self, client: aioredis.Redis, journal: Journal, channel: str, poll_s: float) -> None:
        self._redis = client
        self._journal = journal
        self.channel = channel
        self._poll_s = poll_s
        self._events: dict[tuple[str, str], asyncio.Event] = {}
        self._pubsub: aioredis.client.PubSub | None = None

    async def start(self) -> None:
        """Subscribe before any step is dispatched, so no wake-up can precede the subscription."""
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await self._pubsub.subscribe(self.channel)

    async def listen(self) -> None:
        """Deliver wake-ups to waiters until cancelled."""
        assert self._pubsub is not None, "start() first"
        while True:
            message = await self._pubsub.get_message(timeout=1.0)
            if message is None:
                continue
            with contextlib.suppress(ValueError, KeyError):
                event = self._events.get(parse_wake_message(message["data"]))
                if event is not None:
                    event.set()

    async def close(self) -> None:
        if self._pubsub is not None:
            await self._pubsub.aclose()

    async def wait(self, activation_id: str, step: str, timeout: float) -> StepResult:
        """The recorded result of a step; raises `StepTimeout` after `timeout` seconds."""
        key = (activation_id, step)
        event = self._events.setdefault(key, asyncio.Event())
        deadline = asyncio.get_running_loop().time() + timeout
        try:
            while True:
                event.clear()  # cleared before reading, so a wake-up during the read is not lost
                if (result := await self._journal.get(activation_id, step)) is not None:
                    return result
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    raise StepTimeout(f"step {step} of {activation_id} not done after {timeout:g} s")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), min(self._poll_s, remaining))
        finally:
            self._events.pop(key, None)
