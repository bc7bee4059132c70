"""A `Replayer` wired the way the planner service wires itself (same settings, stores and callsystems)."""

from __future__ import annotations

import redis.asyncio as aioredis

from switchboard.core.config import ConfigStore
from switchboard.core.metrics import Metrics
from switchboard.core.personas import PersonaStore
from switchboard.core.plugins import CallsystemRegistry
from switchboard.planner.__main__ import build_registry, build_services
from switchboard.planner.replay.engine import ReplayDeps, Replayer
from switchboard.planner.settings import PlannerSettings


def build_replayer(settings: PlannerSettings, client: aioredis.Redis, blob_client: aioredis.Redis,
                   registry: CallsystemRegistry | None = None, live_timeout_s: float = 300.0) -> Replayer:
    """`client` decodes responses; `blob_client` does not (blobs are bytes)."""
    services = build_services(settings, client, Metrics(), blob_client)
    return Replayer(ReplayDeps(client=client, registry=registry or build_registry(), services=services,
                               config=ConfigStore(client), personas=PersonaStore(client),
                               live_timeout_s=live_timeout_s, default_callsystem=settings.default_callsystem))
