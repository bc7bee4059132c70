"""The producer side of `sb:activations` (the gateway, and operators' probes): enqueue an activation at most once.

`SET NX sb:accepted:<id>`, `XADD` and the channel's in-flight entry run as one Lua script, so a
replayed Discord event (a gateway RESUME, a restarted gateway) can never enqueue the same activation
twice, a crash cannot leave the guard set without the entry, and no planner can see the entry before
its channel lists it (planners answer a channel in the order of that list: `planner/turns.py`).
"""

from __future__ import annotations

import time

import redis.asyncio as aioredis

from switchboard.core import keys
from switchboard.core.keys import STREAM_FIELD, Group, Stream
from switchboard.core.wire import Activation

# An activation still listed as in flight after this long is assumed lost, so it cannot block a channel forever.
STALE_AFTER_S = 15 * 60

_ENQUEUE_ONCE = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[3]) then
  if ARGV[5] ~= '' then
    redis.call('ZADD', KEYS[3], ARGV[4], ARGV[5])
    redis.call('EXPIRE', KEYS[3], ARGV[6])
  end
  return redis.call('XADD', KEYS[2], '*', ARGV[1], ARGV[2])
end
return false
"""


class ActivationQueue:
    def __init__(self, client: aioredis.Redis, retention_s: int) -> None:
        self._redis = client
        self._script = client.register_script(_ENQUEUE_ONCE)
        self._retention_s = retention_s

    async def enqueue(self, activation: Activation, in_channel_order: bool = True) -> bool:
        """True when the activation was queued now; False when it had been queued before.

        `in_channel_order=False` (slash-command work, answered in the command's response) lets it run
        beside the channel's conversation instead of waiting its turn in it.
        """
        listed = activation.id if in_channel_order else ""
        entry_id = await self._script(
            keys=[keys.accepted(activation.id), Stream.ACTIVATIONS.value, keys.busy(activation.channel_id)],
            args=[STREAM_FIELD, activation.to_json(), self._retention_s, time.time(), listed, STALE_AFTER_S])
        return entry_id is not None

    async def accepted(self, activation_id: str) -> bool:
        """Whether this activation was enqueued before (a replayed Discord event must not count twice)."""
        return bool(await self._redis.exists(keys.accepted(activation_id)))

    async def backlog(self) -> int:
        """Activations queued and not yet taken by a planner."""
        groups = await self._redis.xinfo_groups(Stream.ACTIVATIONS)
        planners = next((g for g in groups if g["name"] == Group.PLANNERS), None)
        if planners is None:
            return await self._redis.xlen(Stream.ACTIVATIONS)
        return int(planners.get("lag") or 0)

    async def first_notice(self, scope: str, scope_id: str, ttl_s: int = 3600) -> bool:
        """True the first time a notice is sent for this scope within `ttl_s`."""
        return bool(await self._redis.set(keys.notice_sent(scope, scope_id), "1", nx=True, ex=ttl_s))
