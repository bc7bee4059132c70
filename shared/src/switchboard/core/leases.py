"""Lane slots as leases: at most `capacity` holders of a lane at once, across every process.

A slot is a member of the sorted set `sb:lane-slots:<lane>` scored by when its lease runs out. Taking
one first drops expired leases (their holders died: a killed worker cannot leak a slot), then adds
this lease if fewer than `capacity` remain, all in one Lua script. A holder gives its slot back when
it is done; a caller that cannot get one within its wait gets a typed `LaneFull` carrying how many
hold the lane and its capacity.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import redis

from switchboard.core import keys
from switchboard.core.errors import LaneFull

_TAKE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return -1
end
return redis.call('ZCARD', KEYS[1])
"""
MAX_POLL_S = 0.2


class LaneSlots:
    """Sync (worker threads) slot leases on one Redis."""

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client
        self._take = client.register_script(_TAKE)

    @contextmanager
    def hold(self, lane: str, capacity: int, ttl_s: float, wait_s: float) -> Iterator[None]:
        """Hold one of the lane's `capacity` slots while inside; the lease lapses after `ttl_s` regardless."""
        key, lease = keys.lane_slots(lane), uuid.uuid4().hex
        deadline, pause = time.monotonic() + wait_s, 0.01
        while (holders := self._try(key, lease, capacity, ttl_s)) >= 0:
            if (left := deadline - time.monotonic()) <= 0:
                raise LaneFull(lane, holders, capacity)
            time.sleep(min(pause, left))
            pause = min(pause * 2, MAX_POLL_S)
        try:
            yield
        finally:
            self._redis.zrem(key, lease)

    def _try(self, key: str, lease: str, capacity: int, ttl_s: float) -> int:
        """-1 when the lease was taken, else how many hold the lane."""
        now = time.time()
        return int(self._take(keys=[key], args=[now, capacity, now + ttl_s, lease, int(ttl_s * 1000) + 1000]))
