"""The chat role on a hosted OpenAI-compatible API: a real Celery worker on a real Redis, a local fake of the API.

No Ray: `chat_backend="openai"` makes the bridge stream from the provider driver in its worker thread.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
import redis
from celery import Celery
from pydantic import SecretStr

from switchboard.core import keys
from switchboard.core.errors import InferenceError
from switchboard.core.metrics import Metrics
from switchboard.core.wire import (
    ChatMessage,
    InferenceRequest,
    InferenceResult,
    ModelToolCall,
    ReplyDelta,
    ToolSpec,
)
from switchboard.inference.bridge import InferenceBridge
from switchboard.inference.chat_models import build_chat_models
from switchboard.inference.providers.openai_chat import OpenAIChat
from switchboard.inference.settings import InferenceSettings
from tests.conftest import wait_until
from tests.support.echo_chat import EchoChat
from tests.support.fake_chat_api import FakeChatApi
from tests.support.steps import STEP_WAIT_S, journaled, new_activation_id, run_step, send_step, start_inference_worker

API_KEY = "sk-chat-test-0123456789-do-not-leak"
MODEL = "fake-chat-1"

SEARCH = ToolSpec(name="web_search", description="Search the web.",
                  parameters={"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]})
NOW = ToolSpec(name="now", description="The current time.", parameters={"type": "object", "properties": {}})


@pytest.fixture
def fake_api() -> Iterator[FakeChatApi]:
    with FakeChatApi(model=MODEL) as api:
        yield api


@pytest.fixture
def inference(redis_url: str, fake_api: FakeChatApi) -> Iterator[Callable[..., Celery]]:
    """Start a real inference worker whose chat role is the driver `InferenceSettings(**overrides)` builds."""
    with ExitStack() as stack:
        def start(**overrides: Any) -> Celery:
            settings = InferenceSettings(**{
                "redis_url": redis_url, "chat_backend": "openai", "chat_base_url": fake_api.url,
                "chat_model_name": MODEL, "chat_api_key": API_KEY, "live_interval_s": 0, **overrides})
            chat = build_chat_models(settings, None)
            stack.callback(chat.close)
            client = redis.Redis.from_url(redis_url, decode_responses=True)
            metrics = Metrics()
            bridge = InferenceBridge(chat, client, metrics, settings.live_interval_s, settings.trace_content)
            return start_inference_worker(stack, settings, bridge, client, metrics, "test-inference-chat")

        yield start


def user(text: str, **extra: Any) -> InferenceRequest:
    return InferenceRequest(messages=(ChatMessage(role="user", content=text),), **extra)


def test_a_streamed_answer_is_journaled_and_its_deltas_published(
        inference: Callable[..., Celery], fake_api: FakeChatApi, redis_url: str) -> None:
    app = inference()
    fake_api.script(text="The quick brown fox jumps over the lazy dog")
    activation_id = new_activation_id()
    pubsub = redis.Redis.from_url(redis_url, decode_responses=True).pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(keys.live(activation_id))

    step = send_step(app, user("tell me about foxes", stream_to=activation_id, max_tokens=64, seed=3), activation_id)
    result = journaled(redis_url, step)

    assert result.error is None, result.error
    output = result.output
    assert isinstance(output, InferenceResult)
    assert output.text == "The quick brown fox jumps over the lazy dog"
    assert (output.model, output.finish_reason, output.tool_calls) == (MODEL, "stop", ())
    assert (output.prompt_tokens, output.completion_tokens) == (4, 9)
    assert output.time_to_first_token_s is not None
    deltas: list[ReplyDelta] = []

    def all_deltas_read() -> bool:
        while message := pubsub.get_message(timeout=0.05):
            deltas.append(ReplyDelta.from_json(message["data"]))
        return bool(deltas) and deltas[-1].text == output.text

    wait_until(all_deltas_read, STEP_WAIT_S, "the last delta")
    pubsub.close()
    assert len(deltas) > 2 and [d.seq for d in deltas] == sorted(d.seq for d in deltas)
    assert all(output.text.startswith(d.text) for d in deltas)  # cumulative
    [sent] = fake_api.requests
    assert (sent.method, sent.path, sent.headers["authorization"]) == ("POST", "/v1/chat/completions",
                                                                       f"Bearer {API_KEY}")
    assert sent.body == {"model": MODEL, "messages": [{"role": "user", "content": "tell me about foxes"}],
                         "max_tokens": 64, "temperature": 0.7, "seed": 3, "stream": True,
                         "stream_options": {"include_usage": True}}


def test_tool_calls_come_back_parsed_and_the_tools_were_offered(
        inference: Callable[..., Celery], fake_api: FakeChatApi, redis_url: str) -> None:
    app = inference()
    fake_api.script(tool_calls=[{"name": "web_search", "arguments": {"query": "weather in Paris", "n": 2}},
                                {"name": "now", "arguments": {}}])

    result = run_step(app, redis_url, step="model:0", payload=user("weather?", tools=(SEARCH, NOW)))

    assert result.error is None, result.error
    output = result.output
    assert isinstance(output, InferenceResult)
    assert (output.text, output.finish_reason) == ("", "tool_calls")
    assert output.tool_calls == (
        ModelToolCall(id="call_0", name="web_search", arguments={"query": "weather in Paris", "n": 2}),
        ModelToolCall(id="call_1", name="now", arguments={}))
    [sent] = fake_api.requests
    assert sent.body["tools"] == [
        {"type": "function", "function": {"name": "web_search", "description": "Search the web.",
                                          "parameters": SEARCH.parameters}},
        {"type": "function", "function": {"name": "now", "description": "The current time.",
                                          "parameters": NOW.parameters}}]
    assert "seed" not in sent.body


def test_malformed_tool_arguments_are_kept_for_the_planner(
        inference: Callable[..., Celery], fake_api: FakeChatApi, redis_url: str) -> None:
    app = inference()
    fake_api.script(tool_calls=[{"name": "web_search", "arguments": '{"query": "unterminated'}])

    result = run_step(app, redis_url, step="model:0", payload=user("search", tools=(SEARCH,)))

    assert isinstance(result.output, InferenceResult)
    assert result.output.tool_calls == (
        ModelToolCall(id="call_0", name="web_search", arguments={"_unparsed": '{"query": "unterminated'}),)


def test_a_follow_up_sends_tool_calls_and_results_in_openai_format(
        inference: Callable[..., Celery], fake_api: FakeChatApi, redis_url: str) -> None:
    app = inference()
    fake_api.script(text="It is sunny in Paris.")
    asked = (ModelToolCall(id="call_0", name="web_search", arguments={"query": "weather in Paris"}),
             ModelToolCall(id="call_1", name="now"))
    request = InferenceRequest(tools=(SEARCH, NOW), messages=(
        ChatMessage(role="system", content="Be brief."),
        ChatMessage(role="user", content="weather?"),
        ChatMessage(role="assistant", content="", tool_calls=asked),
        ChatMessage(role="tool", content="sunny, 24 C", tool_call_id="call_0"),
        ChatMessage(role="tool", content="12:00", tool_call_id="call_1")))

    result = run_step(app, redis_url, step="model:0", payload=request)

    assert isinstance(result.output, InferenceResult) and result.output.text == "It is sunny in Paris."
    [sent] = fake_api.requests
    assert sent.body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_0", "type": "function",
             "function": {"name": "web_search", "arguments": '{"query": "weather in Paris"}'}},
            {"id": "call_1", "type": "function", "function": {"name": "now", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_0", "content": "sunny, 24 C"},
        {"role": "tool", "tool_call_id": "call_1", "content": "12:00"}]


@pytest.mark.parametrize("status", [429, 500, 503])
def test_a_busy_or_failing_provider_is_model_unavailable(
        inference: Callable[..., Celery], fake_api: FakeChatApi, redis_url: str, status: int) -> None:
    app = inference()
    fake_api.fail_next(status, {"error": {"message": "the servers are on fire"}})

    result = run_step(app, redis_url, step="model:0", payload=user("hello"))

    assert result.error is not None
    assert (result.error.code, result.error.retryable) == ("model_unavailable", True)
    assert str(status) in result.error.message and "on fire" in result.error.message


def test_a_refused_request_carries_the_providers_message(
        inference: Callable[..., Celery], fake_api: FakeChatApi, redis_url: str) -> None:
    app = inference()
    refusal = "Invalid schema for function 'web_search': 'object' is not valid"
    fake_api.fail_next(400, {"error": {"message": refusal, "type": "invalid_request_error"}})

    result = run_step(app, redis_url, step="model:0", payload=user("hello", tools=(SEARCH,)))

    assert result.error is not None
    assert (result.error.code, result.error.retryable) == ("inference_failed", False)
    assert refusal in result.error.message


def test_an_unreachable_provider_is_model_unavailable(redis_url: str, inference: Callable[..., Celery]) -> None:
    with socket.socket() as unused:  # a port that was free a moment ago: nothing listens there
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    app = inference(chat_base_url=f"http://127.0.0.1:{port}/v1")

    result = run_step(app, redis_url, step="model:0", payload=user("hello"))

    assert result.error is not None and (result.error.code, result.error.retryable) == ("model_unavailable", True)
    assert "unreachable" in result.error.message


def test_the_api_key_never_reaches_logs_or_the_journal(
        inference: Callable[..., Celery], fake_api: FakeChatApi, redis_url: str,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    app = inference(trace_content=True)
    fake_api.fail_next(401, {"error": {"message": f"Incorrect API key provided: {API_KEY}."}})
    fake_api.fail_next(400, {"error": {"message": f"bad request from key {API_KEY}"}})

    results = [run_step(app, redis_url, step="model:0", payload=user("hello")) for _ in range(3)]

    assert [r.error.code if r.error else "ok" for r in results] == ["inference_failed", "inference_failed", "ok"]
    assert all(API_KEY not in r.to_json() for r in results)
    assert "***" in results[1].error.message  # type: ignore[union-attr]
    assert caplog.records and API_KEY not in caplog.text
    assert all(API_KEY not in str(record.args) for record in caplog.records)
    assert API_KEY not in repr(InferenceSettings(chat_backend="openai", chat_api_key=API_KEY))


def test_closing_a_stream_early_closes_the_http_response(fake_api: FakeChatApi) -> None:
    driver = OpenAIChat(base_url=fake_api.url, model=MODEL, api_key=SecretStr(API_KEY), timeout_s=10)
    fake_api.script(text="a long answer that never ends", hold=True)
    stream = driver.stream_chat({"messages": [{"role": "user", "content": "go"}], "max_tokens": 8,
                                 "temperature": 0.5})

    assert next(stream) == {"type": "delta", "text": "a"}
    stream.close()  # what the bridge's `closing()` does when the activation is superseded

    wait_until(fake_api.client_left.is_set, STEP_WAIT_S, "the provider to see the client hang up")
    driver.close()


@pytest.mark.parametrize(("choice", "sent"), [
    ("auto", "auto"), ("none", "none"), ("required", "required"), ("any", "required"),
    ("web_search", {"type": "function", "function": {"name": "web_search"}})])
def test_tool_choice_is_sent_in_openai_format_and_only_with_tools(
        fake_api: FakeChatApi, choice: str, sent: str | dict[str, Any]) -> None:
    driver = OpenAIChat(base_url=fake_api.url, model=MODEL, api_key=SecretStr(API_KEY), timeout_s=10)
    search = SEARCH.model_dump(include={"name", "description", "parameters"})
    request = {"messages": [{"role": "user", "content": "search"}], "max_tokens": 8, "temperature": 0.5,
               "tool_choice": choice}

    list(driver.stream_chat({**request, "tools": [search]}))
    list(driver.stream_chat(request))  # OpenAI refuses a tool_choice without tools

    with_tools, without = fake_api.requests
    assert with_tools.body["tool_choice"] == sent
    assert "tool_choice" not in without.body and "tools" not in without.body
    with pytest.raises(InferenceError, match="names no tool"):
        list(driver.stream_chat({**request, "tool_choice": "fetch", "tools": [search]}))
    assert len(fake_api.requests) == 2  # refused before anything was sent
    driver.close()


def test_the_ray_backends_build_no_chat_driver_and_the_timeout_ends_before_the_task() -> None:
    ray_host = EchoChat()
    entry, model = build_chat_models(InferenceSettings(chat_backend="echo"), ray_host).pick(user("hi"))
    assert model is ray_host and entry.local and entry.lane == "local:chat"
    with pytest.raises(ValueError, match="chat_timeout_s"):
        InferenceSettings(chat_backend="openai", chat_timeout_s=120, task_time_limit_s=120)
