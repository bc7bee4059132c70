"""Recorded mode: a callsystem runs against the steps an original activation recorded, and nothing else.

The `StepContext` already looks in the journal before it runs or dispatches anything; a recorded replay
gives it a journal (`RecordedSteps`) that holds what the original saw and refuses everything else. A
step it does not hold raises `StepNotRecorded` before any work exists, so no task is sent, no model or
tool is called and nothing is written, whatever the callsystem version asks for.

"What the original saw" is the journal restricted to the steps its record lists: a result a worker
journaled after the planner had stopped waiting for it (a step timeout) was never seen, so a replay does
not see it either. Where the original ended in an error raised outside any step (it timed out waiting,
or it was superseded), the same version replayed asks for the step the original never got; that step
raises the original's error, so the replay ends as the original did.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

import redis.asyncio as aioredis

from switchboard.core import keys
from switchboard.core.journal import Journal
from switchboard.core.plugins import Callsystem, Persona
from switchboard.core.wire import ActivationRecord, ErrorInfo, Reply, StepRequest, StepResult, StepTiming
from switchboard.planner.context import ContextServices, StepContext
from switchboard.planner.dispatch import StepDispatcher
from switchboard.planner.outcomes import failure_reply


class StepNotRecorded(Exception):
    """A recorded replay asked for a step the original never recorded: the run stops there.

    Not a `SwitchboardError` on purpose: callsystems catch those to carry on (a failed tool becomes
    something the model reads), and a recorded replay must stop, not work around a result it lacks.
    """

    code = "step_not_recorded"

    def __init__(self, activation_id: str, step: str) -> None:
        super().__init__(f"step {step} was not recorded for activation {activation_id}; "
                         "a recorded replay runs no step")
        self.activation_id, self.step = activation_id, step

    def info(self) -> ErrorInfo:
        return ErrorInfo(code=self.code, message=str(self))


class RecordedSteps(Journal):
    """The steps one activation recorded, read once and never written: the journal of a recorded replay."""

    def __init__(self, activation_id: str, steps: Mapping[str, StepResult], ending: ErrorInfo | None = None) -> None:
        """`ending`: the original's error where it ended outside any step; raised at the first step it never got."""
        self.activation_id = activation_id
        self._steps = dict(steps)
        self._ending = ending
        self.used: list[str] = []
        self.missing: list[str] = []
        self.original_stop: str | None = None
        self.lost = False  # the record lists steps, but the journal holds none of them (trimmed, or deleted)

    @classmethod
    def of(cls, record: ActivationRecord, seen: Mapping[str, StepResult],
           ending: ErrorInfo | None = None) -> RecordedSteps:
        """The journal of a replay of `record`, from what `read_many` found of the steps it lists."""
        steps = cls(record.activation.id, seen, ending)
        steps.lost = bool(record.steps) and not steps._steps
        return steps

    @staticmethod
    async def read_many(client: aioredis.Redis,
                        records: Iterable[ActivationRecord]) -> dict[str, dict[str, StepResult]]:
        """What each record's original saw, by activation id: its journal restricted to the steps the record
        lists, for all of them in one round trip."""
        listed = [record for record in records if record.steps]
        if not listed:
            return {}
        async with client.pipeline(transaction=False) as pipe:
            for record in listed:
                pipe.hmget(keys.journal(record.activation.id), [timing.step for timing in record.steps])
            raws = await pipe.execute()
        return {record.activation.id: {timing.step: StepResult.from_json(value)
                                       for timing, value in zip(record.steps, raw, strict=True) if value is not None}
                for record, raw in zip(listed, raws, strict=True)}

    def unused(self, order: Iterable[str]) -> tuple[str, ...]:
        """The recorded steps no one asked for, in `order` (the original's)."""
        asked = set(self.used)
        return tuple(step for step in order if step in self._steps and step not in asked)

    async def get(self, activation_id: str, step: str) -> StepResult | None:
        if (result := self._steps.get(step)) is not None:
            self.used.append(step)
            return result
        if self._ending is not None and self.original_stop is None and not self.missing:
            self.original_stop = step  # where the original stopped too: end the same way
            raise self._ending.to_exception()
        self.missing.append(step)
        raise StepNotRecorded(self.activation_id, step)

    async def record(self, result: StepResult, reply_to: str | None = None) -> bool:
        raise StepNotRecorded(self.activation_id, result.step)  # unreachable: `get` refuses first


class NoDispatch(StepDispatcher):
    """A dispatcher that sends nothing: a second guard, should a step ever get past `RecordedSteps`."""

    def __init__(self) -> None:  # no Celery app: there is nothing to send with
        pass

    async def send(self, request: StepRequest) -> None:
        raise StepNotRecorded(request.activation_id, request.step)


@dataclass(frozen=True)
class RecordedRun:
    reply: Reply | None  # None when the run stopped at a step that was not recorded
    steps: RecordedSteps
    timings: tuple[StepTiming, ...]
    notes: tuple[str, ...]
    error: ErrorInfo | None


def ending_of(record: ActivationRecord) -> ErrorInfo | None:
    """The original's error if it ended outside any step (no step it saw failed that way), else None."""
    if record.error is None or any(t.error and t.error.code == record.error.code for t in record.steps):
        return None
    return record.error


async def run_recorded(callsystem: Callsystem, record: ActivationRecord, steps: RecordedSteps,
                       services: ContextServices, persona: Persona, allowed_tools: frozenset[str],
                       group: tuple[Persona, ...] = (), group_chatter: int = 0) -> RecordedRun:
    """Run `callsystem` on the original activation with `steps` as its only journal; nothing is dispatched."""
    ctx = StepContext(record.activation, persona, replace(services, journal=steps, dispatcher=NoDispatch()),
                      allowed_tools & callsystem.tools, group, group_chatter)
    ctx.max_tool_calls_per_round = callsystem.max_tool_calls_per_round
    reply: Reply | None
    try:
        reply = await callsystem.activate(ctx)
    except StepNotRecorded:
        reply = None
    except Exception as exc:  # as the planner does: a failure is a typed reply
        reply = failure_reply(ctx, exc)
    error = StepNotRecorded(steps.activation_id, steps.missing[0]).info() if steps.missing else None
    return RecordedRun(reply if error is None else None, steps, tuple(ctx.timings), tuple(ctx.notes), error)
