"""Every hop of one activation in one trace; every service's /metrics accepted by promtool."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request

import pytest
import redis

from switchboard.core import keys
from switchboard.devstack.otlp_receiver import OtlpReceiver
from switchboard.devstack.stack import Stack
from switchboard.emulator.client import EmulatorClient
from tests.conftest import wait_until

PRODUCER, CONSUMER = 4, 5  # OTLP span kinds

EXPECTED_HOPS = {
    ("switchboard-gateway", "on_message"),
    ("switchboard-gateway", "send sb:activations"),
    ("switchboard-planner", "process sb:activations"),
    ("switchboard-planner", "step tool:clock:0"),
    ("switchboard-planner", "apply_async/sb.tools.run"),
    ("switchboard-tools", "run/sb.tools.run"),
    ("switchboard-tools", "execute_tool clock"),
    ("switchboard-planner", "apply_async/sb.inference.run"),
    ("switchboard-inference", "run/sb.inference.run"),
    ("switchboard-inference", "chat SmolLM2-135M-Instruct"),
    ("switchboard-planner", "send sb:replies"),
    ("switchboard-gateway", "process sb:replies"),
    ("switchboard-gateway", "POST reply"),
}


def test_one_trace_spans_every_service_and_hop(emulator: EmulatorClient, store: redis.Redis,
                                               otlp: OtlpReceiver) -> None:
    secret = "my password is hunter2"
    asked = emulator.inject_message(channel_id="general", author="alice", mention_bot=True, content=secret)
    wait_until(lambda: store.exists(keys.posted(asked["id"])), 90, "the reply")

    def complete() -> list:
        spans = otlp.trace_of("switchboard.activation_id", asked["id"])
        return spans if EXPECTED_HOPS <= {(s.service, s.name) for s in spans} else []

    spans = wait_until(complete, 30, "every hop's span at the receiver")
    assert len({s.trace_id for s in spans}) == 1
    consumer = next(s for s in spans if s.name == "process sb:activations")
    producer = next(s for s in spans if s.name == "send sb:activations")
    assert consumer.kind == CONSUMER and producer.kind == PRODUCER
    assert consumer.parent_span_id == producer.span_id and consumer.links == (producer.trace_id,)
    chat = next(s for s in spans if s.name.startswith("chat "))
    assert chat.attributes["gen_ai.operation.name"] == "chat"
    assert chat.attributes["gen_ai.usage.output_tokens"] > 0
    # No message content in spans by default.
    assert not any(secret in str(value) for s in spans for value in s.attributes.values())


@pytest.mark.parametrize("service", ["gateway", "planner", "tools", "inference"])
def test_metrics_pass_promtool(stack: Stack, service: str) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is installed by ./dev (Debian package prometheus)"
    body = urllib.request.urlopen(stack.metrics_url(service), timeout=5).read()
    assert b"switchboard_" in body
    checked = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, timeout=30)
    assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()


def test_activation_metrics_count_by_trigger_and_outcome(stack: Stack, emulator: EmulatorClient,
                                                         store: redis.Redis) -> None:
    asked = emulator.inject_message(channel_id="general", author="bob", mention_bot=True, content="count me")
    wait_until(lambda: store.exists(keys.posted(asked["id"])), 90, "the reply")
    body = urllib.request.urlopen(stack.metrics_url("planner"), timeout=5).read().decode()
    assert 'switchboard_activations_total{outcome="replied",trigger="mention"}' in body
    gateway = urllib.request.urlopen(stack.metrics_url("gateway"), timeout=5).read().decode()
    assert 'switchboard_hop_duration_seconds_count{hop="post_reply"}' in gateway


def test_gateway_health_and_readiness_reflect_the_shards(stack: Stack) -> None:
    base = stack.metrics_url("gateway").removesuffix("/metrics")
    assert json.loads(urllib.request.urlopen(f"{base}/healthz", timeout=5).read()) == {"alive": True}
    ready = json.loads(urllib.request.urlopen(f"{base}/readyz", timeout=5).read())
    assert ready["ready"] is True
    assert ready["shards"] and all(shard["connected"] for shard in ready["shards"].values())
