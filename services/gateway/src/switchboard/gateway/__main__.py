"""`python -m switchboard.gateway`: connect to Discord (with `DISCORD_TOKEN`) or to the Discord emulator."""

from __future__ import annotations

import asyncio
import logging
import signal

import redis.asyncio as aioredis

from switchboard.core.activation_queue import ActivationQueue
from switchboard.core.audit import AuditLog
from switchboard.core.blobs import BlobStore
from switchboard.core.config import ChannelConfig, ConfigStore
from switchboard.core.errors import ConfigError
from switchboard.core.guild_purge import GuildPurges
from switchboard.core.history import ChannelHistory
from switchboard.core.logs import setup_logging
from switchboard.core.metrics import Metrics
from switchboard.core.personas import PersonaStore
from switchboard.core.redaction import Redactor
from switchboard.core.redis_client import connect_async
from switchboard.core.tracing import setup_tracing
from switchboard.core.usage import UsageLedger
from switchboard.gateway import health
from switchboard.gateway.attachments import AttachmentIntake
from switchboard.gateway.bot import GatewayBot, GatewayDeps
from switchboard.gateway.busy import ChannelWork
from switchboard.gateway.commands import CommandServices
from switchboard.gateway.discord_api import DiscordApi, point_at_emulator
from switchboard.gateway.discord_changes import DiscordChanges
from switchboard.gateway.intake import MessageIntake
from switchboard.gateway.live import LiveReplies
from switchboard.gateway.replies import ReplyPoster
from switchboard.gateway.rest_budget import RestBudget
from switchboard.gateway.settings import GatewaySettings
from switchboard.gateway.sharding import IdentifyGate
from switchboard.gateway.sleep import ChannelSleep
from switchboard.gateway.throttle import ActivationLimiter
from switchboard.gateway.work_commands import WorkServices

log = logging.getLogger("switchboard.gateway")


def token_for(settings: GatewaySettings) -> str:
    """The bot token to log in with; points discord.py at the emulator when no Discord token is set."""
    if settings.discord_token is not None:
        return settings.discord_token.get_secret_value()
    if settings.emulator_url is None:
        raise ConfigError("set DISCORD_TOKEN to connect to Discord, or SWITCHBOARD_EMULATOR_URL for the emulator")
    point_at_emulator(settings.emulator_url)
    log.info("no DISCORD_TOKEN: connecting to the Discord emulator at %s", settings.emulator_url)
    return settings.emulator_token.get_secret_value()


def build_bot(settings: GatewaySettings, client: aioredis.Redis, metrics: Metrics,
              blob_client: aioredis.Redis | None = None) -> GatewayBot:
    """The gateway client and its dependencies; blobs need a client that does not decode (bytes)."""
    history = ChannelHistory(client, settings.history_limit, settings.history_ttl_s)
    work = ChannelWork(client, settings.posted_retention_s)
    blob_client = blob_client or connect_async(settings, decode_responses=False)
    blobs = BlobStore(blob_client, settings.posted_retention_s)
    config = ConfigStore(client, ChannelConfig(user_rate=settings.user_rate, guild_rate=settings.guild_rate))
    personas = PersonaStore(client, max_per_guild=settings.max_personas_per_guild)
    usage = UsageLedger(client, settings.default_guild_quota, settings.usage_retention_days)

    def build_deps(api: DiscordApi) -> GatewayDeps:
        live = LiveReplies(client, api, settings.edit_interval_s, settings.posted_retention_s, settings.stream_grace_s)
        queue, limiter = ActivationQueue(client, settings.posted_retention_s), ActivationLimiter(client)
        return GatewayDeps(
            queue=queue, intake=MessageIntake(client, history, config), work=work,
            attachments=AttachmentIntake(blobs), limiter=limiter,
            live=live, poster=ReplyPoster(client, api, live, history, work, blobs, metrics, settings),
            commands=CommandServices(client, config, personas, history, usage),
            work_commands=WorkServices(client, queue, limiter, config, AuditLog(client), usage,
                                       settings.operator_role_ids),
            metrics=metrics,
            sleep=ChannelSleep(client),
            changes=DiscordChanges(Redactor(client, blob_client, history),
                                   GuildPurges(client, settings.guild_purge_grace_s)),
            usage=usage,
            queue_notice_over=settings.queue_notice_over, typing_grace_s=settings.stream_grace_s,
            outage_retry_s=settings.outage_retry_s)

    budget = RestBudget(client, metrics, settings.discord_rest_rate)
    return GatewayBot(build_deps, IdentifyGate(client), command_guild_id=settings.command_guild_id,
                      http_trace=budget.trace_config(), shard_count=settings.shard_count,
                      shard_ids=list(settings.shard_ids) if settings.shard_ids is not None else None)


async def serve(settings: GatewaySettings) -> None:
    token = token_for(settings)
    metrics = Metrics()
    client = connect_async(settings)
    blob_client = connect_async(settings, decode_responses=False)
    bot = build_bot(settings, client, metrics, blob_client)
    endpoints = await health.serve(health.build_app(bot, metrics), settings.metrics_host, settings.metrics_port)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: asyncio.create_task(bot.close()))
    try:
        await bot.start(token)
    finally:
        await endpoints.cleanup()
        await client.aclose()
        await blob_client.aclose()


def main() -> None:
    settings = GatewaySettings()
    setup_logging("gateway", settings.log_level)
    provider = setup_tracing("switchboard-gateway")
    try:
        asyncio.run(serve(settings))
    finally:
        if provider is not None:
            provider.shutdown()


if __name__ == "__main__":
    main()
