"""Exactly one reply, even when a planner dies mid-activation or an activation is queued twice.

Real processes: planner(s) and a tools worker, and the inference service (real Ray, echo model) started
when a test needs it; the oracle is the `sb:replies` stream and the activation record.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from switchboard.core import keys
from switchboard.core.keys import STREAM_FIELD, Queue, Stream
from switchboard.core.wire import Activation, ActivationRecord, Outcome, Trigger
from switchboard.devstack.redis_server import RedisServer
from tests.conftest import wait_until
from tests.support.backend import Backend


def activation(activation_id: str) -> Activation:
    return Activation(id=activation_id, trigger=Trigger.MENTION, guild_id="1", channel_id="10",
                      message_id=activation_id, author_id="7", author_name="alice", content="hello there")


@pytest.fixture(scope="module")
def backend(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    redis.Redis.from_url(redis_server.url).flushall()
    running = Backend(Path(tmp_path_factory.mktemp("recovery")), redis_server.url)
    running.stack.start(timeout=60)
    yield running
    running.stop()


def test_planner_killed_mid_activation_is_taken_over_with_one_reply(backend: Backend) -> None:
    doomed = backend.start_planner("planner-a")
    backend.enqueue(activation("5001"))
    # planner-a has read the entry, journaled history and the clock tool, and dispatched the model
    # call, which waits in the queue: no inference worker is running yet.
    wait_until(lambda: backend.redis.hexists(keys.journal("5001"), "tool:clock:0"), 30, "the tool step")
    wait_until(lambda: backend.redis.llen(Queue.INFERENCE.value) > 0, 30, "the queued model call")
    assert backend.pending() == 1
    doomed.kill()

    backend.start_planner("planner-b")
    backend.ensure_inference()
    wait_until(lambda: backend.redis.exists(keys.reply_written("5001")), 60, "the reply")
    wait_until(lambda: backend.pending() == 0, 30, "the entry to be acknowledged")

    replies = backend.replies_for("5001")
    assert len(replies) == 1 and replies[0].outcome == Outcome.REPLIED
    assert replies[0].text == "alice: hello there"  # the echo model answers with the last user turn
    record = ActivationRecord.from_json(backend.redis.get(keys.record("5001")))
    assert record.planner_id == "planner-b"
    resumed = {step.step: step.from_journal for step in record.steps}
    assert {"history:0": True, "tool:clock:0": True, "infer:0": False}.items() <= resumed.items()


def test_same_activation_queued_twice_gets_one_reply(backend: Backend) -> None:
    backend.ensure_inference()
    if not backend.planners or not backend.planners[-1].running():
        backend.start_planner("planner-c")
    backend.enqueue(activation("5002"))
    backend.enqueue(activation("5002"))
    wait_until(lambda: backend.redis.exists(keys.reply_written("5002")), 60, "the reply")
    wait_until(lambda: backend.pending() == 0, 30, "both entries to be acknowledged")
    assert len(backend.replies_for("5002")) == 1


def test_unreadable_activation_is_dead_lettered_not_lost(backend: Backend) -> None:
    if not backend.planners or not backend.planners[-1].running():
        backend.start_planner("planner-d")
    backend.redis.xadd(Stream.ACTIVATIONS, {STREAM_FIELD: json.dumps({"kind": "activation", "id": "broken"})})
    dead = wait_until(lambda: backend.redis.xrange(Stream.DEAD_LETTERS), 30, "the dead letter")
    assert "invalid_payload" in dead[-1][1]["reason"]
    wait_until(lambda: backend.pending() == 0, 30, "the bad entry to be acknowledged")
