"""The planner's side of `sb:replies`: write an activation's reply and record exactly once.

A Lua script makes "mark written, append the reply, store the record, index it by time" one atomic
step, so an activation processed twice (a duplicate entry, a planner that took over) still yields one
reply entry. The indexes (`sb:records`, and the channel's and the guild's) are what replays select from,
what a message deleted on Discord is looked for in, and what a guild's purge deletes; ids past the retention
leave them as their records expire.
"""

from __future__ import annotations

import redis.asyncio as aioredis

from switchboard.core import keys
from switchboard.core.keys import STREAM_FIELD, Stream
from switchboard.core.wire import ActivationRecord, Reply

_WRITE_ONCE = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[4]) then
  redis.call('XADD', KEYS[2], '*', ARGV[1], ARGV[2])
  redis.call('SET', KEYS[3], ARGV[3], 'EX', ARGV[4])
  local oldest = '(' .. (tonumber(ARGV[5]) - tonumber(ARGV[4]))
  for i = 4, #KEYS do
    redis.call('ZADD', KEYS[i], ARGV[5], ARGV[6])
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', oldest)
    if i > 4 then redis.call('EXPIRE', KEYS[i], ARGV[4]) end
  end
  return 1
end
return 0
"""

_WRITE_TURN_ONCE = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[3]) then
  redis.call('XADD', KEYS[2], '*', ARGV[1], ARGV[2])
  return 1
end
return 0
"""


class ReplyWriter:
    def __init__(self, client: aioredis.Redis, retention_s: int) -> None:
        self._script = client.register_script(_WRITE_ONCE)
        self._turn_script = client.register_script(_WRITE_TURN_ONCE)
        self._retention_s = retention_s

    async def write_turn(self, reply: Reply) -> bool:
        """Append one agent-group turn (no record: the activation's final reply brings it) unless already done."""
        written = await self._turn_script(keys=[keys.reply_written(reply.delivery_id), Stream.REPLIES.value],
                                          args=[STREAM_FIELD, reply.to_json(), self._retention_s])
        return bool(written)

    async def write(self, reply: Reply, record: ActivationRecord) -> bool:
        """Append the reply and store the record unless already done; True when this call wrote them."""
        written = await self._script(
            keys=[keys.reply_written(reply.activation_id), Stream.REPLIES.value, keys.record(reply.activation_id),
                  keys.RECORDS, keys.channel_records(record.activation.channel_id),
                  keys.guild_records(keys.tenant(record.activation.guild_id))],
            args=[STREAM_FIELD, reply.to_json(), record.to_json(), self._retention_s, repr(record.finished_at),
                  reply.activation_id],
        )
        return bool(written)
