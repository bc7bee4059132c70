"""`ChatHttp`'s one resend, through the OpenAI driver, against a local server that closes connections on cue.

A pooled keep-alive connection can be closed by the server just as the client reuses it: llama-cpp-python's
server does so after an empty 200 stream, and the next request on that connection fails with "Server
disconnected without sending a response". The server here reproduces that without timing: it reads the
request, then closes the socket unanswered, so the client's pool cannot have seen the close coming.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, Literal

import pytest
from pydantic import SecretStr

from switchboard.core.errors import ModelUnavailable
from switchboard.inference.providers.openai_chat import OpenAIChat
from tests.support.fake_http import FakeHandler, LocalFake, RecordedRequest

MODEL = "fake-chat-1"
TIMEOUT_S = 5.0

# What the server does with the first request on a connection; any later request on it is closed unanswered.
# "empty": a 200 with an empty stream, the connection kept alive (llama-cpp-python's answer to a prompt
# longer than its context); "hello": a whole answer; "drop": closed unanswered; "cut": a 200 and one event,
# then closed mid-stream; "503": an error status; "hold": headers never sent (a timeout).
Answer = Literal["empty", "hello", "drop", "cut", "503", "hold"]


class ClosingServer(LocalFake):
    """Answers each connection's first request as scripted (`drop` when the script is spent)."""

    def __init__(self, *script: Answer) -> None:
        super().__init__(self._serve, "closing-server")
        self.script = list(script)
        self.ports: list[int] = []  # the client port of each request: which connection it came on

    def _serve(self, handler: FakeHandler, request: RecordedRequest) -> None:
        port = handler.client_address[1]
        with self._lock:
            first_on_connection = port not in self.ports
            self.ports.append(port)
            answer = self.script.pop(0) if first_on_connection and self.script else "drop"
        if answer == "hold":
            self._stopping.wait()
        elif answer == "503":
            handler.send_json(503, json.dumps({"error": {"message": "overloaded"}}).encode())
        elif answer in ("empty", "hello", "cut"):
            _send_stream(handler, answer)
        if answer in ("drop", "cut"):
            handler.close_connection = True  # the socket is closed once this returns, without a byte more


def _send_stream(handler: FakeHandler, answer: Answer) -> None:
    def event(delta: dict[str, str], finish: str | None = None) -> bytes:
        data = {"model": MODEL, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return f"data: {json.dumps(data)}\n\n".encode()

    body = b"" if answer == "empty" else event({"content": "hello"})
    if answer == "hello":
        body += event({}, "stop") + b"data: [DONE]\n\n"
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream")
    # A cut stream promises more than it sends, so the client sees it end early.
    handler.send_header("Content-Length", str(len(body) + (1000 if answer == "cut" else 0)))
    handler.end_headers()
    handler.wfile.write(body)
    handler.wfile.flush()


Connect = Callable[..., tuple[ClosingServer, OpenAIChat]]


@pytest.fixture
def connect() -> Iterator[Connect]:
    """`connect(*script, timeout_s=...)`: a started `ClosingServer` and a driver on it, both closed afterwards."""
    stack: list[Callable[[], None]] = []

    def start(*script: Answer, timeout_s: float = TIMEOUT_S) -> tuple[ClosingServer, OpenAIChat]:
        server = ClosingServer(*script).start()
        stack.append(server.stop)
        driver = OpenAIChat(base_url=server.url, model=MODEL, api_key=SecretStr("sk-test"), timeout_s=timeout_s)
        stack.append(driver.close)
        return server, driver

    yield start
    for close in reversed(stack):
        close()


def ask(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}], "max_tokens": 8, "temperature": 0.0}


def test_a_kept_alive_connection_closed_at_reuse_is_sent_again_on_a_new_one(connect: Connect) -> None:
    server, driver = connect("empty", "hello")
    with pytest.raises(ModelUnavailable, match="ended before"):
        list(driver.stream_chat(ask("a prompt too long")))

    *deltas, done = driver.stream_chat(ask("hi"))

    assert [chunk["text"] for chunk in deltas] == ["hello"] and done["finish_reason"] == "stop"
    first, dropped, again = server.ports
    assert dropped == first != again  # the pool reused the kept-alive connection; the second try opened one
    assert server.requests[1].body == server.requests[2].body


def test_a_server_that_always_closes_is_model_unavailable_after_one_more_try(connect: Connect) -> None:
    server, driver = connect()

    with pytest.raises(ModelUnavailable, match=r"unreachable \(RemoteProtocolError\)"):
        list(driver.stream_chat(ask("hi")))

    assert len(server.requests) == 2 and len(set(server.ports)) == 2


def test_a_stream_cut_after_it_began_is_not_sent_again(connect: Connect) -> None:
    server, driver = connect("cut", "hello")
    stream = driver.stream_chat(ask("hi"))

    assert next(stream) == {"type": "delta", "text": "hello"}
    with pytest.raises(ModelUnavailable, match="unreachable"):
        next(stream)
    assert len(server.requests) == 1


def test_an_error_status_is_not_sent_again(connect: Connect) -> None:
    server, driver = connect("503", "hello")

    with pytest.raises(ModelUnavailable, match=r"busy or failing \(503\)"):
        list(driver.stream_chat(ask("hi")))
    assert len(server.requests) == 1


def test_a_timeout_is_not_sent_again(connect: Connect) -> None:
    server, driver = connect("hold", "hello", timeout_s=0.3)

    with pytest.raises(ModelUnavailable, match="did not answer"):
        list(driver.stream_chat(ask("hi")))
    assert len(server.requests) == 1  # the held request lets go when the server stops
