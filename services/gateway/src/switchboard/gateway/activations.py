"""The gateway's side of `sb:activations`: enqueue an activation at most once.

`SET NX sb:accepted:<id>` and `XADD` run as one Lua script, so a replayed Discord event (a gateway
RESUME, a restarted gateway) can never enqueue the same activation twice, and a crash cannot leave
the guard set without the entry.
"""

from __future__ import annotations

import redis.asyncio as aioredis

from switchboard.core import keys
from switchboard.core.keys import STREAM_FIELD, Stream
from switchboard.core.wire import Activation

_ENQUEUE_ONCE = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[3]) then
  return redis.call('XADD', KEYS[2], '*', ARGV[1], ARGV[2])
end
return false
"""


class ActivationQueue:
    def __init__(self, client: aioredis.Redis, retention_s: int) -> None:
        self._script = client.register_script(_ENQUEUE_ONCE)
        self._retention_s = retention_s

    async def enqueue(self, activation: Activation) -> bool:
        """True when the activation was queued now; False when it had been queued before."""
        entry_id = await self._script(
            keys=[keys.accepted(activation.id), Stream.ACTIVATIONS.value],
            args=[STREAM_FIELD, activation.to_json(), self._retention_s])
        return entry_id is not None
