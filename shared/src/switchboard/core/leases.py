"""Lane slots as leases: at most `capacity` holders of a lane at once, across every process.

A slot is a member of the sorted set `sb:lane-slots:<lane>` scored by when its lease runs out. Taking
one first drops expired leases (their holders died: a killed worker cannot leak a slot), then adds
this lease if fewer than `capacity` remain, all in one Lua script. A holder gives its slot back when
it is done; a caller that cannot get one within its wait gets a typed `LaneFull` carrying how many
hold the lane and its capacity.

A holder that gives its slot back also pushes a wake-up on `sb:lane-freed:<lane>` (a list capped at the
capacity), which a waiter blocks on, so a freed slot is taken at once rather than at the next poll; the
poll remains only for leases that lapsed, whose holders died without a word.

The wait is a bounded queue: a caller that finds the lane full joins `sb:lane-waiters:<lane>` (scored
by when it gives up, so a killed waiter leaves it too), unless `queue_limit` callers already wait; then
it is refused at once with `LaneBackpressure` carrying the queue's length and limit. Waiters poll with
backoff rather than queueing in order: the queue bounds how many wait, not who goes first.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import redis

from switchboard.core import keys
from switchboard.core.errors import LaneBackpressure, LaneFull

_TAKE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return -1
end
return redis.call('ZCARD', KEYS[1])
"""
_JOIN_QUEUE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local waiting = redis.call('ZCARD', KEYS[1])
if waiting >= tonumber(ARGV[2]) then
  return waiting
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return -1
"""
_GIVE_BACK = """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  redis.call('LPUSH', KEYS[2], '1')
  redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[2]) - 1)
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
end
"""
MAX_POLL_S = 0.5  # how soon a lapsed lease (a dead holder) is noticed; given-back slots wake waiters at once
MIN_BLOCK_S = 0.01  # BLPOP reads a timeout that rounds to 0 as "block forever"
FREED_TTL_MS = 60_000


class LaneSlots:
    """Sync (worker threads) slot leases on one Redis."""

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client
        self._take = client.register_script(_TAKE)
        self._join = client.register_script(_JOIN_QUEUE)
        self._give_back = client.register_script(_GIVE_BACK)

    @contextmanager
    def hold(self, lane: str, capacity: int, ttl_s: float, wait_s: float,
             queue_limit: int | None = None) -> Iterator[None]:
        """Hold one of the lane's `capacity` slots while inside; the lease lapses after `ttl_s` regardless.

        Waits up to `wait_s` for a slot (`LaneFull` after), among at most `queue_limit` waiters
        (`LaneBackpressure` beyond; None: no bound).
        """
        key, lease = keys.lane_slots(lane), uuid.uuid4().hex
        if (holders := self._try(key, lease, capacity, ttl_s)) >= 0:
            with self._queued(lane, lease, wait_s, queue_limit):
                self._wait(lane, key, lease, capacity, ttl_s, wait_s, holders)
        try:
            yield
        finally:
            self._give_back(keys=[key, keys.lane_freed(lane)], args=[lease, capacity, FREED_TTL_MS])

    @contextmanager
    def _queued(self, lane: str, lease: str, wait_s: float, queue_limit: int | None) -> Iterator[None]:
        if queue_limit is None:
            yield
            return
        key, now = keys.lane_waiters(lane), time.time()
        waiting = int(self._join(keys=[key], args=[now, queue_limit, now + wait_s + 1, lease,
                                                   int(wait_s * 1000) + 2000]))
        if waiting >= 0:
            raise LaneBackpressure(lane, waiting, queue_limit)
        try:
            yield
        finally:
            self._redis.zrem(key, lease)

    def _wait(self, lane: str, key: str, lease: str, capacity: int, ttl_s: float, wait_s: float,
              holders: int) -> None:
        deadline, freed = time.monotonic() + wait_s, keys.lane_freed(lane)
        while holders >= 0:
            if (left := deadline - time.monotonic()) <= 0:
                raise LaneFull(lane, holders, capacity)
            self._redis.blpop([freed], timeout=max(MIN_BLOCK_S, min(MAX_POLL_S, left)))
            holders = self._try(key, lease, capacity, ttl_s)

    def _try(self, key: str, lease: str, capacity: int, ttl_s: float) -> int:
        """-1 when the lease was taken, else how many hold the lane."""
        now = time.time()
        return int(self._take(keys=[key], args=[now, capacity, now + ttl_s, lease, int(ttl_s * 1000) + 1000]))
