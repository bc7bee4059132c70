"""ModelHost against a real local Ray cluster, real Serve and the real SmolLM2 GGUF.

No mocks. One Ray cluster per module: the module-scoped llama host starts it
(and tears it down); every other host joins it with its own Serve application
name and deletes that application on shutdown. Hosts other than the llama one
ask for a quarter CPU so they fit beside it on a 2-CPU cluster.
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from ray import serve

from switchboard.inference.deployments.config import ChatRoleConfig, RayConfig
from switchboard.inference.deployments.errors import (
    DeployError,
    InvalidChatRequestError,
    ModelLoadError,
    PlacementError,
)
from switchboard.inference.deployments.host import ModelHost
from tests.conftest import wait_until
from tests.support.ray_hosts import started

SMALL_CPU = 0.25  # beside the llama replica's 1 CPU on a 2-CPU cluster
FAST_FAIL_S = 5.0  # "within a few seconds": placement and local file checks
REPLICA_FAIL_S = 45.0  # Serve retries a failing constructor 3 times first


def app_gone(name: str) -> Callable[[], bool]:
    return lambda: name not in serve.status().applications


def chat_request(text: str, max_tokens: int = 24, **extra: object) -> dict:
    request = {
        "messages": [
            {"role": "system", "content": "You are a concise assistant."},
            {"role": "user", "content": text},
        ],
        "max_tokens": max_tokens,
        "temperature": 0.7,
        "seed": 7,
        "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    }
    request.update(extra)
    return request


def assert_well_formed(chunks: list[dict]) -> tuple[str, dict]:
    """Deltas then exactly one done chunk; returns (text, done)."""
    assert chunks, "stream yielded nothing"
    *deltas, done = chunks
    assert all(chunk["type"] == "delta" and isinstance(chunk["text"], str) for chunk in deltas), chunks
    assert done["type"] == "done", done
    assert done["finish_reason"] in ("stop", "length")
    assert done["prompt_tokens"] > 0
    return "".join(chunk["text"] for chunk in deltas), done


@pytest.fixture(scope="module")
def llama_host() -> Iterator[ModelHost]:
    host = ModelHost(RayConfig(), ChatRoleConfig(), app_prefix="test-llama-", start_timeout_s=60)
    with started(host):
        yield host
    host.shutdown()  # idempotent


@pytest.fixture
def make_host(llama_host: ModelHost) -> Iterator[Callable[..., ModelHost]]:
    """Build extra hosts on the llama host's cluster; shut them all down after the test."""
    hosts: list[ModelHost] = []

    def build(
        chat: ChatRoleConfig,
        app_name: str,
        ray_config: RayConfig | None = None,
        start_timeout_s: float = REPLICA_FAIL_S,
    ) -> ModelHost:
        host = ModelHost(ray_config or RayConfig(), chat, app_prefix=f"{app_name}-",
                         start_timeout_s=start_timeout_s)
        hosts.append(host)
        return host

    yield build
    for host in hosts:
        host.shutdown()


def test_llama_streams_deltas_then_done(llama_host: ModelHost) -> None:
    chunks = list(llama_host.stream_chat(chat_request("Name three colors.")))

    text, done = assert_well_formed(chunks)
    assert len(chunks) - 1 >= 2, chunks
    assert text.strip()
    assert 0 < done["completion_tokens"] <= 24
    assert done["model"] == "SmolLM2-135M-Instruct"


WEATHER = {"name": "weather", "description": "The forecast for a city",
           "parameters": {"type": "object", "additionalProperties": False, "required": ["city", "unit"],
                          "properties": {"city": {"type": "string", "maxLength": 40},
                                         "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}}}
CLOCK = {"name": "clock", "description": "The time now", "parameters": {"type": "object", "properties": {}}}


@pytest.mark.parametrize("choice", ["weather", "required"])
def test_llama_calls_a_forced_tool_with_arguments_of_the_schemas_shape(llama_host: ModelHost, choice: str) -> None:
    chunks = list(llama_host.stream_chat(chat_request("Will it rain in Paris tomorrow?", max_tokens=64,
                                                      tools=[WEATHER, CLOCK], tool_choice=choice)))

    assert len(chunks) == 1, chunks  # a call is held back whole, never streamed as text
    done = chunks[0]
    assert done["finish_reason"] == "tool_calls" and len(done["tool_calls"]) == 1, done
    call = done["tool_calls"][0]
    assert call["name"] in {"weather", "clock"} and (choice == "required" or call["name"] == "weather")
    if call["name"] == "weather":
        assert set(call["arguments"]) == {"city", "unit"} and call["arguments"]["unit"] in {"celsius", "fahrenheit"}
    assert done["completion_tokens"] > 0


def test_llama_streams_prose_when_offered_tools_it_does_not_call(llama_host: ModelHost) -> None:
    chunks = list(llama_host.stream_chat(chat_request("Say hello to Ada.", max_tokens=16, tools=[WEATHER])))

    text, done = assert_well_formed(chunks)
    assert text.strip() and not text.lstrip().startswith("{") and "tool_calls" not in done


def test_max_tokens_ends_stream_with_length(llama_host: ModelHost) -> None:
    chunks = list(llama_host.stream_chat(chat_request("Write a long story about a dragon.", max_tokens=5)))

    _, done = assert_well_formed(chunks)
    assert done == {**done, "finish_reason": "length", "completion_tokens": 5}


def test_concurrent_streams_from_threads(llama_host: ModelHost) -> None:
    prompts = ["Say hi.", "Name a fruit.", "Count to three."]

    with ThreadPoolExecutor(max_workers=len(prompts)) as pool:
        futures = [pool.submit(lambda p=p: list(llama_host.stream_chat(chat_request(p)))) for p in prompts]
        results = [future.result(timeout=60) for future in futures]

    for chunks in results:
        text, done = assert_well_formed(chunks)
        assert text.strip() and done["completion_tokens"] > 0


def test_closing_a_stream_early_leaves_host_usable(llama_host: ModelHost) -> None:
    stream = llama_host.stream_chat(chat_request("Write a poem about rain.", max_tokens=64))
    assert next(stream)["type"] == "delta"
    stream.close()  # cancels the Serve request

    _, done = assert_well_formed(list(llama_host.stream_chat(chat_request("Say ok."))))
    assert done["completion_tokens"] > 0


def test_malformed_request_is_rejected_before_ray(llama_host: ModelHost) -> None:
    with pytest.raises(InvalidChatRequestError, match="messages"):
        next(llama_host.stream_chat({"messages": [], "max_tokens": 8, "temperature": 0.5}))


def test_serve_runs_without_http_proxy(llama_host: ModelHost) -> None:
    assert serve.status().proxies == {}


def test_echo_backend_returns_the_users_words(make_host: Callable[..., ModelHost]) -> None:
    host = make_host(ChatRoleConfig(backend="echo", num_cpus=SMALL_CPU), "test-echo")
    host.start()

    chunks = list(host.stream_chat(chat_request("the quick  brown fox")))

    text, done = assert_well_formed(chunks)
    deltas = [chunk["text"] for chunk in chunks[:-1]]
    assert deltas[0] == "the"  # the first word goes at once
    assert len(deltas) < 4  # the words that follow within the coalescing window share a chunk
    assert text == "the quick brown fox"
    assert done == {
        "type": "done",
        "finish_reason": "stop",
        "prompt_tokens": 9,  # 5 system words + 4 user words
        "completion_tokens": 4,
        "model": "echo",
    }


def test_gpu_request_fails_placement_before_deploying(make_host: Callable[..., ModelHost]) -> None:
    host = make_host(ChatRoleConfig(num_gpus=1), "test-gpu")

    began = time.monotonic()
    with pytest.raises(PlacementError) as caught:
        host.start()

    assert time.monotonic() - began < FAST_FAIL_S
    error = caught.value
    assert (error.role, error.resource, error.requested, error.available) == ("chat", "GPU", 1, 0)
    assert str(error).startswith("chat role asks for 1 GPU but the Ray cluster has 0 GPU: ")
    assert "test-gpu-chat" not in serve.status().applications


def test_missing_model_path_fails_fast_on_local_cluster(make_host: Callable[..., ModelHost]) -> None:
    missing = Path("/nonexistent/switchboard/model.gguf")
    host = make_host(ChatRoleConfig(model_path=missing, num_cpus=SMALL_CPU), "test-missing-local")

    began = time.monotonic()
    with pytest.raises(ModelLoadError, match=str(missing)) as caught:
        host.start()

    assert time.monotonic() - began < FAST_FAIL_S
    assert caught.value.path == missing
    assert "test-missing-local-chat" not in serve.status().applications


def test_missing_model_path_fails_in_replica_on_joined_cluster(make_host: Callable[..., ModelHost]) -> None:
    # A joined cluster ("auto") may not share our filesystem, so the host
    # skips its local file check and the replica's own ModelLoadError surfaces.
    missing = Path("/nonexistent/switchboard/replica-model.gguf")
    host = make_host(
        ChatRoleConfig(model_path=missing, num_cpus=SMALL_CPU), "test-missing-replica", RayConfig(address="auto")
    )

    began = time.monotonic()
    with pytest.raises(DeployError, match=str(missing)) as caught:
        host.start()

    assert time.monotonic() - began < REPLICA_FAIL_S
    assert "ModelLoadError" in str(caught.value)
    # A failed start deletes its app without waiting; the deletion completes.
    wait_until(app_gone("test-missing-replica-chat"), 30, "the failed app's deletion")


def test_unschedulable_replica_times_out_with_a_clear_error(make_host: Callable[..., ModelHost]) -> None:
    # Fits the cluster's total (so placement passes) but not what is free
    # beside the llama replica: the replica stays pending until start gives up.
    host = make_host(ChatRoleConfig(backend="echo", num_cpus=2), "test-pending", start_timeout_s=3.0)

    began = time.monotonic()
    with pytest.raises(DeployError, match="not running after 3s") as caught:
        host.start()

    assert time.monotonic() - began < 3.0 + FAST_FAIL_S
    assert "free cluster resources: {'CPU'" in str(caught.value)
    # Serve kills a replica still pending allocation only after its 20 s
    # graceful-shutdown timeout; wait so later tests see a free cluster.
    wait_until(app_gone("test-pending-chat"), 40, "the pending app's deletion")


@pytest.mark.parametrize(
    "error",
    [
        PlacementError("chat", "GPU", 1.0, 0.0),
        ModelLoadError(Path("/models/x.gguf"), "no such file"),
        DeployError("chat", "timed out"),
    ],
)
def test_errors_survive_pickling(error: Exception) -> None:
    # Ray ships replica exceptions to the caller by pickling them.
    copy = pickle.loads(pickle.dumps(error))

    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert vars(copy) == vars(error)


def test_ray_client_address_is_refused_up_front() -> None:
    with pytest.raises(ValueError, match="cannot stream"):
        RayConfig(address="ray://head:10001")
