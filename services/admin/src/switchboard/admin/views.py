"""What the admin API returns about activations: a summary per record, and one activation in full.

The full view joins what different writers keep: the record (the planner's), the journal (every step's
result, the workers'), and the ids of the messages that carried the reply (the gateway's posted-once key).
Its timeline is the record's steps as a waterfall: offsets from the activation's acceptance, in seconds.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from switchboard.core.wire import ActivationRecord, ErrorInfo, Outcome, StepResult

EXCERPT = 200


class ActivationSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    guild_id: str | None
    channel_id: str
    author_name: str
    excerpt: str  # the message's first characters
    callsystem: str  # package_id@version
    persona: str
    outcome: Outcome
    error: str | None  # the error code, when it failed
    accepted_at: float
    finished_at: float
    duration_s: float  # accepted to finished
    steps: int
    trace_id: str | None
    replay_of: str | None

    @classmethod
    def of(cls, record: ActivationRecord) -> ActivationSummary:
        activation = record.activation
        return cls(
            id=activation.id, guild_id=activation.guild_id, channel_id=activation.channel_id,
            author_name=activation.author_name, excerpt=activation.content[:EXCERPT],
            callsystem=f"{record.callsystem}@{record.callsystem_version}", persona=record.persona,
            outcome=record.outcome, error=record.error.code if record.error else None,
            accepted_at=activation.accepted_at, finished_at=record.finished_at,
            duration_s=round(record.finished_at - activation.accepted_at, 6), steps=len(record.steps),
            trace_id=record.trace_id, replay_of=activation.replay_of)


class TimelineBar(BaseModel):
    """One hop of the waterfall; offsets in seconds from the activation's acceptance (None: not known)."""

    model_config = ConfigDict(frozen=True)

    name: str  # `planner`, or a step key such as `infer:0`
    kind: str  # queue | plan | history | tool | infer | vision | image | embed | ...
    queued: float | None
    started: float | None
    finished: float | None
    from_journal: bool = False
    lane: str | None = None
    attempt: int | None = None
    result_bytes: int | None = None
    error: str | None = None


class ActivationDetail(BaseModel):
    model_config = ConfigDict(frozen=True)

    summary: ActivationSummary
    record: ActivationRecord
    journal: list[StepResult]
    reply_message_ids: list[str]  # empty: not posted (yet), silent, or a replay that was not delivered
    timeline: list[TimelineBar]
    error: ErrorInfo | None


def timeline(record: ActivationRecord) -> list[TimelineBar]:
    origin = record.activation.accepted_at

    def offset(at: float | None) -> float | None:
        return None if at is None else round(at - origin, 6)

    bars = [TimelineBar(name="queue", kind="queue", queued=0.0, started=0.0, finished=offset(record.started_at)),
            TimelineBar(name="planner", kind="plan", queued=None, started=offset(record.started_at),
                        finished=offset(record.finished_at), error=record.error.code if record.error else None)]
    for step in record.steps:
        bars.append(TimelineBar(
            name=step.step, kind=step.step.split(":", 1)[0], queued=offset(step.queued_at),
            started=offset(step.started_at), finished=offset(step.finished_at), from_journal=step.from_journal,
            lane=step.lane, attempt=step.attempt, result_bytes=step.result_bytes,
            error=step.error.code if step.error else None))
    return bars


def detail(record: ActivationRecord, journal: list[StepResult], posted: str | None) -> ActivationDetail:
    message_ids = [] if posted in (None, "silent") else [part for part in (posted or "").split(",") if part]
    return ActivationDetail(summary=ActivationSummary.of(record), record=record, journal=journal,
                            reply_message_ids=message_ids, timeline=timeline(record), error=record.error)
