"""A task message serialized with pickle (or YAML that builds Python objects), pushed straight onto `sb.tools`
in Redis, is refused by the real tools worker (`python -m switchboard.tools`): never deserialized, never run,
taken off the queue, and the worker goes on running good tasks.

Each hostile payload would create a marker directory if anything unpickled it; the test first proves that
the payload does exactly that when unpickled here, so a marker that never appears means something.
"""

from __future__ import annotations

import json
import os
import pickle
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kombu
import pytest
import redis

from switchboard.core.celery_app import make_celery
from switchboard.core.keys import Queue, Task
from switchboard.core.settings import ServiceSettings
from switchboard.core.wire import ToolCall
from switchboard.devstack.redis_server import RedisServer
from switchboard.devstack.stack import Stack, StackConfig
from tests.conftest import wait_until
from tests.support.steps import journaled
from tests.support.tool_worker import send_tool_step

UNACKED = "unacked"  # kombu's Redis transport keeps delivered, unacknowledged messages in this hash


class MakesADirectory:
    """Unpickling this calls `os.mkdir(path)`: what an attacker's payload would do instead."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return os.mkdir, (str(self.path),)


def task_headers(task_id: str) -> dict[str, Any]:
    """Celery's protocol-2 headers for `sb.tools.run`, as a real client would send them."""
    return {"lang": "py", "task": Task.RUN_TOOL.value, "id": task_id, "root_id": task_id, "parent_id": None,
            "group": None, "retries": 0, "timelimit": [None, None], "eta": None, "expires": None,
            "ignore_result": False, "argsrepr": "(...)", "kwargsrepr": "{}", "origin": "mallory@elsewhere"}


def push_hostile_messages(redis_url: str, markers: dict[str, Path]) -> None:
    """Publish one message per marker onto `sb.tools` (kombu's default exchange routes by queue name)."""
    with kombu.Connection(redis_url) as connection:
        producer = connection.Producer()
        task_id = str(uuid.uuid4())
        producer.publish(((MakesADirectory(markers["pickle-protocol-2"]),), {}, {"callbacks": None}),
                         routing_key=Queue.TOOLS.value, serializer="pickle", headers=task_headers(task_id))
        producer.publish({"task": Task.RUN_TOOL.value, "id": str(uuid.uuid4()),
                          "args": [MakesADirectory(markers["pickle-protocol-1"])], "kwargs": {}},
                         routing_key=Queue.TOOLS.value, serializer="pickle")
        yaml_body = f"- [!!python/object/apply:os.mkdir ['{markers['yaml']}']]\n- {{}}\n- {{}}\n"
        producer.publish(yaml_body, routing_key=Queue.TOOLS.value, content_type="application/x-yaml",
                         content_encoding="utf-8", headers=task_headers(str(uuid.uuid4())))


@pytest.fixture(scope="module")
def queue_redis(redis_server: RedisServer) -> str:
    redis.Redis.from_url(redis_server.url).flushall()
    return redis_server.url


@pytest.fixture(scope="module")
def markers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    where = tmp_path_factory.mktemp("markers")
    return {kind: where / kind for kind in ("pickle-protocol-2", "pickle-protocol-1", "yaml")}


@pytest.fixture(scope="module")
def queued_before_the_worker(queue_redis: str, markers: dict[str, Path]) -> list[dict[str, Any]]:
    """The hostile messages as they sit on the queue, pushed before any worker runs."""
    push_hostile_messages(queue_redis, markers)
    return [json.loads(raw) for raw in redis.Redis.from_url(queue_redis).lrange(Queue.TOOLS.value, 0, -1)]


@pytest.fixture(scope="module")
def tools_service(queue_redis: str, queued_before_the_worker: list[dict[str, Any]],
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(StackConfig(run_dir=Path(tmp_path_factory.mktemp("pickle")), redis_url=queue_redis,
                              services=("tools",)))
    stack.start(timeout=60)
    yield stack
    stack.stop()


def test_the_payloads_are_live_and_really_on_the_queue(queued_before_the_worker: list[dict[str, Any]],
                                                       tmp_path: Path) -> None:
    control = tmp_path / "control"
    pickle.loads(pickle.dumps(MakesADirectory(control)))  # what any unpickling worker would do
    assert control.is_dir()
    assert sorted(message["content-type"] for message in queued_before_the_worker) == [
        "application/x-python-serialize", "application/x-python-serialize", "application/x-yaml"]


def test_the_worker_refuses_them_never_runs_them_and_drops_them(
        tools_service: Stack, queue_redis: str, markers: dict[str, Path]) -> None:
    client = redis.Redis.from_url(queue_redis)
    log = tools_service.services["tools"].log_path
    wait_until(lambda: log.read_text(errors="replace").count("Refusing to deserialize untrusted content") >= 3, 30,
               "the worker to refuse all three messages")
    wait_until(lambda: client.llen(Queue.TOOLS.value) == 0 and client.hlen(UNACKED) == 0, 10,
               "the refused messages to leave the queue (not left unacknowledged, to come back)")
    assert not [kind for kind, marker in markers.items() if marker.exists()]
    assert tools_service.services["tools"].running()


def test_the_worker_still_runs_a_good_task_afterwards(tools_service: Stack, queue_redis: str,
                                                      markers: dict[str, Path]) -> None:
    app = make_celery(ServiceSettings(redis_url=queue_redis), "test-after-pickle")
    step = send_tool_step(app, ToolCall(name="calculator", arguments={"expression": "6*7"}))
    result = journaled(queue_redis, step)
    assert result.error is None and result.output.output["value"] == 42  # type: ignore[union-attr]
    assert not [kind for kind, marker in markers.items() if marker.exists()]
