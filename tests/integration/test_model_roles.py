"""The embed role, replica counts, autoscaling and a replica killed mid-answer, on a real local Ray cluster.

One module-scoped host runs two roles side by side (SmolLM2 on llama.cpp for chat, all-MiniLM-L6-v2 for
embed, the latter under a Serve autoscaling config), and real Celery workers carry steps to the bridge.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import redis
from celery import Celery
from celery.contrib.testing.worker import start_worker

from switchboard.core.celery_app import make_celery
from switchboard.core.journal import SyncJournal
from switchboard.core.keys import Queue
from switchboard.core.metrics import Metrics
from switchboard.core.wire import (
    ChatMessage,
    EmbedRequest,
    EmbedResult,
    InferenceRequest,
    InferenceResult,
    StepRequest,
)
from switchboard.inference.bridge import InferenceBridge, register_inference_task
from switchboard.inference.chat_models import build_chat_models
from switchboard.inference.deployments.config import Autoscaling, ChatRoleConfig, EmbedRoleConfig, RayConfig
from switchboard.inference.deployments.host import ModelHost
from switchboard.inference.embeddings import build_embedder
from switchboard.inference.settings import InferenceSettings
from tests.conftest import wait_until
from tests.support.ray_hosts import started
from tests.support.steps import run_step

PREFIX = "roles-"
CHAT = ChatRoleConfig(num_cpus=1, n_threads=1, max_ongoing_requests=1)
EMBED = EmbedRoleConfig(num_cpus=1, autoscaling=Autoscaling(min_replicas=1, max_replicas=1))


@pytest.fixture(scope="module")
def host() -> Iterator[ModelHost]:
    host = ModelHost(RayConfig(), chat=CHAT, embed=EMBED, app_prefix=PREFIX, start_timeout_s=120)
    with started(host):
        yield host


@pytest.fixture
def settings(redis_url: str) -> InferenceSettings:
    return InferenceSettings(redis_url=redis_url, embed_backend="sentence-transformers", vision_backend="none",
                             live_interval_s=0.05)


class Watched:
    """The host's chat stream, with an event set once a stream has yielded its first chunk."""

    def __init__(self, host: ModelHost) -> None:
        self._host = host
        self.streams = 0
        self.answering = threading.Event()

    def stream_chat(self, request: dict[str, Any]) -> Generator[dict[str, Any], None, None]:
        self.streams += 1
        for chunk in self._host.stream_chat(request):
            self.answering.set()
            yield chunk


def replica_pids(app_name: str) -> list[int]:
    """Processes of a Serve application's replicas: Ray titles them `ray::ServeReplica:<app>:<deployment>`."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            title = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if f"ServeReplica:{app_name}:" in title:
            pids.append(int(proc.name))
    return pids


def test_each_role_reports_its_running_replicas(host: ModelHost) -> None:
    assert host.replicas() == {"chat": 1, "embed": 1}


def test_texts_are_embedded_through_the_bridge_as_unit_vectors_in_request_order(
        host: ModelHost, settings: InferenceSettings, redis_url: str) -> None:
    metrics = Metrics()
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    bridge = InferenceBridge(build_chat_models(settings, host), client, metrics, 0.05, False,
                             embedder=build_embedder(settings, host, metrics))
    app: Celery = make_celery(settings, "test-embed")
    register_inference_task(app, bridge, SyncJournal(client), metrics)
    texts = ("A cat sleeps on the warm windowsill.", "A kitten naps in the sun.",
             "Quarterly revenue grew by eight percent.")
    with start_worker(app, pool="threads", concurrency=2, perform_ping_check=False, loglevel="WARNING",
                      queues=[Queue.INFERENCE.value]):
        result = run_step(app, redis_url, EmbedRequest(texts=texts), "e1")
        pinned = run_step(app, redis_url, EmbedRequest(model="all-MiniLM-L6-v2", texts=texts[:1]), "e2")

    assert result.error is None, result.error
    output = result.output
    assert isinstance(output, EmbedResult)
    assert (output.model, output.dimensions, output.max_tokens, len(output.vectors)) == ("all-MiniLM-L6-v2", 384,
                                                                                         256, 3)
    vectors = np.array(output.vectors)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > 0.5 > similarity[0, 2]  # the two cats are near, the revenue is far
    assert isinstance(pinned.output, EmbedResult) and np.allclose(pinned.output.vectors[0], vectors[0], atol=1e-5)


def test_a_replica_killed_mid_answer_is_replaced_and_the_answer_still_completes(
        host: ModelHost, settings: InferenceSettings, redis_url: str) -> None:
    watched = Watched(host)
    chat = build_chat_models(settings, watched)  # type: ignore[arg-type]
    bridge = InferenceBridge(chat, redis.Redis.from_url(redis_url), Metrics(), 0.05, False)
    [victim] = replica_pids(PREFIX + "chat")
    request = InferenceRequest(messages=(ChatMessage(role="user", content="Tell me a long story about a fox."),),
                               max_tokens=200, seed=7)
    outcome: list[Any] = []
    step = StepRequest(activation_id="kill-1", step="s1", reply_to="sb:wake:test", payload=request)
    answering = threading.Thread(target=lambda: outcome.append(bridge.run(step)))
    answering.start()
    assert watched.answering.wait(30), "the replica started answering"

    os.kill(victim, signal.SIGKILL)
    answering.join(90)

    assert not answering.is_alive(), "the answer never completed"
    [result] = outcome
    assert isinstance(result, InferenceResult) and result.text and result.completion_tokens > 0
    assert watched.streams == 2  # asked once, then again on the replica Serve started in its place
    wait_until(lambda: replica_pids(PREFIX + "chat") not in ([], [victim]), 30, "a new chat replica")
    wait_until(lambda: host.replicas().get("chat") == 1, 30, "the chat role back at one running replica")
