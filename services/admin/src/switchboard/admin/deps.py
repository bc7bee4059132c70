"""What the admin routes share: Redis, the replayer, the stores; built once per process from the settings."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis
from fastapi import Request

from switchboard.admin.dead_letters import DeadLetters
from switchboard.admin.settings import AdminSettings
from switchboard.core.config import ConfigStore
from switchboard.core.guild_purge import GuildPurges
from switchboard.core.journal import Journal
from switchboard.core.personas import PersonaStore
from switchboard.core.plugins import CallsystemRegistry
from switchboard.core.redis_client import connect_async
from switchboard.core.usage import UsageLedger
from switchboard.planner.__main__ import build_registry
from switchboard.planner.replay import Replayer
from switchboard.planner.replay.build import build_replayer


@dataclass(frozen=True)
class AdminDeps:
    settings: AdminSettings
    client: aioredis.Redis  # decodes responses
    replayer: Replayer
    registry: CallsystemRegistry
    config: ConfigStore
    personas: PersonaStore
    journal: Journal
    dead_letters: DeadLetters
    usage: UsageLedger
    purges: GuildPurges

    @classmethod
    def build(cls, settings: AdminSettings) -> AdminDeps:
        client = connect_async(settings)
        registry = build_registry()
        replayer = build_replayer(settings, client, connect_async(settings, decode_responses=False), registry,
                                  live_timeout_s=settings.replay_live_timeout_s)
        return cls(settings=settings, client=client, replayer=replayer, registry=registry,
                   config=ConfigStore(client),
                   personas=PersonaStore(client, max_per_guild=settings.max_personas_per_guild),
                   journal=Journal(client, settings.record_retention_s),
                   dead_letters=DeadLetters(client),
                   usage=UsageLedger(client, settings.default_guild_quota, settings.usage_retention_days),
                   purges=GuildPurges(client, settings.guild_purge_grace_s))

    async def close(self) -> None:
        await self.client.aclose()


def of(request: Request) -> AdminDeps:
    """The dependencies of the app serving `request` (`app.build_app` puts them there)."""
    return request.app.state.deps
