"""An inference worker for tests, sending one step to it the way the planner does, and reading its result from
the journal."""

from __future__ import annotations

import itertools
from contextlib import ExitStack

import redis
from celery import Celery
from celery.contrib.testing.worker import start_worker

from switchboard.core.celery_app import make_celery
from switchboard.core.journal import SyncJournal
from switchboard.core.keys import Queue, Task
from switchboard.core.metrics import Metrics
from switchboard.core.settings import ServiceSettings
from switchboard.core.wire import StepPayload, StepRequest, StepResult
from switchboard.inference.bridge import InferenceBridge, register_inference_task
from tests.conftest import wait_until

STEP_WAIT_S = 30.0
_activation_ids = itertools.count(50_000)


def start_inference_worker(stack: ExitStack, settings: ServiceSettings, bridge: InferenceBridge,
                           client: redis.Redis, metrics: Metrics, name: str) -> Celery:
    """A real Celery worker (two threads) on `sb.inference` running `bridge`, stopped when `stack` closes.

    The returned app carries `metrics` as `app.metrics`, for tests that read what the bridge recorded.
    """
    app = make_celery(settings, name)
    register_inference_task(app, bridge, SyncJournal(client), metrics)
    stack.enter_context(start_worker(app, pool="threads", concurrency=2, perform_ping_check=False,
                                     loglevel="WARNING", queues=[Queue.INFERENCE.value]))
    app.metrics = metrics  # type: ignore[attr-defined]
    return app


def new_activation_id() -> str:
    return str(next(_activation_ids))


def send_step(app: Celery, payload: StepPayload, step: str, activation_id: str | None = None) -> StepRequest:
    """Queue `payload` as the step `step` of a fresh (or the given) activation; the task id is the planner's."""
    request = StepRequest(activation_id=activation_id or new_activation_id(), step=step, reply_to="sb:wake:test",
                          payload=payload)
    app.send_task(Task.RUN_INFERENCE.value, args=[request.to_json()], task_id=request.task_id,
                  queue=Queue.INFERENCE.value)
    return request


def journaled(redis_url: str, step: StepRequest) -> StepResult:
    """The step's result once a worker has journaled it."""
    journal = SyncJournal(redis.Redis.from_url(redis_url, decode_responses=True))
    return wait_until(lambda: journal.get(step.activation_id, step.step), STEP_WAIT_S, f"step {step.task_id}")


def run_step(app: Celery, redis_url: str, payload: StepPayload, step: str) -> StepResult:
    return journaled(redis_url, send_step(app, payload, step))
