"""The worker side of a journaled step, shared by the tools and inference workers.

A worker receives a `StepRequest`, skips it when the journal already holds a result (a redelivered
task), runs it otherwise, and records the outcome (output or typed error) with first-writer-wins plus a
wake-up to the planner that waits for it. A failure becomes a recorded result, never a lost step.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable

from switchboard.core.journal import SyncJournal
from switchboard.core.metrics import Metrics
from switchboard.core.wire import ErrorInfo, StepOutput, StepRequest, StepResult

log = logging.getLogger(__name__)

StepHandler = Callable[[StepRequest], StepOutput]


def execute_step(raw: str, handler: StepHandler, journal: SyncJournal, metrics: Metrics, hop: str) -> StepResult:
    """Run one step request (JSON) through `handler` and record its result; returns what is recorded."""
    request = StepRequest.from_json(raw)
    recorded = journal.get(request.activation_id, request.step)
    if recorded is not None:
        metrics.steps.labels(kind=hop, result="already_recorded").inc()
        return recorded
    started = time.time()
    try:
        output, error = handler(request), None
    except Exception as exc:  # every failure is reported to the planner as a typed result
        log.warning("step %s failed: %s", request.task_id, exc, exc_info=not hasattr(exc, "code"))
        output, error = None, ErrorInfo.of(exc)
    result = StepResult(
        activation_id=request.activation_id, step=request.step, output=output, error=error,
        worker=socket.gethostname(), queued_at=request.queued_at, started_at=started,
    )
    first = journal.record(result, reply_to=request.reply_to)
    metrics.steps.labels(kind=hop, result="ok" if error is None else "error").inc()
    metrics.hop_duration.labels(hop=hop).observe(result.finished_at - started)
    return result if first else journal.get(request.activation_id, request.step) or result
