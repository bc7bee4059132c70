"""Lanes and the resolver at the inference bridge: real Celery workers on a real Redis, a chat model in the
test process that answers only when the test lets it.

A saturated lane queues requests up to its bound and refuses the next one at once with a typed
`lane_backpressure` error; a request no model qualifies for fails with `no_qualified_model` before any
model is called.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator
from typing import Any

import pytest
import redis
from celery import Celery
from celery.contrib.testing.worker import start_worker

from switchboard.core import keys
from switchboard.core.celery_app import make_celery
from switchboard.core.journal import SyncJournal
from switchboard.core.keys import Queue
from switchboard.core.leases import LaneSlots
from switchboard.core.metrics import Metrics
from switchboard.core.settings import ServiceSettings
from switchboard.core.wire import ChatMessage, InferenceRequest, InferenceResult, ModelRequirements
from switchboard.inference.admission import Admission, LiveCapacity
from switchboard.inference.bridge import InferenceBridge, register_inference_task
from switchboard.inference.chat_models import ChatModels
from switchboard.inference.deployments.engines import EchoEngine
from switchboard.inference.deployments.protocol import parse_chat_request
from tests.conftest import wait_until
from tests.support.steps import journaled, send_step

MODEL = "gated-echo"
LANE = "local:chat"
QUEUE_LIMIT = 1


class GatedChat:
    """Echoes, but only once the gate opens; counts the requests that reached it."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.started: list[str] = []

    def stream_chat(self, request: dict[str, Any]) -> Generator[dict[str, Any], None, None]:
        self.started.append(request["messages"][-1]["content"])
        assert self.gate.wait(20), "the test never opened the gate"
        yield from EchoEngine().stream(parse_chat_request(request))


@pytest.fixture
def chat() -> Iterator[GatedChat]:
    model = GatedChat()
    yield model
    model.gate.set()  # never leave a worker thread waiting


@pytest.fixture
def worker(redis_url: str, chat: GatedChat) -> Iterator[tuple[Celery, Metrics]]:
    """An inference worker with three threads whose chat lane takes one request and queues one more."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.delete(keys.lane_slots(LANE), keys.lane_waiters(LANE))
    metrics = Metrics()
    admission = Admission(LaneSlots(client), metrics, local_capacity=LiveCapacity(lambda: {"chat": 1}, {"chat": 1}),
                          cloud_capacity={}, ttl_s=60, wait_s=15, queue_limit=QUEUE_LIMIT)
    bridge = InferenceBridge(ChatModels.single(chat, MODEL), client, metrics, 0.05, False, admission=admission)
    app = make_celery(ServiceSettings(redis_url=redis_url), "test-inference-admission")
    register_inference_task(app, bridge, SyncJournal(client), metrics)
    with start_worker(app, pool="threads", concurrency=3, perform_ping_check=False, loglevel="WARNING",
                      queues=[Queue.INFERENCE.value]):
        yield app, metrics


def ask(text: str, **extra: Any) -> InferenceRequest:
    return InferenceRequest(messages=(ChatMessage(role="user", content=text),), max_tokens=8, **extra)


def test_a_full_lane_queues_up_to_its_bound_then_refuses_with_the_queue_length_and_limit(
        worker: tuple[Celery, Metrics], chat: GatedChat, redis_url: str) -> None:
    app, metrics = worker
    client = redis.Redis.from_url(redis_url)
    first = send_step(app, ask("first"), "s1")
    wait_until(lambda: chat.started == ["first"], 10, "the first request to take the lane's one slot")
    second = send_step(app, ask("second"), "s2")
    wait_until(lambda: client.zcard(keys.lane_waiters(LANE)) == 1, 10, "the second request to queue")

    third = journaled(redis_url, send_step(app, ask("third"), "s3"))

    assert third.output is None and third.error is not None
    assert (third.error.code, third.error.retryable) == ("lane_backpressure", True)
    assert third.error.message == f"lane {LANE} is full and 1 requests already wait for it (limit {QUEUE_LIMIT})"
    assert chat.started == ["first"]  # neither queued nor refused requests reached the model
    chat.gate.set()
    for step, text in ((first, "first"), (second, "second")):
        result = journaled(redis_url, step)
        assert isinstance(result.output, InferenceResult) and result.output.text == text
    assert chat.started == ["first", "second"]
    assert metrics.lane_refusals.labels(lane=LANE, reason="lane_backpressure")._value.get() == 1
    assert metrics.lane_queue_wait.labels(lane=LANE)._sum.get() > 0  # the second one waited
    assert metrics.lane_occupancy.labels(lane=LANE)._value.get() == 0
    assert client.zcard(keys.lane_slots(LANE)) == 0 and client.zcard(keys.lane_waiters(LANE)) == 0


def test_a_request_no_model_qualifies_for_fails_typed_before_any_model_call(
        worker: tuple[Celery, Metrics], chat: GatedChat, redis_url: str) -> None:
    app, _ = worker
    needs_tools = ModelRequirements(capabilities=frozenset({"tools"}))

    refused = journaled(redis_url, send_step(app, ask("call a tool", requires=needs_tools), "s1"))
    unknown = journaled(redis_url, send_step(app, ask("hello", model="gpt-9"), "s2"))

    assert refused.error is not None and unknown.error is not None
    assert (refused.error.code, refused.error.retryable) == ("no_qualified_model", False)
    assert refused.error.message == f"no chat model qualifies for 'default': {MODEL}: no tools"
    assert unknown.error.code == "no_qualified_model" and "no alias or model has that name" in unknown.error.message
    assert chat.started == []
