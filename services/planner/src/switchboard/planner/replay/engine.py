"""`Replayer`: one replay, or many at once with a bound, each audited first and reported in full."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import deque
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import redis.asyncio as aioredis

from switchboard.core import keys
from switchboard.core.audit import AuditLog
from switchboard.core.config import ConfigStore
from switchboard.core.errors import UnknownCallsystem
from switchboard.core.personas import PersonaStore
from switchboard.core.plugins import Callsystem, CallsystemRegistry
from switchboard.core.wire import UNRESOLVED, ActivationRecord, AuditEntry, ErrorInfo, Outcome, StepResult
from switchboard.planner.context import ContextServices
from switchboard.planner.replay.live import replay_activation, run_live
from switchboard.planner.replay.recorded import RecordedRun, RecordedSteps, ending_of, run_recorded
from switchboard.planner.replay.records import RecordStore
from switchboard.planner.replay.report import ReplayMode, ReplayReport, ReplyView

OFF = "off"
QUEUED = "queued"
ALREADY_POSTED = "skipped: the original's reply was posted already (force to post again)"
UNFINISHED = "skipped: the replay did not finish"

READ_AHEAD = 200  # recorded replays planned together (records, journals, audit entries) in a batch

Progress = Callable[[int, int, ReplayReport], None]  # (done, total, the report just finished)


@dataclass(frozen=True)
class ReplayDeps:
    client: aioredis.Redis
    registry: CallsystemRegistry
    services: ContextServices  # a recorded replay swaps its journal and dispatcher; delivery uses its writer
    config: ConfigStore
    personas: PersonaStore
    live_timeout_s: float = 300.0  # how long a live replay waits for a planner to finish it
    default_callsystem: str = "cs.switchboard.legacy@latest"  # what a channel with none configured runs


@dataclass(frozen=True)
class Options:
    """What an operator asked of every replay in a call."""

    operator: str
    mode: ReplayMode = "recorded"
    callsystem: str | None = None  # the version to run; None: each original's
    deliver: bool = False
    force: bool = False

    def __post_init__(self) -> None:
        if self.mode not in ("recorded", "live"):
            raise ValueError(f"replay mode {self.mode!r} is neither 'recorded' nor 'live'")


@dataclass(frozen=True)
class Planned:
    """One replay, read and audited, not yet run."""

    activation_id: str
    record: ActivationRecord | None  # None: there is no record (never finished, or expired)
    selector: str | None  # the callsystem it runs
    replay_id: str
    seen: Mapping[str, StepResult] = field(default_factory=dict)  # recorded: what the original saw (its journal)

    def audit_entry(self, options: Options) -> AuditEntry:
        return AuditEntry(action="replay", operator=options.operator, target=self.activation_id, mode=options.mode,
                          callsystem=self.selector, deliver=options.deliver, force=options.force,
                          result_id=self.replay_id)


class Replayer:
    def __init__(self, deps: ReplayDeps) -> None:
        self._deps = deps
        self.records = RecordStore(deps.client)
        self.audit = AuditLog(deps.client)

    async def replay(self, activation_id: str, *, operator: str, mode: ReplayMode = "recorded",
                     callsystem: str | None = None, deliver: bool = False, force: bool = False) -> ReplayReport:
        """Replay one activation; every problem ends in the report (`error`), never in an exception.

        Raises ValueError for a mode that is neither `recorded` nor `live` (before anything is audited)."""
        options = Options(operator, mode, callsystem, deliver, force)
        [planned] = await self._plan([activation_id], options)
        return await self._run(planned, options)

    async def replay_many(self, activation_ids: Sequence[str], *, operator: str, concurrency: int = 4,
                          progress: Progress | None = None, known: Mapping[str, ActivationRecord] | None = None,
                          **options: Any) -> list[ReplayReport]:
        """Replay each, at most `concurrency` at once; reports in the order of `activation_ids`.

        `known`: records the caller has just read (a selection's), by id; they are not read again.
        Recorded replays are planned `READ_AHEAD` at a time: their records, what their originals saw and
        their audit entries take one round trip each for all of them, not one each per replay. One takes
        milliseconds, so its entry still precedes it by well under a second. A live replay can take
        minutes, so each is planned (and audited) only as it starts."""
        asked = Options(operator, **options)
        ahead = READ_AHEAD if asked.mode == "recorded" else 1
        pending = iter(enumerate(activation_ids))
        planned: deque[tuple[int, Planned]] = deque()
        planning = asyncio.Lock()
        reports: list[ReplayReport | None] = [None] * len(activation_ids)
        done = 0

        async def next_planned() -> tuple[int, Planned] | None:
            async with planning:
                if not planned and (chunk := list(islice(pending, ahead))):
                    planned.extend(zip((n for n, _ in chunk),
                                       await self._plan([activation_id for _, activation_id in chunk], asked,
                                                        known),
                                       strict=True))
                return planned.popleft() if planned else None

        async def work() -> None:
            nonlocal done
            while (item := await next_planned()) is not None:
                n, replay = item
                reports[n] = report = await self._run(replay, asked)
                done += 1
                if progress is not None:
                    progress(done, len(activation_ids), report)

        await _all_or_none(*(work() for _ in range(max(1, min(concurrency, len(activation_ids))))))
        return [report for report in reports if report is not None]

    async def _plan(self, activation_ids: Sequence[str], options: Options,
                    known: Mapping[str, ActivationRecord] | None = None) -> list[Planned]:
        """Read the records not `known` (and, recorded, what each original saw) and audit every replay, before
        any of them runs."""
        known = known or {}
        records = {activation_id: known[activation_id] for activation_id in activation_ids if activation_id in known}
        records |= await self.records.get_by_id([i for i in activation_ids if i not in records])  # none: no read
        recorded = options.mode == "recorded"
        seen = await RecordedSteps.read_many(self._deps.client, records.values()) if recorded else {}
        planned = []
        for activation_id in activation_ids:
            record = records.get(activation_id)
            selector = options.callsystem or (await self._selector_of(record) if record else None)
            planned.append(Planned(activation_id, record, selector, replay_id_for(activation_id, options),
                                   seen.get(activation_id, {})))
        await self.audit.append_many([p.audit_entry(options) for p in planned])
        return planned

    async def _run(self, planned: Planned, options: Options) -> ReplayReport:
        head: dict[str, Any] = {"activation_id": planned.activation_id, "mode": options.mode,
                                "operator": options.operator, "started_at": time.time()}
        record, selector = planned.record, planned.selector
        if record is None or selector is None:
            return finished(head, error=ErrorInfo(
                code="no_record",
                message=f"there is no record of activation {planned.activation_id} (or it has expired)"))
        head |= {"replay_id": planned.replay_id, "original_callsystem": original_key(record),
                 "original": ReplyView.of_record(record),
                 "delivery": await self._delivery(record, options.deliver, options.force)}
        if options.mode == "recorded":
            return await self._recorded(record, selector, planned.seen, options.operator, head)
        return await self._live(record, selector, head)

    async def _selector_of(self, record: ActivationRecord) -> str:
        """The original's callsystem; one that failed before choosing any (dead-lettered) runs what its channel
        runs now."""
        if record.callsystem != UNRESOLVED:
            return original_key(record)
        where = record.activation
        config = await self._deps.config.resolve(where.guild_id, where.channel_id, where.thread_parent_id)
        return config.callsystem or self._deps.default_callsystem

    async def _delivery(self, record: ActivationRecord, deliver: bool, force: bool) -> str:
        """Whether the replay's reply goes out: only if asked, and once the original's answer was posted only if
        forced. An original that failed was posted as an error notice, not an answer: replaying it after the
        fault (an outage, a bad version) is how its user gets one, so that needs no force."""
        if not deliver:
            return OFF
        answered = record.outcome in (Outcome.REPLIED, Outcome.SILENT)
        if not force and answered and await self._deps.client.exists(keys.posted(record.activation.id)):
            return ALREADY_POSTED
        return QUEUED

    async def _recorded(self, record: ActivationRecord, selector: str, seen: Mapping[str, StepResult], operator: str,
                        head: dict[str, Any]) -> ReplayReport:
        try:
            callsystem = self._deps.registry.resolve(selector)
        except UnknownCallsystem as exc:
            return finished(head, callsystem=selector, error=ErrorInfo.of(exc))
        same_version = callsystem.key() == original_key(record)  # it also ends where the original ended outside steps
        steps = RecordedSteps.of(record, seen, ending_of(record) if same_version else None)
        if steps.lost:
            return finished(head, callsystem=callsystem.key(), error=ErrorInfo(
                code="journal_missing", message=f"the journal of {record.activation.id} is gone (trimmed or deleted)"))
        run = await self._run_recorded(callsystem, record, steps)
        replayed = ReplyView.of_reply(run.reply) if run.reply is not None else None
        if head["delivery"] == QUEUED:
            head["delivery"] = await self._deliver(record, callsystem, run, head["replay_id"], operator)
        return finished(
            head, callsystem=callsystem.key(), replayed=replayed,
            matches=False if run.error else head["original"].same_as(replayed),
            steps_used=tuple(run.steps.used), not_recorded=tuple(run.steps.missing),
            unused=run.steps.unused(t.step for t in record.steps), original_stop=run.steps.original_stop,
            notes=run.notes, error=run.error)

    async def _run_recorded(self, callsystem: Callsystem, record: ActivationRecord,
                            steps: RecordedSteps) -> RecordedRun:
        """Under the original's conditions: its persona, and the tools its channel allowed then."""
        deps, activation = self._deps, record.activation
        config = await deps.config.resolve(activation.guild_id, activation.channel_id, activation.thread_parent_id)
        persona = await deps.personas.get(record.persona, activation.guild_id) or deps.personas.builtin
        group = tuple(await deps.personas.get_many(config.group, activation.guild_id)) if config.group else ()
        allowed = record.allowed_tools if record.allowed_tools is not None else config.allowed_tools
        return await run_recorded(callsystem, record, steps, deps.services, persona, frozenset(allowed), group,
                                  config.group_chatter)

    async def _deliver(self, record: ActivationRecord, callsystem: Callsystem, run: RecordedRun, replay_id: str,
                       operator: str) -> str:
        """Post a recorded replay's reply through the normal path: written once, with a record, for the gateway."""
        if run.reply is None:
            return UNFINISHED
        activation = replay_activation(record.activation, replay_id, callsystem.key(), deliver=True)
        reply = run.reply.model_copy(update={"activation_id": replay_id, "replay_of": record.activation.id,
                                             "deliver": True, "interaction": None, "created_at": time.time()})
        replayed = ActivationRecord(
            activation=activation, callsystem=callsystem.package_id, callsystem_version=callsystem.version,
            persona=record.persona, planner_id=f"replay:{operator}", outcome=reply.outcome, error=reply.error,
            started_at=activation.accepted_at, finished_at=time.time(), steps=run.timings, notes=run.notes,
            reply_text=reply.text, reply_images=tuple(image.sha256 for image in reply.images),
            allowed_tools=record.allowed_tools)
        await self._deps.services.replies.write(reply, replayed)
        return QUEUED

    async def _live(self, record: ActivationRecord, selector: str, head: dict[str, Any]) -> ReplayReport:
        activation = replay_activation(record.activation, head["replay_id"], selector,
                                       deliver=head["delivery"] == QUEUED)
        timeout = self._deps.live_timeout_s
        done = await run_live(self._deps.client, self._deps.services.queue, activation, timeout)
        if done is None:
            return finished(head, callsystem=selector, error=ErrorInfo(
                code="replay_timeout", message=f"no planner finished {activation.id} within {timeout:g} s "
                "(it stays queued)"))
        replayed = ReplyView.of_record(done)
        return finished(head, callsystem=original_key(done), replayed=replayed,
                        matches=head["original"].same_as(replayed), steps_used=tuple(t.step for t in done.steps),
                        notes=done.notes)


async def _all_or_none(*jobs: Coroutine[Any, Any, None]) -> None:
    """Run `jobs` together; the first to fail cancels the rest, and its exception is raised as it is (an
    `ExceptionGroup` would slip past callers that catch, say, `RedisError`)."""
    tasks = [asyncio.ensure_future(job) for job in jobs]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()


def replay_id_for(activation_id: str, options: Options) -> str:
    """A delivered replay's id is derived from the activation it answers, so a double click or a client retry
    is the same replay: queued once (the queue's once-only guard), written once, posted once; every request
    reports its result. Forced, or not delivered, each replay is a new one."""
    if options.deliver and not options.force:
        return f"replay-{activation_id}-delivered"
    return f"replay-{uuid.uuid4().hex[:16]}"


def original_key(record: ActivationRecord) -> str:
    return f"{record.callsystem}@{record.callsystem_version}"


def finished(head: dict[str, Any], **fields: Any) -> ReplayReport:
    """The report: what every replay knows from its start (`head`), what this one found, and how long it took."""
    return ReplayReport(**head, **fields, duration_s=time.time() - head["started_at"])
