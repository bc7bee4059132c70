"""The Anthropic and Gemini chat drivers against local fakes of their APIs, over real HTTP.

Each fake replays its provider's documented streaming format and refuses what the provider refuses (see
`tests/support/fake_anthropic_api.py` and `fake_gemini_api.py`), so a request that the driver maps wrongly
fails here as it would in production. The drivers are driven directly, as the bridge drives them.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import SecretStr

from switchboard.core.errors import InferenceError, ModelUnavailable
from switchboard.inference.providers.anthropic_chat import AnthropicChat
from switchboard.inference.providers.gemini_chat import GeminiChat
from switchboard.inference.providers.gemini_request import SKIPPED_SIGNATURE
from tests.conftest import wait_until
from tests.support.fake_anthropic_api import FakeAnthropicApi, anthropic_error
from tests.support.fake_gemini_api import FakeGeminiApi, gemini_error

API_KEY = "sk-cloud-test-0123456789-do-not-leak"
ANTHROPIC_MODEL = "claude-fake-1"
GEMINI_MODEL = "gemini-fake-1"
WAIT_S = 10.0

SEARCH = {"name": "web_search", "description": "Search the web.",
          "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"],
                         "additionalProperties": False}}
NOW = {"name": "now", "description": "The current time.",
       "parameters": {"type": "object", "properties": {}, "additionalProperties": False}}

Driver = AnthropicChat | GeminiChat
Fake = FakeAnthropicApi | FakeGeminiApi


@dataclass
class Cloud:
    """One provider under test: its fake, a driver on it, and how its errors look."""

    name: str
    fake: Fake
    driver: Driver
    connect: Callable[..., Driver]  # another driver: `connect(api_key=..., base_url=..., timeout_s=...)`
    error: Callable[[int, str], dict[str, Any]]  # the provider's error body for a status and message


def ask(text: str, **extra: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}], "max_tokens": 64, "temperature": 0.5, **extra}


def answer(driver: Driver, request: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """The delta texts and the done chunk of one streamed answer."""
    chunks = list(driver.stream_chat(request))
    assert [chunk["type"] for chunk in chunks] == ["delta"] * (len(chunks) - 1) + ["done"]
    return [chunk["text"] for chunk in chunks[:-1]], chunks[-1]


def _anthropic(stack: list[Callable[[], None]]) -> Cloud:
    fake = FakeAnthropicApi(model=ANTHROPIC_MODEL, api_key=API_KEY).start()
    stack.append(fake.stop)

    def connect(api_key: str | None = API_KEY, base_url: str = fake.url, timeout_s: float = 5.0) -> Driver:
        driver = AnthropicChat(base_url, ANTHROPIC_MODEL, SecretStr(api_key) if api_key else None, timeout_s)
        stack.append(driver.close)
        return driver

    kinds = {400: "invalid_request_error", 429: "rate_limit_error", 503: "api_error", 529: "overloaded_error"}
    return Cloud("anthropic", fake, connect(), connect,
                 lambda status, message: anthropic_error(kinds.get(status, "api_error"), message))


def _gemini(stack: list[Callable[[], None]]) -> Cloud:
    fake = FakeGeminiApi(api_key=API_KEY).start()
    stack.append(fake.stop)

    def connect(api_key: str | None = API_KEY, base_url: str = fake.url, timeout_s: float = 5.0) -> Driver:
        driver = GeminiChat(base_url, GEMINI_MODEL, SecretStr(api_key) if api_key else None, timeout_s)
        stack.append(driver.close)
        return driver

    return Cloud("gemini", fake, connect(), connect, gemini_error)


@pytest.fixture(params=["anthropic", "gemini"])
def cloud(request: pytest.FixtureRequest) -> Iterator[Cloud]:
    stack: list[Callable[[], None]] = []
    try:
        yield (_anthropic if request.param == "anthropic" else _gemini)(stack)
    finally:
        for undo in reversed(stack):
            undo()


@pytest.fixture
def anthropic() -> Iterator[Cloud]:
    stack: list[Callable[[], None]] = []
    try:
        yield _anthropic(stack)
    finally:
        for undo in reversed(stack):
            undo()


@pytest.fixture
def gemini() -> Iterator[Cloud]:
    stack: list[Callable[[], None]] = []
    try:
        yield _gemini(stack)
    finally:
        for undo in reversed(stack):
            undo()


def test_streamed_text_arrives_as_several_deltas(cloud: Cloud) -> None:
    cloud.fake.script(text="The quick brown fox jumps over the lazy dog")

    deltas, done = answer(cloud.driver, ask("tell me about foxes"))

    assert len(deltas) > 2 and "".join(deltas) == "The quick brown fox jumps over the lazy dog"
    model = ANTHROPIC_MODEL if cloud.name == "anthropic" else GEMINI_MODEL
    assert done == {"type": "done", "finish_reason": "stop", "model": model, "prompt_tokens": 4,
                    "completion_tokens": 9}


def test_anthropic_request_format(anthropic: Cloud) -> None:
    answer(anthropic.driver, {**ask("hello"), "seed": 3, "messages": [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello"}]})

    [sent] = anthropic.fake.requests
    assert (sent.method, sent.path) == ("POST", "/v1/messages")
    assert (sent.headers["x-api-key"], sent.headers["anthropic-version"]) == (API_KEY, "2023-06-01")
    assert sent.headers["content-type"] == "application/json"
    assert sent.body == {"model": ANTHROPIC_MODEL, "max_tokens": 64, "temperature": 0.5, "stream": True,
                         "system": "Be brief.", "messages": [{"role": "user", "content": [{"type": "text",
                                                                                            "text": "hello"}]}]}


def test_gemini_request_format(gemini: Cloud) -> None:
    answer(gemini.driver, {**ask("hello"), "seed": 3, "messages": [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello"}]})

    [sent] = gemini.fake.requests
    assert (sent.method, sent.path) == ("POST", f"/v1beta/models/{GEMINI_MODEL}:streamGenerateContent?alt=sse")
    assert sent.headers["x-goog-api-key"] == API_KEY
    assert API_KEY not in sent.path
    assert sent.body == {"systemInstruction": {"parts": [{"text": "Be brief."}]},
                         "contents": [{"role": "user", "parts": [{"text": "hello"}]}],
                         "generationConfig": {"maxOutputTokens": 64, "temperature": 0.5, "seed": 3}}


def test_anthropic_tool_call_round_trip(anthropic: Cloud) -> None:
    anthropic.fake.script(tool_calls=[{"name": "web_search", "arguments": {"query": "weather in Paris"}},
                                      {"name": "now", "arguments": {}}])
    anthropic.fake.script(text="It is sunny in Paris.")
    request = {**ask("weather?"), "tools": [SEARCH, NOW]}

    deltas, done = answer(anthropic.driver, request)

    assert (deltas, done["finish_reason"]) == ([], "tool_calls")
    assert done["tool_calls"] == [
        {"id": "toolu_fake0", "name": "web_search", "arguments": {"query": "weather in Paris"}},
        {"id": "toolu_fake1", "name": "now", "arguments": {}}]
    assert anthropic.fake.requests[0].body["tools"] == [
        {"name": "web_search", "description": "Search the web.", "input_schema": SEARCH["parameters"]},
        {"name": "now", "description": "The current time.", "input_schema": NOW["parameters"]}]

    follow_up = {**request, "messages": [
        *request["messages"], {"role": "assistant", "content": "", "tool_calls": done["tool_calls"]},
        {"role": "tool", "content": "sunny, 24 C", "tool_call_id": "toolu_fake0"},
        {"role": "tool", "content": "12:00", "tool_call_id": "toolu_fake1"}]}
    deltas, done = answer(anthropic.driver, follow_up)

    assert "".join(deltas) == "It is sunny in Paris." and done["finish_reason"] == "stop"
    assert anthropic.fake.requests[1].body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "weather?"}]},
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": "toolu_fake0", "name": "web_search", "input": {"query": "weather in Paris"}},
            {"type": "tool_use", "id": "toolu_fake1", "name": "now", "input": {}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_fake0", "content": "sunny, 24 C"},
            {"type": "tool_result", "tool_use_id": "toolu_fake1", "content": "12:00"}]}]


def test_gemini_tool_call_round_trip(gemini: Cloud) -> None:
    gemini.fake.script(tool_calls=[{"name": "web_search", "arguments": {"query": "weather in Paris"}},
                                   {"name": "now", "arguments": {}}])
    gemini.fake.script(text="It is sunny in Paris.")
    request = {**ask("weather?"), "tools": [SEARCH, NOW]}

    deltas, done = answer(gemini.driver, request)

    assert (deltas, done["finish_reason"]) == ([], "tool_calls")
    assert done["tool_calls"] == [
        {"id": "call_0", "name": "web_search", "arguments": {"query": "weather in Paris"}},
        {"id": "call_1", "name": "now", "arguments": {}}]
    assert gemini.fake.requests[0].body["tools"] == [{"functionDeclarations": [
        {"name": "web_search", "description": "Search the web.", "parametersJsonSchema": SEARCH["parameters"]},
        {"name": "now", "description": "The current time.", "parametersJsonSchema": NOW["parameters"]}]}]

    follow_up = {**request, "messages": [
        *request["messages"], {"role": "assistant", "content": "", "tool_calls": done["tool_calls"]},
        {"role": "tool", "content": "sunny, 24 C", "tool_call_id": "call_0"},
        {"role": "tool", "content": "12:00", "tool_call_id": "call_1"}]}
    deltas, done = answer(gemini.driver, follow_up)

    assert "".join(deltas) == "It is sunny in Paris." and done["finish_reason"] == "stop"
    assert gemini.fake.requests[1].body["contents"] == [
        {"role": "user", "parts": [{"text": "weather?"}]},
        {"role": "model", "parts": [
            {"functionCall": {"name": "web_search", "args": {"query": "weather in Paris"}},
             "thoughtSignature": SKIPPED_SIGNATURE},
            {"functionCall": {"name": "now", "args": {}}}]},
        {"role": "user", "parts": [
            {"functionResponse": {"name": "web_search", "response": {"output": "sunny, 24 C"}}},
            {"functionResponse": {"name": "now", "response": {"output": "12:00"}}}]}]


def test_malformed_tool_arguments_are_kept_for_the_planner(anthropic: Cloud) -> None:
    anthropic.fake.script(tool_calls=[{"name": "web_search", "arguments": '{"query": "unterminated'}])

    _, done = answer(anthropic.driver, ask("search", tools=[SEARCH]))

    assert done["tool_calls"][0]["arguments"] == {"_unparsed": '{"query": "unterminated'}


@pytest.mark.parametrize("status", [429, 500, 503])
def test_a_busy_or_failing_provider_is_model_unavailable(cloud: Cloud, status: int) -> None:
    cloud.fake.fail_next(status, cloud.error(status, "the servers are on fire"))

    with pytest.raises(ModelUnavailable) as raised:
        list(cloud.driver.stream_chat(ask("hello")))

    assert str(status) in raised.value.message and "on fire" in raised.value.message


def test_anthropics_overloaded_status_is_model_unavailable(anthropic: Cloud) -> None:
    anthropic.fake.fail_next(529, anthropic.error(529, "Overloaded"))

    with pytest.raises(ModelUnavailable, match="529"):
        list(anthropic.driver.stream_chat(ask("hello")))


def test_a_refused_request_carries_the_providers_message(cloud: Cloud) -> None:
    refusal = "tools.0.input_schema: JSON schema is invalid"
    cloud.fake.fail_next(400, cloud.error(400, refusal))

    with pytest.raises(InferenceError) as raised:
        list(cloud.driver.stream_chat(ask("hello", tools=[SEARCH])))

    assert type(raised.value) is InferenceError and not raised.value.retryable
    assert refusal in raised.value.message and "400" in raised.value.message


def test_a_wrong_key_is_refused_without_the_key_in_the_error(cloud: Cloud) -> None:
    wrong = "sk-wrong-9876543210-do-not-leak"

    for driver in (cloud.connect(api_key=wrong), cloud.connect(api_key=None)):
        with pytest.raises(InferenceError) as raised:
            list(driver.stream_chat(ask("hello")))
        assert type(raised.value) is InferenceError
        assert wrong not in str(raised.value) and API_KEY not in str(raised.value)
        assert "key" in str(raised.value).lower()
    key_header = "x-api-key" if cloud.name == "anthropic" else "x-goog-api-key"
    assert [request.headers.get(key_header) for request in cloud.fake.requests] == [wrong, None]


def test_a_provider_echoing_the_key_has_it_scrubbed(cloud: Cloud) -> None:
    cloud.fake.fail_next(400, cloud.error(400, f"bad request from key {API_KEY}"))

    with pytest.raises(InferenceError) as refused:
        list(cloud.driver.stream_chat(ask("hello")))

    assert API_KEY not in refused.value.message and "***" in refused.value.message


def test_an_error_mid_answer_is_model_unavailable(cloud: Cloud) -> None:
    cloud.fake.script(text="a long answer cut short", error=503 if cloud.name == "gemini" else "overloaded_error")
    stream = cloud.driver.stream_chat(ask("hello"))

    assert next(stream) == {"type": "delta", "text": "a"}
    with pytest.raises(ModelUnavailable, match="mid-answer"):
        next(stream)


def test_a_stream_that_ends_before_the_finish_is_model_unavailable(cloud: Cloud) -> None:
    cloud.fake.script(text="a long answer cut short", cut=True)

    with pytest.raises(ModelUnavailable, match="ended before"):
        list(cloud.driver.stream_chat(ask("hello")))


def test_an_unreachable_provider_is_model_unavailable(cloud: Cloud) -> None:
    with socket.socket() as unused:  # a port that was free a moment ago: nothing listens there
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    driver = cloud.connect(base_url=f"http://127.0.0.1:{port}")

    with pytest.raises(ModelUnavailable, match="unreachable"):
        list(driver.stream_chat(ask("hello")))


def test_a_provider_that_does_not_answer_is_model_unavailable(cloud: Cloud) -> None:
    with socket.socket() as silent:  # accepts connections (the kernel's backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        driver = cloud.connect(base_url=f"http://127.0.0.1:{silent.getsockname()[1]}", timeout_s=0.3)

        with pytest.raises(ModelUnavailable, match=r"did not answer within 0\.3 s"):
            list(driver.stream_chat(ask("hello")))


def test_closing_a_stream_early_closes_the_http_response(cloud: Cloud) -> None:
    cloud.fake.script(text="a long answer that never ends", hold=True)
    stream = cloud.driver.stream_chat(ask("go"))

    assert next(stream) == {"type": "delta", "text": "a"}
    stream.close()  # what the bridge's `closing()` does when the activation is superseded

    wait_until(cloud.fake.client_left.is_set, WAIT_S, "the provider to see the client hang up")


def test_a_base_url_with_the_api_version_is_not_doubled(cloud: Cloud) -> None:
    suffix = "/v1" if cloud.name == "anthropic" else "/v1beta"
    cloud.fake.script(text="hi")

    _, done = answer(cloud.connect(base_url=cloud.fake.url + suffix + "/"), ask("hello"))

    assert done["finish_reason"] == "stop"


@pytest.mark.parametrize(("finish", "finish_reason"), [("MAX_TOKENS", "length"), ("SAFETY", "content_filter")])
def test_gemini_finish_reasons(gemini: Cloud, finish: str, finish_reason: str) -> None:
    gemini.fake.script(text="partial answer", finish_reason=finish)

    _, done = answer(gemini.driver, ask("hello"))

    assert done["finish_reason"] == finish_reason
