"""Personas: named instruction sets a channel answers with. One is built in; admins create more.

Instructions may use `{name}` and `{time}` (the callsystem fills the time in from the journaled clock
tool); a persona's history template says how other speakers' messages read in its prompt.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

import redis.asyncio as aioredis
from pydantic import Field

from switchboard.core import keys
from switchboard.core.errors import ConfigError
from switchboard.core.plugins import DEFAULT_HISTORY_TEMPLATE, Persona
from switchboard.core.wire import WireModel

DEFAULT_PERSONA = Persona(
    name="switchboard",
    instructions=("You are Switchboard, a friendly assistant in a Discord server. "
                  "Answer the last message briefly and helpfully. The current time is {time}."),
)
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


class PersonaRecord(WireModel):
    kind: Literal["persona"] = "persona"
    name: str
    instructions: str = Field(min_length=1, max_length=4000)
    history_template: str = Field(default=DEFAULT_HISTORY_TEMPLATE, min_length=9, max_length=200,
                                  pattern=r"\{content\}")
    created_by: str | None = None

    def persona(self) -> Persona:
        return Persona(self.name, self.instructions, self.history_template)


class PersonaStore:
    def __init__(self, client: aioredis.Redis, builtin: Persona = DEFAULT_PERSONA) -> None:
        self._redis = client
        self.builtin = builtin

    async def get(self, name: str | None) -> Persona | None:
        """The named persona (the built-in one for None), or None when there is no such persona."""
        if name is None or name == self.builtin.name:
            return self.builtin
        raw = await self._redis.hget(keys.PERSONAS, name)
        if raw is None:
            return None
        return PersonaRecord.from_json(raw).persona()

    async def names(self) -> list[str]:
        return sorted({self.builtin.name, *await self._redis.hkeys(keys.PERSONAS)})

    async def get_many(self, names: Sequence[str]) -> list[Persona]:
        """The personas that exist among `names`, in that order (one round trip)."""
        stored = [name for name in names if name != self.builtin.name]
        raws = dict(zip(stored, await self._redis.hmget(keys.PERSONAS, stored), strict=True)) if stored else {}
        found = []
        for name in names:
            if name == self.builtin.name:
                found.append(self.builtin)
            elif raws.get(name) is not None:
                found.append(PersonaRecord.from_json(raws[name]).persona())
        return found

    async def create(self, name: str, instructions: str, created_by: str | None = None,
                     history_template: str = DEFAULT_HISTORY_TEMPLATE) -> Persona:
        """Create or replace a persona; raises `ConfigError` for a bad name, the built-in's name or a bad template."""
        if not _NAME.match(name):
            raise ConfigError("a persona name is 1-32 lowercase letters, digits, '-' or '_'")
        if name == self.builtin.name:
            raise ConfigError(f"{name} is built in and cannot be replaced")
        if "{content}" not in history_template:
            raise ConfigError("a history template must contain {content}")
        record = PersonaRecord(name=name, instructions=instructions, history_template=history_template,
                               created_by=created_by)
        await self._redis.hset(keys.PERSONAS, name, record.to_json())
        return record.persona()
