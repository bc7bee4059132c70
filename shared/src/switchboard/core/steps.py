"""The worker side of a journaled step, shared by the tools and inference workers.

A worker receives a `StepRequest`, skips it when the journal already holds a result (a redelivered
task) or another delivery is running it now (a copy the planner sent again, see `journal`), runs it
otherwise, and records the outcome (output or typed error) with first-writer-wins plus a wake-up to the
planner that waits for it. A failure becomes a recorded result, never a lost step.

The result also says which delivery of the task ran it (`attempt`, counted in Redis, so a task run again
after its worker died says 2). A task delivered more than `journal.max_deliveries` times is poison (it
killed its worker each time): it is not run again but journaled as the typed `DeadLettered` and copied to
the dead-letter stream, so the activation ends with one error reply instead of killing workers forever.
The step's result says and in which lane it waited: a handler that takes a lane slot calls
`mark_lane`, which reaches the step being run through a context variable (one per worker thread).
"""

from __future__ import annotations

import contextvars
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from switchboard.core.errors import DeadLettered
from switchboard.core.journal import SyncJournal
from switchboard.core.metrics import Metrics
from switchboard.core.wire import ErrorInfo, StepOutput, StepRequest, StepResult

log = logging.getLogger(__name__)

StepHandler = Callable[[StepRequest], StepOutput]
RUNNER = f"{socket.gethostname()}:{os.getpid()}"  # with the thread: who holds a step's run claim


@dataclass
class _StepMarks:
    lane: str | None = None


_running: contextvars.ContextVar[_StepMarks | None] = contextvars.ContextVar("running_step", default=None)


def mark_lane(lane: str) -> None:
    """Record that the step being run waited in `lane`; outside a step, nothing happens."""
    marks = _running.get()
    if marks is not None:
        marks.lane = lane


def execute_step(raw: str, handler: StepHandler, journal: SyncJournal, metrics: Metrics,
                 hop: str) -> StepResult | None:
    """Run one step request (JSON) through `handler` and record its result; returns what is recorded, or None
    when another delivery is running the step."""
    request = StepRequest.from_json(raw)
    recorded = journal.get(request.activation_id, request.step)
    if recorded is not None:
        metrics.steps.labels(kind=hop, result="already_recorded").inc()
        return recorded
    attempt = journal.claim_run(request.activation_id, request.step, f"{RUNNER}:{threading.get_ident()}")
    if attempt is None:
        log.info("step %s is being run by another delivery; this copy is skipped", request.task_id)
        metrics.steps.labels(kind=hop, result="already_running").inc()
        return None
    if attempt > journal.max_deliveries:
        return _dead_letter(raw, request, journal, metrics, hop, attempt)
    started = time.time()
    marks = _StepMarks()
    running = _running.set(marks)
    try:
        output, error = handler(request), None
    except Exception as exc:  # every failure is reported to the planner as a typed result
        log.warning("step %s failed: %s", request.task_id, exc, exc_info=not hasattr(exc, "code"))
        output, error = None, ErrorInfo.of(exc)
    finally:
        _running.reset(running)
    result = StepResult(
        activation_id=request.activation_id, step=request.step, output=output, error=error,
        worker=socket.gethostname(), lane=marks.lane, attempt=attempt, queued_at=request.queued_at,
        started_at=started,
    )
    first = journal.record(result, reply_to=request.reply_to)
    metrics.steps.labels(kind=hop, result="ok" if error is None else "error").inc()
    metrics.hop_duration.labels(hop=hop).observe(result.finished_at - started)
    return result if first else journal.get(request.activation_id, request.step) or result


def _dead_letter(raw: str, request: StepRequest, journal: SyncJournal, metrics: Metrics, hop: str,
                 attempt: int) -> StepResult:
    reason = (f"step {request.step} was delivered {attempt} times and its worker never finished it "
              f"(limit {journal.max_deliveries})")
    log.error("dead-lettering %s: %s", request.task_id, reason)
    result = StepResult(activation_id=request.activation_id, step=request.step, worker=socket.gethostname(),
                        error=ErrorInfo.of(DeadLettered(reason)), attempt=attempt, queued_at=request.queued_at)
    first = journal.dead_letter(result, raw, f"step:{hop}", attempt, reply_to=request.reply_to)
    metrics.steps.labels(kind=hop, result="dead_lettered").inc()
    return result if first else journal.get(request.activation_id, request.step) or result
