"""A step that kills its worker every time is run at most N times, then dead-lettered with a typed error.

Real Redis, a real Celery tools worker process (restarted by the test whenever it dies, as Kubernetes would),
and a tool that SIGKILLs the worker running it. Kombu gives an unacknowledged task back after the visibility
timeout (here the time limit plus a short margin), so each delivery after the first costs about ten seconds.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
import redis
from celery import Celery

from switchboard.core.celery_app import make_celery
from switchboard.core.journal import SyncJournal
from switchboard.core.keys import STREAM_FIELD, Queue, Stream, Task
from switchboard.core.settings import ServiceSettings
from switchboard.core.wire import StepRequest, StepResult, ToolCall
from switchboard.devstack.ports import free_port
from switchboard.devstack.processes import ServiceProcess

MAX_DELIVERIES = 2
SETTINGS = {"SWITCHBOARD_TASK_TIME_LIMIT_S": "5", "SWITCHBOARD_VISIBILITY_MARGIN_S": "5",
            "SWITCHBOARD_STEP_MAX_DELIVERIES": str(MAX_DELIVERIES),
            "SWITCHBOARD_ENABLED_TOOLS": json.dumps(["clock"])}
DEADLINE_S = 120


class Supervised:
    """The crashing worker, started again whenever it has died (bounded by the test's deadline)."""

    def __init__(self, redis_url: str, log_dir: Path) -> None:
        env = {"SWITCHBOARD_REDIS_URL": redis_url, "SWITCHBOARD_METRICS_PORT": str(free_port()), **SETTINGS}
        self.process = ServiceProcess("crashing-tools", "tests.support.crashing_tools_worker", env, log_dir)
        self.starts = 0

    def keep_alive(self) -> None:
        if not self.process.running():
            self.process.start()
            self.starts += 1


def send(app: Celery, activation_id: str, tool: str) -> StepRequest:
    request = StepRequest(activation_id=activation_id, step=f"tool:{tool}:0", reply_to="sb:wake:test",
                          payload=ToolCall(name=tool, arguments={}))
    app.send_task(Task.RUN_TOOL.value, args=[request.to_json()], task_id=request.task_id, queue=Queue.TOOLS.value)
    return request


def result_of(journal: SyncJournal, request: StepRequest, worker: Supervised) -> StepResult:
    deadline = time.monotonic() + DEADLINE_S
    while (result := journal.get(request.activation_id, request.step)) is None:
        assert time.monotonic() < deadline, f"no result for {request.task_id}:\n{worker.process.tail()}"
        worker.keep_alive()
        time.sleep(0.2)
    return result


@pytest.mark.skipif(sys.platform != "linux", reason="SIGKILL semantics")
def test_a_step_that_kills_its_worker_is_dead_lettered_after_n_deliveries(
        redis_url: str, tmp_path: Path) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    journal = SyncJournal(client)
    app = make_celery(ServiceSettings(redis_url=redis_url, **{"task_time_limit_s": 5, "visibility_margin_s": 5}),
                      "poison-test")
    worker = Supervised(redis_url, tmp_path)
    try:
        worker.keep_alive()
        poison = send(app, "9001", "crash")
        result = result_of(journal, poison, worker)
        healthy = result_of(journal, send(app, "9002", "clock"), worker)
    finally:
        worker.process.stop()

    assert result.error is not None and result.error.code == "dead_lettered", result
    assert result.attempt == MAX_DELIVERIES + 1 and f"limit {MAX_DELIVERIES}" in result.error.message
    assert worker.starts == MAX_DELIVERIES + 1  # killed by each of the deliveries that ran it
    [(_, dead)] = client.xrange(Stream.DEAD_LETTERS)
    assert (dead["source"], dead["activation_id"], dead["step"]) == ("step:tool", "9001", "tool:crash:0")
    assert dead["deliveries"] == str(MAX_DELIVERIES + 1)
    assert StepRequest.from_json(dead[STREAM_FIELD]).task_id == poison.task_id  # the request, whole
    assert healthy.error is None and healthy.attempt == 1  # the worker goes on with other work
