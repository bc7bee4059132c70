"""Personas: named instruction sets a channel answers with. One is built in; admins create more.

Instructions may use `{time}`, which the callsystem fills in (from the journaled clock tool).
"""

from __future__ import annotations

import re
from typing import Literal

import redis.asyncio as aioredis
from pydantic import Field

from switchboard.core import keys
from switchboard.core.errors import ConfigError
from switchboard.core.plugins import Persona
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
    created_by: str | None = None


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
        record = PersonaRecord.from_json(raw)
        return Persona(record.name, record.instructions)

    async def names(self) -> list[str]:
        return sorted({self.builtin.name, *await self._redis.hkeys(keys.PERSONAS)})

    async def create(self, name: str, instructions: str, created_by: str | None = None) -> Persona:
        """Create or replace a persona; raises `ConfigError` for a bad name or the built-in's name."""
        if not _NAME.match(name):
            raise ConfigError("a persona name is 1-32 lowercase letters, digits, '-' or '_'")
        if name == self.builtin.name:
            raise ConfigError(f"{name} is built in and cannot be replaced")
        record = PersonaRecord(name=name, instructions=instructions, created_by=created_by)
        await self._redis.hset(keys.PERSONAS, name, record.to_json())
        return Persona(name, instructions)
