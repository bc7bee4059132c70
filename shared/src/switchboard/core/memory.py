"""Long-lived memory a callsystem keeps per user or per channel (`remember` / `recall`), within one guild.

Values are JSON, in one Redis hash per owner (`sb:memory:<guild>:<scope>:<id>`): a user's notes in one guild
are not seen in another. A hash holds at most `max_fields` notes (a new one past that is refused with
`LimitReached`; replacing one is always allowed) and lives `ttl_s` after its last write. `MemoryStore` is for
the planner (async), `SyncMemoryStore` for the tools worker's threads; both go through the same script.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import redis
import redis.asyncio as aioredis

from switchboard.core import keys
from switchboard.core.errors import LimitReached

MemoryScope = Literal["user", "channel"]
MAX_VALUE_CHARS = 4000  # one remembered value, as JSON

# Set a field unless that adds a field past the cap; renew the hash's TTL either way it is written.
_SET_CAPPED = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""


@dataclass(frozen=True)
class MemoryLimits:
    max_fields: int = 50  # notes per owner
    ttl_s: int = 90 * 24 * 3600  # an owner's notes outlive their last write by this

    def script_args(self, key: str, value: Any) -> list[Any]:
        """The arguments of `_SET_CAPPED`; raises `LimitReached` for a value too large."""
        text = json.dumps(value)
        if len(text) > MAX_VALUE_CHARS:
            raise LimitReached(f"a remembered value is at most {MAX_VALUE_CHARS} characters of JSON")
        return [key, text, self.max_fields, self.ttl_s]

    def refused(self, key: str) -> LimitReached:
        return LimitReached(f"cannot remember {key!r}: {self.max_fields} notes are kept at most (the limit); "
                            "replace one instead")


DEFAULT_LIMITS = MemoryLimits()


class MemoryStore:
    def __init__(self, client: aioredis.Redis, limits: MemoryLimits = DEFAULT_LIMITS) -> None:
        self._redis = client
        self._limits = limits
        self._set = client.register_script(_SET_CAPPED)

    async def get(self, guild_id: str | None, scope: MemoryScope, owner: str, key: str) -> Any:
        raw = await self._redis.hget(keys.memory(keys.tenant(guild_id), scope, owner), key)
        return None if raw is None else json.loads(raw)

    async def set(self, guild_id: str | None, scope: MemoryScope, owner: str, key: str, value: Any) -> None:
        """Raises `LimitReached` for a value too large, or a new key past the owner's cap."""
        key_args = self._limits.script_args(key, value)
        if not await self._set(keys=[keys.memory(keys.tenant(guild_id), scope, owner)], args=key_args):
            raise self._limits.refused(key)


class SyncMemoryStore:
    """`MemoryStore` for sync code (the tools worker): the same keys, caps and TTLs."""

    def __init__(self, client: redis.Redis, limits: MemoryLimits = DEFAULT_LIMITS) -> None:
        self._redis = client
        self._limits = limits
        self._set = client.register_script(_SET_CAPPED)

    def get(self, guild_id: str | None, scope: MemoryScope, owner: str, key: str) -> Any:
        raw = self._redis.hget(keys.memory(keys.tenant(guild_id), scope, owner), key)
        return None if raw is None else json.loads(raw)

    def set(self, guild_id: str | None, scope: MemoryScope, owner: str, key: str, value: Any) -> None:
        key_args = self._limits.script_args(key, value)
        if not self._set(keys=[keys.memory(keys.tenant(guild_id), scope, owner)], args=key_args):
            raise self._limits.refused(key)
