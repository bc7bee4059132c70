"""A real tools worker for tests, built like `python -m switchboard.tools` builds it, with tools that count
their runs; and tool steps sent to it the way the planner sends them.

    runs = Counter()
    registry = ToolRegistry(counted(builtin_tools(client), runs), enabled=...)
    with tools_worker(redis_url, registry) as app:
        step = send_tool_step(app, ToolCall(name="clock"))
        result = journaled(redis_url, step)   # tests.support.steps
        runs["clock"]  # 1
"""

from __future__ import annotations

import dataclasses
import itertools
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import redis
from celery import Celery
from celery.contrib.testing.worker import start_worker

from switchboard.core.celery_app import make_celery
from switchboard.core.journal import SyncJournal
from switchboard.core.keys import Queue, Task
from switchboard.core.metrics import Metrics
from switchboard.core.settings import ServiceSettings
from switchboard.core.wire import StepRequest, ToolCall
from switchboard.tools.registry import Tool, ToolRegistry
from switchboard.tools.worker import register_tool_task

_activation_ids = itertools.count(70_000)


def counted(tools: Iterable[Tool], runs: Counter[str]) -> tuple[Tool, ...]:
    """The same tools (schema, timeout, lane, context), each adding one to `runs[name]` when it runs."""
    def counting(tool: Tool) -> Tool:
        def run(**arguments: Any) -> Any:
            runs[tool.name] += 1
            return tool.run(**arguments)

        return dataclasses.replace(tool, run=run)

    return tuple(counting(tool) for tool in tools)


@contextmanager
def tools_worker(redis_url: str, registry: ToolRegistry, concurrency: int = 2) -> Iterator[Celery]:
    """A Celery worker on `sb.tools` running `registry` (published to the planners' catalog), until exit."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    app = make_celery(ServiceSettings(redis_url=redis_url), "test-tools-worker")
    registry.publish(client)
    register_tool_task(app, registry, SyncJournal(client), Metrics())
    with start_worker(app, pool="threads", concurrency=concurrency, perform_ping_check=False, loglevel="WARNING",
                      queues=[Queue.TOOLS.value]):
        yield app
    client.close()


def send_tool_step(app: Celery, call: ToolCall, activation_id: str | None = None) -> StepRequest:
    """Queue `call` as step `tool:<name>:0` of a fresh (or the given) activation, as the planner would."""
    request = StepRequest(activation_id=activation_id or str(next(_activation_ids)), step=f"tool:{call.name}:0",
                          reply_to="sb:wake:test", payload=call)
    app.send_task(Task.RUN_TOOL.value, args=[request.to_json()], task_id=request.task_id, queue=Queue.TOOLS.value)
    return request
