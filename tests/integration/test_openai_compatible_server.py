"""The OpenAI chat driver against a real OpenAI-compatible server: llama-cpp-python's own, serving SmolLM2.

The fake in `tests/support/fake_chat_api.py` streams what OpenAI documents; this server streams what it
actually does, which differs (all observed with llama-cpp-python 0.3.36):

- it ignores `stream_options.include_usage`: no usage event, so the done chunk counts 0 tokens;
- its `chatml-function-calling` format answers with text, tools unseen, when no `tool_choice` is sent; it
  streams a tool call only when `tool_choice` names the tool (then the arguments follow the tool's schema);
  an "auto" choice that lands on a tool, like "required", fails after the 200 was sent: an empty stream;
- a tool call's fragments all carry `index` 0 with its id and name repeated, beside a legacy `function_call`;
- a request its schema refuses is a 500, and a prompt longer than the context an empty 200 stream, so the
  driver can only call both `ModelUnavailable`; after that empty stream the server closes the kept-alive
  connection, so a request that the pool sends on it at once finds it closed ("Server disconnected without
  sending a response"): `ChatHttp` sends such a request once more, on a new connection;
- a model name it does not know is served by its one model, under the name asked for.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from switchboard.core.errors import ModelUnavailable
from switchboard.inference.deployments.weights import packaged_model_path
from switchboard.inference.providers.openai_chat import OpenAIChat
from tests.conftest import wait_until

pytestmark = pytest.mark.timeout(180)

MODEL = "smollm2"  # the server's alias for the packaged GGUF
START_WAIT_S = 60.0
STOP_WAIT_S = 10.0
WEATHER = {"name": "get_weather", "description": "The current weather in a city.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                          "additionalProperties": False}}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answers(url: str, process: subprocess.Popen[bytes], log: Path) -> bool:
    if process.poll() is not None:
        pytest.fail(f"llama_cpp.server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
    try:
        return httpx.get(f"{url}/models", timeout=1.0).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`http://127.0.0.1:<port>/v1` of a llama_cpp.server process, stopped (killed if need be) afterwards."""
    port = _free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(packaged_model_path()),
               "--model_alias", MODEL, "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048",
               "--n_threads", "1", "--chat_format", "chatml-function-calling", "--verbose", "false"]
    url = f"http://127.0.0.1:{port}/v1"
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: _answers(url, process, log), START_WAIT_S, "llama_cpp.server to answer", 0.2)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def driver(server_url: str) -> Iterator[OpenAIChat]:
    chat = OpenAIChat(base_url=server_url, model=MODEL, api_key=SecretStr("sk-local-unchecked"), timeout_s=30)
    yield chat
    chat.close()


def ask(text: str, max_tokens: int, **extra: Any) -> dict[str, Any]:
    """A protocol request; temperature 0 makes the tiny model's answers repeatable."""
    return {"messages": [{"role": "user", "content": text}], "max_tokens": max_tokens, "temperature": 0.0,
            "seed": 7, **extra}


def test_a_streamed_answer_arrives_in_deltas_then_one_done_chunk(driver: OpenAIChat) -> None:
    *deltas, done = driver.stream_chat(ask("Name three colors.", max_tokens=24))

    assert len(deltas) >= 3 and all(chunk["type"] == "delta" for chunk in deltas)
    assert "".join(chunk["text"] for chunk in deltas).strip()
    assert done["type"] == "done" and done["finish_reason"] in ("stop", "length")
    assert done["model"] == MODEL
    assert (done["prompt_tokens"], done["completion_tokens"]) == (0, 0)  # it sends no usage (module docstring)
    assert "tool_calls" not in done


def test_a_tool_named_in_tool_choice_comes_back_as_a_structured_call(driver: OpenAIChat) -> None:
    chunks = list(driver.stream_chat(ask("What is the weather in Paris?", max_tokens=64,
                                         tools=[WEATHER], tool_choice="get_weather")))

    assert [chunk["type"] for chunk in chunks] == ["done"]  # no text beside the call
    [done] = chunks
    assert (done["finish_reason"], done["model"]) == ("tool_calls", MODEL)
    [call] = done["tool_calls"]
    assert call["name"] == "get_weather" and call["id"].startswith("call_")
    assert isinstance(call["arguments"], dict) and list(call["arguments"]) == ["city"]
    assert isinstance(call["arguments"]["city"], str) and call["arguments"]["city"]


def test_closing_a_stream_early_stops_generation_and_the_server_serves_the_next(driver: OpenAIChat) -> None:
    # Unread, this answer would run 1500 tokens (about 25 s on one thread): the next answer's quick
    # arrival shows the server stopped generating when the response was closed.
    stream = driver.stream_chat(ask("Write a long story about a dragon.", max_tokens=1500))
    assert next(stream)["type"] == "delta"

    started = time.monotonic()
    stream.close()
    assert time.monotonic() - started < 2.0

    *deltas, done = driver.stream_chat(ask("Say hello.", max_tokens=16))
    assert deltas and done["finish_reason"] in ("stop", "length")
    assert time.monotonic() - started < 10.0


@pytest.mark.parametrize(("request_", "message"), [
    (ask("word " * 3000, max_tokens=16), r"ended before the answer was finished"),  # beyond n_ctx 2048
    ({**ask("hi", max_tokens=8), "messages": [{"role": "narrator", "content": "hi"}]},
     r"busy or failing \(500\): \d+ validation errors"),
], ids=["prompt-beyond-context", "role-the-schema-refuses"])
def test_a_request_the_server_cannot_serve_is_a_typed_error_and_the_server_lives_on(
        driver: OpenAIChat, request_: dict[str, Any], message: str) -> None:
    with pytest.raises(ModelUnavailable, match=message):
        list(driver.stream_chat(request_))

    # The same driver: the connection the server closed after the empty stream is the one its pool reuses.
    *_, done = driver.stream_chat(ask("Say hello.", max_tokens=8))
    assert done["type"] == "done"
