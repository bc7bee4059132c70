"""Keeping long-running loops alive through Redis outages."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

TRANSIENT = (RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError)


async def keep_running(loop: Callable[[], Awaitable[None]], what: str, max_backoff_s: float = 10.0) -> None:
    """Run `loop` until cancelled, starting it again after a transient failure (backoff doubles to a cap).

    A loop that dies silently (a reply consumer, a wake-up listener) would leave a process that looks
    alive but does nothing; this turns a Redis restart into a pause.
    """
    backoff = 0.1
    while True:
        try:
            await loop()
            return
        except TRANSIENT as exc:
            log.warning("%s interrupted (%s); again in %.1f s", what, exc, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, max_backoff_s)
