"""Exactly one reply, even when a planner dies mid-activation or an activation is queued twice.

Real processes: planner(s) and a tools worker, and the inference service (real Ray, echo model) started
when a test needs it; the oracle is the `sb:replies` stream and the activation record.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from switchboard.core import keys
from switchboard.core.keys import STREAM_FIELD, Group, Queue, Stream
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


def test_an_activation_no_planner_finishes_in_n_deliveries_gets_one_error_reply_and_is_dead_lettered(
        backend: Backend) -> None:
    for planner in backend.planners:
        planner.kill()
    with contextlib.suppress(redis.ResponseError):  # BUSYGROUP: a planner made it already
        backend.redis.xgroup_create(Stream.ACTIVATIONS, Group.PLANNERS, id="0", mkstream=True)
    backend.enqueue(activation("5003"))
    # Two planners took it and died before finishing: two deliveries.
    backend.redis.xreadgroup(Group.PLANNERS, "dead-1", {Stream.ACTIVATIONS: ">"}, count=1)
    [entry_id] = [eid for eid, fields in backend.redis.xrange(Stream.ACTIVATIONS)
                  if json.loads(fields[STREAM_FIELD]).get("id") == "5003"]
    backend.redis.xclaim(Stream.ACTIVATIONS, Group.PLANNERS, "dead-2", 0, [entry_id])

    backend.start_planner("planner-e", env={"SWITCHBOARD_ACTIVATION_MAX_DELIVERIES": "2"})

    dead = wait_until(lambda: [f for _, f in backend.redis.xrange(Stream.DEAD_LETTERS)
                               if f.get("activation_id") == "5003"], 30, "the dead letter")
    assert len(dead) == 1 and dead[0]["deliveries"] == "3" and "limit 2" in dead[0]["reason"]
    assert Activation.from_json(dead[0][STREAM_FIELD]).id == "5003"  # kept whole, so it can be replayed
    [reply] = backend.replies_for("5003")
    assert reply.outcome == Outcome.DEAD_LETTERED and reply.error is not None and reply.error.code == "dead_lettered"
    record = ActivationRecord.from_json(backend.redis.get(keys.record("5003")))
    assert record.outcome == Outcome.DEAD_LETTERED
    wait_until(lambda: backend.pending() == 0, 30, "the entry to be acknowledged")
    assert not backend.redis.hexists(keys.journal("5003"), "infer:0")  # it was not run a third time
