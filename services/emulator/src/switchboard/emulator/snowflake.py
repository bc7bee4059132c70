"""Discord snowflake ids.

A snowflake is ``(ms since 2015-01-01) << 22 | worker << 17 | process << 12 | increment``.
discord.py derives ``created_at`` from it, so generated ids carry real times.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

DISCORD_EPOCH_MS = 1_420_070_400_000
_INCREMENT_BITS = 12


def snowflake_time(snowflake: int) -> datetime:
    """The UTC creation time encoded in ``snowflake``."""
    ms = (snowflake >> 22) + DISCORD_EPOCH_MS
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def iso_timestamp(snowflake: int) -> str:
    """The ISO 8601 timestamp Discord sends for an object created with ``snowflake``."""
    return snowflake_time(snowflake).isoformat(timespec="microseconds")


class SnowflakeGenerator:
    """Hands out unique, strictly increasing snowflakes stamped with the current time.

    Ids are strictly increasing even when the clock stalls or steps back,
    because history queries (``before``/``after``) rely on id order.
    """

    def __init__(self, worker_id: int = 1, process_id: int = 0, clock: Callable[[], float] = time.time):
        self._prefix = (worker_id & 0x1F) << 17 | (process_id & 0x1F) << 12
        self._clock = clock
        self._last_ms = 0
        self._increment = 0

    def next(self) -> int:
        now_ms = int(self._clock() * 1000) - DISCORD_EPOCH_MS
        if now_ms > self._last_ms:
            self._last_ms, self._increment = now_ms, 0
        else:
            self._increment += 1
            if self._increment >> _INCREMENT_BITS:
                # 4096 ids in one millisecond: borrow the next millisecond.
                self._last_ms, self._increment = self._last_ms + 1, 0
        return self._last_ms << 22 | self._prefix | self._increment
