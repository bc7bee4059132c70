"""Personas: named instruction sets a channel answers with, owned by a guild or by the deployment.

Three kinds, looked up in this order: the built-in one (its name can never be taken), the guild's own
(`sb:personas:guild:<guild>`: created by that guild's admins, seen only by that guild, at most
`max_per_guild` of them) and the shared ones (`sb:personas:shared`: created only by operators, seen by every
guild). A guild's persona with a shared persona's name hides the shared one in that guild only. Nothing a
guild does can change what another guild's channels answer with.

Instructions may use `{name}` and `{time}` (the callsystem fills the time in from the journaled clock
tool); a persona's history template says how other speakers' messages read in its prompt.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import redis.asyncio as aioredis
from pydantic import Field
from redis.asyncio.client import Pipeline

from switchboard.core import keys
from switchboard.core.errors import ConfigError, LimitReached
from switchboard.core.plugins import DEFAULT_HISTORY_TEMPLATE, Persona
from switchboard.core.wire import WireModel

DEFAULT_PERSONA = Persona(
    name="switchboard",
    instructions=("You are Switchboard, a friendly assistant in a Discord server. "
                  "Answer the last message briefly and helpfully. The current time is {time}."),
)
DEFAULT_MAX_PER_GUILD = 25
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")

PersonaScope = Literal["builtin", "guild", "shared"]

# Create or replace a guild's persona unless that would take the guild past its cap (atomic across replicas).
_CREATE_CAPPED = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 or redis.call('HLEN', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  return 1
end
return 0
"""

# Move every legacy (ownerless) persona into the shared ones, never over a shared one made since; then drop
# the legacy hash. Returns the names moved.
_MIGRATE = """
local moved = {}
local legacy = redis.call('HGETALL', KEYS[1])
for i = 1, #legacy, 2 do
  if redis.call('HSETNX', KEYS[2], legacy[i], legacy[i + 1]) == 1 then table.insert(moved, legacy[i]) end
end
redis.call('DEL', KEYS[1])
return moved
"""


class PersonaRecord(WireModel):
    kind: Literal["persona"] = "persona"
    name: str
    instructions: str = Field(min_length=1, max_length=4000)
    history_template: str = Field(default=DEFAULT_HISTORY_TEMPLATE, min_length=9, max_length=200,
                                  pattern=r"\{content\}")
    created_by: str | None = None

    def persona(self) -> Persona:
        return Persona(self.name, self.instructions, self.history_template)


@dataclass(frozen=True)
class PersonaEntry:
    """A persona a guild can use, and whose it is."""

    persona: Persona
    scope: PersonaScope


class PersonaStore:
    def __init__(self, client: aioredis.Redis, builtin: Persona = DEFAULT_PERSONA,
                 max_per_guild: int = DEFAULT_MAX_PER_GUILD) -> None:
        self._redis = client
        self.builtin = builtin
        self.max_per_guild = max_per_guild
        self._create_capped = client.register_script(_CREATE_CAPPED)
        self._migrate = client.register_script(_MIGRATE)

    async def get(self, name: str | None, guild_id: str | None) -> Persona | None:
        """The persona `name` as guild `guild_id` sees it (None: a DM, which sees the built-in and shared ones);
        the built-in one for None; None when the guild has no such persona."""
        if name is None:
            return self.builtin
        found = await self.get_many([name], guild_id)
        return found[0] if found else None

    async def get_many(self, names: Sequence[str], guild_id: str | None) -> list[Persona]:
        """The personas among `names` that guild `guild_id` can use, in that order (one round trip)."""
        stored = [name for name in names if name != self.builtin.name]
        visible = await self._stored(guild_id, stored) if stored else {}
        return [self.builtin if name == self.builtin.name else visible[name].persona
                for name in names if name == self.builtin.name or name in visible]

    async def available(self, guild_id: str | None) -> list[PersonaEntry]:
        """Every persona guild `guild_id` can use, by name, each with its scope."""
        entries = {self.builtin.name: PersonaEntry(self.builtin, "builtin")}
        for scope, raws in await self._levels(guild_id, lambda pipe, key: pipe.hgetall(key)):
            for name, raw in raws.items():
                if name != self.builtin.name:
                    entries[name] = PersonaEntry(PersonaRecord.from_json(raw).persona(), scope)
        return [entries[name] for name in sorted(entries)]

    async def names(self, guild_id: str | None) -> list[str]:
        return [entry.persona.name for entry in await self.available(guild_id)]

    async def create(self, guild_id: str | None, name: str, instructions: str, created_by: str | None = None,
                     history_template: str = DEFAULT_HISTORY_TEMPLATE) -> Persona:
        """Create or replace one of guild `guild_id`'s personas.

        Raises `ConfigError` in a DM, for a bad name, the built-in's name or a bad template, and `LimitReached`
        when the guild already has `max_per_guild` personas (replacing one of them is always allowed).
        """
        if guild_id is None:
            raise ConfigError("personas belong to a server; create one in a server's channel")
        record = self._record(name, instructions, created_by, history_template)
        created = await self._create_capped(keys=[keys.guild_personas(guild_id)],
                                            args=[name, record.to_json(), self.max_per_guild])
        if not created:
            raise LimitReached(f"this server already has {self.max_per_guild} personas (the limit); "
                               "delete one before creating another")
        return record.persona()

    async def create_shared(self, name: str, instructions: str, created_by: str | None = None,
                            history_template: str = DEFAULT_HISTORY_TEMPLATE) -> Persona:
        """Create or replace a persona every guild sees (operators only: the admin API and CLI call this)."""
        record = self._record(name, instructions, created_by, history_template)
        await self._redis.hset(keys.SHARED_PERSONAS, name, record.to_json())
        return record.persona()

    async def delete(self, name: str, guild_id: str) -> bool:
        """Delete guild `guild_id`'s persona `name`; False when the guild had none of its own by that name."""
        return bool(await self._redis.hdel(keys.guild_personas(guild_id), name))

    async def delete_shared(self, name: str) -> bool:
        """Delete the shared persona `name` (operators only); False when there was none."""
        return bool(await self._redis.hdel(keys.SHARED_PERSONAS, name))

    async def migrate_legacy(self) -> list[str]:
        """Move the personas of the old ownerless hash into the shared ones (a shared persona of the same
        name, made since, is kept); returns the names moved. Safe to run again: the second run moves none."""
        return sorted(await self._migrate(keys=[keys.LEGACY_PERSONAS, keys.SHARED_PERSONAS]))

    async def _stored(self, guild_id: str | None, names: list[str]) -> dict[str, PersonaEntry]:
        """The stored personas among `names` as guild `guild_id` sees them: its own over the shared ones."""
        found: dict[str, PersonaEntry] = {}
        for scope, raws in await self._levels(guild_id, lambda pipe, key: pipe.hmget(key, names)):
            for name, raw in zip(names, raws, strict=True):
                if raw is not None:
                    found[name] = PersonaEntry(PersonaRecord.from_json(raw).persona(), scope)
        return found

    async def _levels(self, guild_id: str | None,
                      read: Callable[[Pipeline, str], object]) -> list[tuple[PersonaScope, Any]]:
        """`read` of each hash guild `guild_id` sees, broadest first (shared, then its own), in one round trip."""
        levels: list[tuple[PersonaScope, str]] = [("shared", keys.SHARED_PERSONAS)]
        if guild_id is not None:
            levels.append(("guild", keys.guild_personas(guild_id)))
        async with self._redis.pipeline(transaction=False) as pipe:
            for _, key in levels:
                read(pipe, key)
            results = await pipe.execute()
        return [(scope, result) for (scope, _), result in zip(levels, results, strict=True)]

    def _record(self, name: str, instructions: str, created_by: str | None, history_template: str) -> PersonaRecord:
        if not _NAME.match(name):
            raise ConfigError("a persona name is 1-32 lowercase letters, digits, '-' or '_'")
        if name == self.builtin.name:
            raise ConfigError(f"{name} is built in and cannot be replaced")
        if "{content}" not in history_template:
            raise ConfigError("a history template must contain {content}")
        return PersonaRecord(name=name, instructions=instructions, history_template=history_template,
                             created_by=created_by)
