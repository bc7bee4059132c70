"""The planner loop: read activations, run each through its callsystem, write one reply and record.

An entry is acknowledged only after its reply and record are written; until then it stays pending and
another planner takes it over if this one dies (`XAUTOCLAIM`), resuming from the journal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager, asynccontextmanager
from dataclasses import dataclass

import redis.asyncio as aioredis
from opentelemetry.trace import Link, Span, SpanKind

from switchboard.core import keys
from switchboard.core.config import ConfigStore
from switchboard.core.errors import DeadLettered, InvalidPayload
from switchboard.core.guild_purge import GuildPurges
from switchboard.core.keys import Stream
from switchboard.core.metrics import Metrics
from switchboard.core.personas import PersonaStore
from switchboard.core.plugins import CallsystemRegistry, Persona
from switchboard.core.redaction import Redactor
from switchboard.core.resilience import TRANSIENT, keep_running
from switchboard.core.retention import StreamJanitor
from switchboard.core.tracing import current_trace_id, extract_context, inject_context, span_context_of, tracer
from switchboard.core.usage import Usage, UsageLedger
from switchboard.core.wire import UNRESOLVED, Activation, ActivationRecord, ErrorInfo, Outcome, Reply
from switchboard.planner.activations import ActivationStream, Entry
from switchboard.planner.callsystems.imagine import IMAGINE
from switchboard.planner.context import ContextServices, StepContext
from switchboard.planner.outcomes import failure_reply, user_text
from switchboard.planner.settings import PlannerSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CallsystemRun:
    package_id: str
    version: str
    reply: Reply


@dataclass(frozen=True)
class PlannerDeps:
    stream: ActivationStream
    registry: CallsystemRegistry
    config: ConfigStore
    personas: PersonaStore
    services: ContextServices  # also the reply writer and channel turns the loop uses
    metrics: Metrics
    janitor: StreamJanitor | None = None  # trims the streams by age
    purges: GuildPurges | None = None  # purges the guilds the bot left, once their grace is over
    usage: UsageLedger | None = None  # counts what each guild's activations cost, for its quota
    redactor: Redactor | None = None  # finishes the redactions of messages deleted while being answered


class Planner:
    def __init__(self, settings: PlannerSettings, deps: PlannerDeps) -> None:
        self._settings = settings
        self._deps = deps
        self._inflight: dict[str, asyncio.Task[None]] = {}
        self._waiting: set[str] = set()  # in flight, but waiting for their channel's turn
        self._capacity_changed = asyncio.Event()

    async def announce_callsystems(self, client: aioredis.Redis) -> None:
        """Tell the gateway (`/callsystem list|set`) which callsystems this planner can run."""
        if names := self._deps.registry.keys():
            await client.sadd(keys.CALLSYSTEMS, *names)

    async def run(self, stop: asyncio.Event) -> None:
        """Process activations until `stop` is set, then finish what is in flight."""
        await self._deps.stream.ensure_group()
        async with self.step_results():
            maintenance = asyncio.create_task(self._maintain(stop))
            try:
                while not stop.is_set():
                    self._capacity_changed.clear()
                    if (free := self._free()) <= 0:
                        await self._capacity_changed.wait()
                        continue
                    for entry in await self._read(free):
                        self._start(entry)
                if self._inflight:
                    await asyncio.wait(self._inflight.values())
            finally:
                maintenance.cancel()
                await asyncio.gather(maintenance, return_exceptions=True)

    def _free(self) -> int:
        """How many more entries to take: running ones and waiting ones are bounded separately."""
        running = len(self._inflight) - len(self._waiting)
        over_waiting = max(0, len(self._waiting) - self._settings.max_waiting_activations)
        return self._settings.max_concurrent_activations - running - over_waiting

    async def _read(self, count: int) -> list[Entry]:
        try:
            return await self._deps.stream.read(count, self._settings.read_block_ms)
        except TRANSIENT as exc:  # Redis restarting: wait, then read again (the entries stay queued)
            log.warning("reading activations failed (%s); retrying", exc)
            await asyncio.sleep(1)
            return []

    @asynccontextmanager
    async def step_results(self) -> AsyncIterator[None]:
        """Receive step results while inside; `process` needs it (`run` holds it for its whole life)."""
        waiter = self._deps.services.waiter
        await waiter.start()
        listener = asyncio.create_task(keep_running(waiter.listen, "step wake-ups"))
        try:
            yield
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
            await waiter.close()

    async def _maintain(self, stop: asyncio.Event) -> None:
        """Take over stuck entries and keep our own in-flight entries from looking stuck."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._settings.claim_interval_s)
            if stop.is_set():
                return
            try:
                await self._deps.stream.heartbeat(list(self._inflight))
                if self._deps.janitor is not None and (trimmed := await self._deps.janitor.tick()):
                    log.info("trimmed streams past the retention: %s", trimmed)
                await self._tenant_upkeep()
                for entry in await self._deps.stream.claim_idle(max(self._free(), 1)):
                    if entry.deliveries > self._settings.activation_max_deliveries:
                        await self._give_up(entry)
                    else:
                        self._start(entry)
            except Exception:  # Redis away: try again next round, the entries stay pending
                log.exception("claiming stuck activations failed")

    async def _tenant_upkeep(self) -> None:
        """Purge the guilds whose grace is over; redact the records of messages deleted while being answered.
        A failure here is logged and tried again next round: it never holds up claiming stuck activations."""
        try:
            for purged in await self._deps.purges.run_due() if self._deps.purges is not None else ():
                log.info("purged guild %s the bot left: %d keys, %d activations", purged.guild_id,
                         purged.keys_deleted, purged.activations)
            if self._deps.redactor is not None and (done := await self._deps.redactor.finish_pending()).records:
                log.info("redacted %d record(s) of messages deleted while they were answered", done.records)
        except Exception:
            log.exception("guild purges or pending redactions failed")

    def _start(self, entry: Entry) -> None:
        if entry.id in self._inflight:
            return
        task = asyncio.create_task(self.handle(entry))
        self._inflight[entry.id] = task
        task.add_done_callback(lambda _: self._finished(entry.id))

    def _finished(self, entry_id: str) -> None:
        self._inflight.pop(entry_id, None)
        self._waiting.discard(entry_id)
        self._capacity_changed.set()

    async def handle(self, entry: Entry) -> None:
        """Process one stream entry; a bad entry is dead-lettered, a Redis failure leaves it pending."""
        try:
            activation = Activation.from_json(entry.raw or "")
        except InvalidPayload as exc:
            log.warning("dead-lettering entry %s: %s", entry.id, exc)
            await self._deps.stream.dead_letter(entry, f"{exc.code}: {exc.detail[:500]}")
            return
        try:
            await self._wait_turn(entry.id, activation)
            reply, record = await self.process(activation)
            await self._deps.services.replies.write(reply, record)
            await self._deps.stream.ack(entry.id)
        except Exception:
            log.exception("activation %s left pending for retry", activation.id)

    async def _give_up(self, entry: Entry) -> None:
        """An entry no planner finished in `activation_max_deliveries` deliveries (each ended with its planner
        dying, or stuck): the user gets one typed error reply, the record says `dead_lettered`, and the entry
        moves to the dead-letter stream, where an operator can replay it once the fault is fixed."""
        reason = (f"delivered {entry.deliveries} times without finishing "
                  f"(limit {self._settings.activation_max_deliveries})")
        try:
            activation = Activation.from_json(entry.raw or "")
        except InvalidPayload as exc:
            await self._deps.stream.dead_letter(entry, f"{reason}; {exc.code}")
            return
        log.error("dead-lettering activation %s: %s", activation.id, reason)
        error = DeadLettered(reason)
        reply = Reply(activation_id=activation.id, guild_id=activation.guild_id, channel_id=activation.channel_id,
                      reply_to_message_id=activation.message_id, outcome=Outcome.DEAD_LETTERED,
                      text=user_text(Outcome.DEAD_LETTERED, error), error=ErrorInfo.of(error),
                      interaction=activation.interaction, deliver=activation.deliver, replay_of=activation.replay_of)
        now = time.time()
        record = ActivationRecord(
            activation=activation, callsystem=UNRESOLVED, callsystem_version=UNRESOLVED, persona=UNRESOLVED,
            planner_id=self._settings.planner_id, outcome=Outcome.DEAD_LETTERED,
            error=reply.error, trace_id=current_trace_id(), started_at=now, finished_at=now, notes=(reason,),
            reply_text=reply.text)
        # Reply first (written once, whoever tries), then dead letter and acknowledgement in one transaction:
        # a planner dying between the two leaves the entry pending, and the next one finishes the job.
        await self._deps.services.replies.write(reply, record)
        await self._deps.stream.dead_letter(entry, reason, activation.id)
        self._deps.metrics.activations.labels(trigger=activation.trigger.value, outcome=Outcome.DEAD_LETTERED).inc()

    async def _wait_turn(self, entry_id: str, activation: Activation) -> None:
        self._waiting.add(entry_id)
        self._capacity_changed.set()  # a waiting entry frees a running slot
        try:
            await self._deps.services.turns.wait(activation)
        finally:
            self._waiting.discard(entry_id)

    async def process(self, activation: Activation) -> tuple[Reply, ActivationRecord]:
        """Run the activation's callsystem; every failure becomes a typed reply, never an exception."""
        started = time.time()
        self._deps.metrics.hop_duration.labels(hop="queue_wait").observe(max(0.0, started - activation.accepted_at))
        with self._consumer_span(activation) as span:
            # Read per activation: a /callsystem or /persona change applies to the next message.
            config = await self._deps.config.resolve(
                activation.guild_id, activation.channel_id, activation.thread_parent_id)
            persona = await self._persona(config.persona, activation.guild_id)
            group = tuple(await self._deps.personas.get_many(config.group, activation.guild_id)) if config.group else ()
            ctx = StepContext(activation, persona, self._deps.services, frozenset(config.allowed_tools), group,
                              config.group_chatter)
            run = await self._activate(ctx, self._callsystem_for(activation, config.callsystem))
            span.set_attributes({"switchboard.outcome": run.reply.outcome.value,
                                 "switchboard.callsystem": f"{run.package_id}@{run.version}"})
            record = ActivationRecord(
                activation=activation, callsystem=run.package_id, callsystem_version=run.version,
                persona=persona.name, planner_id=self._settings.planner_id, outcome=run.reply.outcome,
                error=run.reply.error, trace_id=current_trace_id(), started_at=started, finished_at=time.time(),
                steps=tuple(ctx.timings), notes=tuple(ctx.notes), reply_text=run.reply.text,
                reply_images=tuple(image.sha256 for image in run.reply.images),
                allowed_tools=tuple(sorted(config.allowed_tools)))
            reply = self._stamp_trace(run.reply)
        await self._count_usage(activation, ctx.usage)
        self._deps.metrics.activations.labels(trigger=activation.trigger.value, outcome=reply.outcome.value).inc()
        self._deps.metrics.hop_duration.labels(hop="plan").observe(record.finished_at - started)
        return reply, record

    async def _count_usage(self, activation: Activation, usage: Usage) -> None:
        """Count what the activation's steps cost towards its guild's quota; a failure loses the count, never
        the answer (usage is a bound, not a bill)."""
        if self._deps.usage is None:
            return
        try:
            await self._deps.usage.add(activation.guild_id, activation.author_id, usage)
        except Exception as exc:
            log.warning("usage of %s not counted: %s", activation.id, exc)

    def _callsystem_for(self, activation: Activation, configured: str | None) -> str:
        if activation.callsystem is not None:  # an operator's replay names the version to run
            return activation.callsystem
        if activation.interaction is not None and activation.interaction.command == "imagine":
            return IMAGINE
        return configured or self._settings.default_callsystem

    async def _persona(self, name: str | None, guild_id: str | None) -> Persona:
        persona = await self._deps.personas.get(name, guild_id)
        if persona is None:  # deleted since it was configured: answer rather than fail
            log.warning("persona %r not found; using %s", name, self._deps.personas.builtin.name)
            return self._deps.personas.builtin
        return persona

    async def _activate(self, ctx: StepContext, selector: str) -> CallsystemRun:
        package_id, _, version = selector.partition("@")
        try:
            await self._deps.services.supersession.check(ctx.activation.id)
            callsystem = self._deps.registry.resolve(selector)
            package_id, version = callsystem.package_id, callsystem.version
            ctx.allowed_tools &= callsystem.tools  # a tool runs only if the callsystem and the guild allow it
            ctx.max_tool_calls_per_round = callsystem.max_tool_calls_per_round
            return CallsystemRun(package_id, version, await callsystem.activate(ctx))
        except Exception as exc:
            log.warning("activation %s failed: %s", ctx.activation.id, exc, exc_info=not hasattr(exc, "code"))
            return CallsystemRun(package_id, version or UNRESOLVED, failure_reply(ctx, exc))

    def _consumer_span(self, activation: Activation) -> AbstractContextManager[Span]:
        producer = span_context_of(activation.trace_context)
        return tracer().start_as_current_span(
            f"process {Stream.ACTIVATIONS.value}", context=extract_context(activation.trace_context),
            kind=SpanKind.CONSUMER, links=[Link(producer)] if producer.is_valid else [],
            attributes={"messaging.system": "redis", "messaging.destination.name": Stream.ACTIVATIONS.value,
                        "switchboard.activation_id": activation.id, "switchboard.trigger": activation.trigger})

    def _stamp_trace(self, reply: Reply) -> Reply:
        with tracer().start_as_current_span(f"send {Stream.REPLIES.value}", kind=SpanKind.PRODUCER, attributes={
            "messaging.system": "redis", "messaging.destination.name": Stream.REPLIES.value}):
            return reply.model_copy(update={"trace_context": inject_context()})
