"""The gateway's discord.py client: decides, records history, enqueues, and runs the reply side.

Dependencies are built in `__main__` and passed in; `setup_hook` starts the reply poster and the live
stream listener once the client has its event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
import discord
from discord import app_commands
from opentelemetry.trace import SpanKind

from switchboard.core.activation_queue import ActivationQueue
from switchboard.core.config import ChannelConfig, DoubleTexting
from switchboard.core.keys import Stream
from switchboard.core.metrics import Metrics
from switchboard.core.resilience import TRANSIENT, keep_running
from switchboard.core.tracing import inject_context, tracer
from switchboard.core.usage import DAY_S, UsageLedger, today
from switchboard.core.wire import Activation, AttachmentRef, HistoryMessage, Trigger
from switchboard.gateway.attachments import AttachmentIntake, skipped_notice
from switchboard.gateway.busy import ChannelWork
from switchboard.gateway.commands import CommandServices, install_commands
from switchboard.gateway.discord_api import DiscordApi, nonce_for
from switchboard.gateway.discord_changes import DiscordChanges
from switchboard.gateway.intake import MessageIntake
from switchboard.gateway.live import LiveReplies
from switchboard.gateway.ordering import ChannelOrder
from switchboard.gateway.policy import AMBIENT, MessageFacts, decide, facts_of, parent_of
from switchboard.gateway.replies import ReplyPoster
from switchboard.gateway.sharding import IdentifyGate
from switchboard.gateway.sleep import ChannelSleep
from switchboard.gateway.throttle import ActivationLimiter, quota_notice, throttle_notice
from switchboard.gateway.work_commands import WorkServices, install_work_commands

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GatewayDeps:
    queue: ActivationQueue
    intake: MessageIntake
    work: ChannelWork
    attachments: AttachmentIntake
    limiter: ActivationLimiter
    live: LiveReplies
    poster: ReplyPoster
    commands: CommandServices
    work_commands: WorkServices
    metrics: Metrics
    sleep: ChannelSleep
    changes: DiscordChanges
    usage: UsageLedger
    queue_notice_over: int = 20  # show the queue position when more activations than this wait
    typing_grace_s: float = 0.0  # answers faster than this get no typing indicator
    outage_retry_s: float = 120.0  # how long a message waits out a Redis outage before it is given up


def intents() -> discord.Intents:
    chosen = discord.Intents.default()
    chosen.message_content = True  # privileged: enable "Message Content Intent" for the bot on Discord
    return chosen


class GatewayBot(discord.AutoShardedClient):
    def __init__(self, build_deps: Callable[[DiscordApi], GatewayDeps], identify: IdentifyGate,
                 command_guild_id: str | None = None, http_trace: aiohttp.TraceConfig | None = None,
                 **options: Any) -> None:
        """`build_deps` gets this client's REST helper, which the reply side needs, and returns the deps.

        Commands sync to `command_guild_id` when given (instant, for development), else globally.
        `shard_count`/`shard_ids` in `options` pick the shards this process runs (None: Discord's
        recommendation, all of them).
        """
        super().__init__(intents=intents(), allowed_mentions=discord.AllowedMentions.none(), http_trace=http_trace,
                         **options)
        self.api = DiscordApi(self)
        self.deps = build_deps(self.api)
        self.tree = app_commands.CommandTree(self)
        install_commands(self.tree, self.deps.commands)
        install_work_commands(self.tree, self.deps.work_commands)
        self._command_guild = discord.Object(int(command_guild_id)) if command_guild_id else None
        self._order: ChannelOrder[discord.Message] = ChannelOrder(self._handle)
        self._courtesies: set[asyncio.Task[None]] = set()  # referenced until done, as asyncio asks
        self._identify = identify
        self._tasks: list[asyncio.Task[None]] = []

    async def setup_hook(self) -> None:
        _, _, session_start = await self.http.get_bot_gateway()
        self._identify.max_concurrency = session_start.get("max_concurrency", 1)
        if self._command_guild is not None:
            self.tree.copy_global_to(guild=self._command_guild)
        await self.tree.sync(guild=self._command_guild)
        self._tasks = [asyncio.create_task(keep_running(self.deps.poster.run, "reply posting")),
                       asyncio.create_task(keep_running(self.deps.live.listen, "live updates"))]
        for task in self._tasks:
            task.add_done_callback(_report_crash)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        await self._identify.wait_turn(shard_id or 0)

    async def on_ready(self) -> None:
        assert self.user is not None
        self.deps.poster.set_identity(str(self.user.id), self.user.display_name)
        log.info("connected as %s (%s) in %d guild(s)", self.user, self.user.id, len(self.guilds))

    async def close(self) -> None:
        await self._order.close()
        for task in [*self._tasks, *self._courtesies]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._courtesies, return_exceptions=True)
        await self.deps.live.close()
        await super().close()

    async def on_message(self, message: discord.Message) -> None:
        self._order.submit(str(message.channel.id), message)

    # Discord's deletes, edits and guild membership reach the data we keep (the raw events: cached or not).
    async def on_raw_message_delete(self, event: discord.RawMessageDeleteEvent) -> None:
        await self.deps.changes.messages_deleted(str(event.channel_id), [str(event.message_id)])

    async def on_raw_bulk_message_delete(self, event: discord.RawBulkMessageDeleteEvent) -> None:
        await self.deps.changes.messages_deleted(str(event.channel_id), [str(i) for i in event.message_ids])

    async def on_raw_message_edit(self, event: discord.RawMessageUpdateEvent) -> None:
        if "content" in event.data:  # not an embed-only update
            await self.deps.changes.message_edited(str(event.channel_id), str(event.message_id),
                                                   event.message.clean_content)

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        channels = [*guild.channels, *guild.threads]
        await self.deps.changes.left_guild(str(guild.id), [str(channel.id) for channel in channels])

    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self.deps.changes.joined_guild(str(guild.id))

    async def _handle(self, message: discord.Message) -> None:
        """Decide one message, its channel's earlier ones decided already (`ChannelOrder`). Courtesies (queue
        position, typing) run on their own, so the channel's next message need not wait for them."""
        if await self._decide_through_outages(message):
            courtesy = asyncio.create_task(self._show_courtesies(message))
            self._courtesies.add(courtesy)
            courtesy.add_done_callback(self._courtesies.discard)

    async def _show_courtesies(self, message: discord.Message) -> None:
        await self._show_queue_position(message)
        await self._show_typing(str(message.channel.id), str(message.id))

    async def _decide_through_outages(self, message: discord.Message) -> bool:
        """`_decide`, tried again through a Redis outage (backoff up to 5 s) for `outage_retry_s`.

        Discord delivers a message once; dropping it because Redis restarted would lose it for good. Trying
        again is safe: enqueueing is once-only (`SET NX` on the activation id) and the history reads each
        message once. The channel's order is held meanwhile, so its later messages queue behind this one.
        """
        deadline = time.monotonic() + self.deps.outage_retry_s
        backoff = 0.1
        while True:
            try:
                return await self._decide(message)
            except TRANSIENT as exc:
                if time.monotonic() + backoff > deadline:
                    log.error("message %s given up after %.0f s of Redis outage: %s", message.id,
                              self.deps.outage_retry_s, exc)
                    self.deps.metrics.gateway_messages.labels(decision="lost_to_outage").inc()
                    return False
                log.warning("deciding message %s waits for Redis (%s); again in %.1f s", message.id, exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def _decide(self, message: discord.Message) -> bool:
        """Record the message and enqueue an activation if the rules say so; True when enqueued."""
        assert self.user is not None
        started = time.perf_counter()
        facts = facts_of(message, self.user.id)
        entry = _history_entry(message, self.user.id) if message.author.id != self.user.id else None
        config = await self.deps.intake.record(
            entry, str(message.guild.id) if message.guild else None, facts.channel_id, facts.parent_id)
        trigger = await self._mind_sleep(facts, decide(facts, self.user.id, config), config)
        decision = await self._gate(message, config) if trigger else "ignored"
        if decision is None:
            files, skipped = await self.deps.attachments.take(message)
            if skipped:
                await self._notice_once(message, ("files", str(message.id)), skipped_notice(skipped))
            decision = "activated" if await self._enqueue(message, trigger, files) else "duplicate"
        self.deps.metrics.gateway_messages.labels(decision=decision).inc()
        if decision == "activated":
            self.deps.metrics.hop_duration.labels(hop="enqueue").observe(time.perf_counter() - started)
        return decision == "activated"

    async def _mind_sleep(self, facts: MessageFacts, trigger: Trigger | None, config: ChannelConfig) -> Trigger | None:
        """A mention wakes a sleeping channel; whether it sleeps is read only when it could matter."""
        assert self.user is not None
        if trigger == Trigger.MENTION:
            await self.deps.sleep.wake(facts.channel_id)
        elif trigger in AMBIENT and await self.deps.sleep.asleep(facts.channel_id):
            return decide(replace(facts, channel_asleep=True), self.user.id, config)
        return trigger

    async def _gate(self, message: discord.Message, config: ChannelConfig) -> str | None:
        """Why an activating message is not enqueued (duplicate, throttled, busy), or None to go on."""
        if await self.deps.queue.accepted(str(message.id)):  # a replayed event: decided already
            return "duplicate"
        if not await self._within_quota(message):
            return "over_quota"
        if not await self._admit(message, config):
            return "throttled"
        if not await self._double_text(message, config):
            return "rejected_busy"
        return None

    async def _admit(self, message: discord.Message, config: ChannelConfig) -> bool:
        """Take a token for the author and the guild; tell a throttled author once per throttle period."""
        admission = await self.deps.limiter.admit(
            str(message.author.id), str(message.guild.id) if message.guild else None,
            config.user_rate, config.guild_rate)
        if not admission.allowed and admission.notify:
            try:
                await self.api.send_reply(str(message.channel.id), str(message.id),
                                          throttle_notice(admission), nonce_for(f"t{message.id}"))
            except discord.HTTPException as exc:
                log.warning("throttle notice failed: %s", exc)
        return admission.allowed

    async def _within_quota(self, message: discord.Message) -> bool:
        """False when the guild or the author used up a daily quota; they are told once a day (nothing queued)."""
        guild, author = str(message.guild.id) if message.guild else None, str(message.author.id)
        limit = await self.deps.usage.exceeded(guild, author)
        if limit is not None:
            await self._notice_once(message, ("quota", f"{guild}:{author}:{today()}"), quota_notice(limit),
                                    ttl_s=DAY_S)
        return limit is None

    async def _double_text(self, message: discord.Message, config: ChannelConfig) -> bool:
        """Apply the channel's double-texting policy; False when the message must not be queued."""
        if config.double_texting == DoubleTexting.ENQUEUE:
            return True  # the common case reads nothing
        busy = await self.deps.work.in_flight(str(message.channel.id))
        if not busy:
            return True
        if config.double_texting == DoubleTexting.REJECT:
            await self._notice_once(message, ("busy", busy[-1]),
                                    "✋ I'm still answering here; send that again once I've replied.")
            return False
        await self.deps.work.supersede(busy, by=str(message.id), policy=config.double_texting)
        return True

    async def _show_queue_position(self, message: discord.Message) -> None:
        waiting = await self.deps.queue.backlog()
        if waiting > self.deps.queue_notice_over:
            await self._notice_once(message, ("queue", str(message.id)),
                                    f"🕒 I'm busy right now: your message is #{waiting} in line.")

    async def _notice_once(self, message: discord.Message, scope: tuple[str, str], text: str,
                           ttl_s: int = 3600) -> None:
        """Reply with a notice unless this scope already got one (shared by every replica)."""
        if not await self.deps.queue.first_notice(*scope, ttl_s=ttl_s):
            return
        try:
            nonce = nonce_for(f"{scope[0][0]}{message.id}")  # one nonce per kind of notice
            await self.api.send_reply(str(message.channel.id), str(message.id), text, nonce)
        except discord.HTTPException as exc:
            log.warning("notice failed: %s", exc)

    async def _enqueue(self, message: discord.Message, trigger: Trigger, files: list[AttachmentRef]) -> bool:
        with tracer().start_as_current_span("on_message", attributes={
            "switchboard.trigger": trigger.value, "discord.channel_id": str(message.channel.id),
            "switchboard.activation_id": str(message.id)}):
            with tracer().start_as_current_span(f"send {Stream.ACTIVATIONS.value}", kind=SpanKind.PRODUCER,
                                                attributes={"messaging.system": "redis",
                                                            "messaging.destination.name": Stream.ACTIVATIONS.value}):
                activation = _activation(message, trigger, inject_context(), files, self.user.id)
                if not await self.deps.queue.enqueue(activation):
                    return False
        self.deps.live.track(activation)
        return True

    async def _show_typing(self, channel_id: str, activation_id: str) -> None:
        """Show typing unless the answer is posted within the grace period (one REST call saved)."""
        await asyncio.sleep(self.deps.typing_grace_s)
        if not self.deps.live.pending(activation_id):
            return
        try:
            await self.api.typing(channel_id)
        except discord.HTTPException as exc:  # typing is a courtesy; never fail an activation on it
            log.debug("typing indicator failed: %s", exc)


def _activation(message: discord.Message, trigger: Trigger, trace_context: dict[str, str],
                files: list[AttachmentRef], bot_id: int) -> Activation:
    reference = message.reference.message_id if message.reference else None
    replied = message.reference.resolved if message.reference else None
    return Activation(
        id=str(message.id), trigger=trigger, guild_id=str(message.guild.id) if message.guild else None,
        channel_id=str(message.channel.id), thread_parent_id=parent_of(message.channel),
        message_id=str(message.id), author_id=str(message.author.id),
        author_name=message.author.display_name, content=message.clean_content,
        reply_to_message_id=str(reference) if reference else None, attachments=tuple(files),
        replied_to=_history_entry(replied, bot_id) if isinstance(replied, discord.Message) else None,
        trace_context=trace_context)


def _history_entry(message: discord.Message, bot_id: int) -> HistoryMessage:
    return HistoryMessage(
        message_id=str(message.id), author_id=str(message.author.id), author_name=message.author.display_name,
        content=message.clean_content, created_at=message.created_at.timestamp(),
        from_self=message.author.id == bot_id)


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("gateway background task died", exc_info=task.exception())
