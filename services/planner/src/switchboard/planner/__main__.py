"""`python -m switchboard.planner`: build settings and dependencies, run the planner until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import signal

import redis.asyncio as aioredis

from switchboard.core import keys
from switchboard.core.activation_queue import ActivationQueue
from switchboard.core.blobs import BlobStore
from switchboard.core.celery_app import make_celery
from switchboard.core.config import ConfigStore
from switchboard.core.guild_purge import GuildPurges
from switchboard.core.history import ChannelHistory
from switchboard.core.journal import Journal
from switchboard.core.lanes import LaneBoard
from switchboard.core.logs import setup_logging
from switchboard.core.memory import MemoryLimits, MemoryStore
from switchboard.core.metrics import Metrics
from switchboard.core.personas import PersonaStore
from switchboard.core.plugins import CallsystemRegistry
from switchboard.core.redaction import Redactor
from switchboard.core.redis_client import connect_async
from switchboard.core.retention import StreamJanitor
from switchboard.core.tool_catalog import ToolCatalog
from switchboard.core.tracing import setup_tracing
from switchboard.core.usage import UsageLedger
from switchboard.core.workers import instrument_celery
from switchboard.planner.activations import ActivationStream
from switchboard.planner.context import ContextServices, Supersession
from switchboard.planner.dispatch import StepDispatcher
from switchboard.planner.planner import Planner, PlannerDeps
from switchboard.planner.replies import ReplyWriter
from switchboard.planner.settings import PlannerSettings
from switchboard.planner.turns import ChannelTurns
from switchboard.planner.waiter import StepWaiter

CALLSYSTEMS_PACKAGE = "switchboard.planner.callsystems"


def build_registry() -> CallsystemRegistry:
    registry = CallsystemRegistry()
    registry.load_package(CALLSYSTEMS_PACKAGE)
    registry.load_entry_points()
    return registry


def build_services(settings: PlannerSettings, client: aioredis.Redis, metrics: Metrics,
                   blob_client: aioredis.Redis | None = None) -> ContextServices:
    """What every StepContext shares (a planner's, or a replay's); blobs need a client that does not decode."""
    journal = Journal(client, settings.record_retention_s)
    return ContextServices(
        journal=journal,
        waiter=StepWaiter(client, journal, keys.wake(settings.planner_id), settings.wake_poll_s),
        dispatcher=StepDispatcher(make_celery(settings, "switchboard-planner")),
        history=ChannelHistory(client, settings.history_window, settings.history_ttl_s),
        metrics=metrics,
        step_timeout_s=settings.step_timeout_s,
        step_resend_after_s=settings.step_resend_after_s,
        supersession=Supersession(client),
        blobs=BlobStore(blob_client or connect_async(settings, decode_responses=False),
                        settings.record_retention_s),
        memory=MemoryStore(client, MemoryLimits(settings.memory_max_fields, settings.memory_ttl_s)),
        tools=ToolCatalog(client),
        replies=ReplyWriter(client, settings.record_retention_s),
        lanes=LaneBoard(client),
        queue=ActivationQueue(client, settings.record_retention_s),
        turns=ChannelTurns(client, settings.channel_turn_timeout_s),
    )


def build_planner(settings: PlannerSettings, client: aioredis.Redis, metrics: Metrics,
                  registry: CallsystemRegistry | None = None, blob_client: aioredis.Redis | None = None) -> Planner:
    """The planner and its dependencies; blobs need a client that does not decode (bytes)."""
    blob_client = blob_client or connect_async(settings, decode_responses=False)
    services = build_services(settings, client, metrics, blob_client)
    deps = PlannerDeps(
        stream=ActivationStream(client, settings.planner_id, settings.claim_idle_ms),
        registry=registry or build_registry(), config=ConfigStore(client), personas=PersonaStore(client),
        services=services, metrics=metrics,
        janitor=StreamJanitor(client, settings.record_retention_s, settings.retention_interval_s),
        purges=GuildPurges(client, settings.guild_purge_grace_s),
        usage=UsageLedger(client, retention_days=settings.usage_retention_days),
        redactor=Redactor(client, blob_client, services.history),
    )
    return Planner(settings, deps)


async def serve(settings: PlannerSettings) -> None:
    metrics = Metrics()
    metrics.serve(settings.metrics_host, settings.metrics_port)
    client = connect_async(settings)
    blob_client = connect_async(settings, decode_responses=False)
    planner = build_planner(settings, client, metrics, blob_client=blob_client)
    await planner.announce_callsystems(client)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await planner.run(stop)
    finally:
        await client.aclose()
        await blob_client.aclose()


def main() -> None:
    settings = PlannerSettings()
    setup_logging("planner", settings.log_level)
    provider = setup_tracing("switchboard-planner")
    instrument_celery()
    try:
        asyncio.run(serve(settings))
    finally:
        if provider is not None:
            provider.shutdown()


if __name__ == "__main__":
    main()
