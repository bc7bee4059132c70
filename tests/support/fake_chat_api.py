"""A local fake of the OpenAI Chat Completions API: a real HTTP server on 127.0.0.1 (ephemeral port, own thread).

    with FakeChatApi() as api:
        settings = InferenceSettings(chat_backend="openai", chat_base_url=api.url, ...)
        api.script(text="Hello there")                                           # the next answer
        api.script(tool_calls=[{"name": "web_search", "arguments": {"q": "x"}}])  # the one after
        api.fail_next(503, {"error": {"message": "overloaded"}})                  # a failure, queued the same way
        api.requests[0].body["messages"]  # what the driver sent (parsed JSON; headers lower-cased)

`POST /v1/chat/completions` with `"stream": true` answers in the real server-sent-events format: a first
event with the assistant role, the text in several content events, tool-call arguments split across
events (id and name in the first fragment of each call), a last choice event with `finish_reason` ("stop"
or "tool_calls"), a usage event when `stream_options.include_usage` asks for it, then `data: [DONE]`.
With nothing scripted it echoes the last user message. Token counts are word counts of the text (+1 per
tool call). Any other path is a 404.

A user message's content may be a list of parts, as the API documents: `{"type": "text", "text"}` and
`{"type": "image_url", "image_url": {"url": "data:<media type>;base64,<data>", "detail"?}}`. Like the API it
answers 400 `invalid_request_error` for an image part on another role's message, an unknown part type, a
URL that is not a base64 data URL of an image type (this fake fetches nothing, so an `https:` URL is refused
too), data that is not base64, or bytes that are no PNG, JPEG, WebP or GIF image. Accepted images are kept
in order in `.images` (`ReceivedImage`: the declared type and the decoded bytes).
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from dataclasses import dataclass
from typing import Any

from tests.support.fake_http import Failure, FakeHandler, LocalFake, QueuedAnswers, RecordedRequest
from tests.support.image_inputs import ReceivedImage, decode_base64, sniffed_type

COMPLETIONS_PATH = "/v1/chat/completions"
MODEL = "fake-chat-1"
DATA_URL = re.compile(r"^data:(?P<media_type>[^;,]+);base64,(?P<data>.*)$", re.DOTALL)
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "image/gif"})


@dataclass(frozen=True)
class _Script:
    text: str
    tool_calls: tuple[dict[str, Any], ...]
    hold: bool = False
    drip: bool = False


class FakeChatApi(QueuedAnswers, LocalFake):
    """The fake server. Start and stop it with `with`, or `start()` / `stop()`; `url` is what
    `SWITCHBOARD_CHAT_BASE_URL` takes."""

    def __init__(self, model: str = MODEL) -> None:
        super().__init__(self._serve, "fake-chat-api")
        self.model = model
        self.client_left = threading.Event()
        self.images: list[ReceivedImage] = []
        self._queued: list[_Script | Failure] = []

    def script(self, text: str = "", tool_calls: list[dict[str, Any]] | None = None, hold: bool = False,
               drip: bool = False) -> None:
        """Queue the next answer: `text`, and/or `tool_calls` as `[{"name", "arguments": dict | str}]`.

        A string `arguments` is sent as is (to fake a model writing broken JSON). Call ids are `call_<n>`.
        `hold=True` sends the first event, then keep-alive comments until the client hangs up, which sets
        `.client_left` (how a test sees that closing a stream early closed the HTTP response). With
        `drip=True` as well, it sends the text's words instead of comments, one every 50 ms and round again:
        an answer that streams until it is stopped.
        """
        with self._lock:
            self._queued.append(_Script(text, tuple(tool_calls or ()), hold, drip))

    def _serve(self, handler: FakeHandler, request: RecordedRequest) -> None:
        answer = self._answer(request)
        if isinstance(answer, Failure):
            handler.send_json(answer.status, answer.body)
        elif answer.hold:
            words = [self._event({"content": piece}) for piece in _pieces(answer.text)] if answer.drip else []
            self._send_and_hold(handler, self.events(answer, request.body)[:2], drip=words)
        else:
            _send_stream(handler, self.events(answer, request.body))

    def _send_and_hold(self, handler: FakeHandler, events: list[dict[str, Any]],
                       drip: list[dict[str, Any]]) -> None:
        _send_stream(handler, events, end=False)
        keep_alive = b"e\r\n: keep-alive\n\n\r\n"
        dripping = itertools.cycle(_sse_chunks(drip)[:len(drip)]) if drip else itertools.repeat(keep_alive)
        try:
            while not self._stopping.wait(0.05):  # a write every 50 ms finds a closed socket
                handler.wfile.write(next(dripping))
                handler.wfile.flush()
        except OSError:
            self.client_left.set()

    def _answer(self, request: RecordedRequest) -> _Script | Failure:
        with self._lock:
            if request.method != "POST" or request.path != COMPLETIONS_PATH:
                return Failure(404, json.dumps({"error": {"message": f"no route {request.path}"}}).encode())
            try:
                self.images += received_images(request.body)
            except _Refused as refused:
                return Failure(400, json.dumps({"error": {"message": refused.message, "type": "invalid_request_error",
                                                          "param": refused.param, "code": refused.code}}).encode())
            if self._queued:
                return self._queued.pop(0)
        return _Script(_last_user_text(request.body), ())

    def _event(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1, "model": self.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    def events(self, answer: _Script, body: dict[str, Any]) -> list[dict[str, Any]]:
        """The stream's JSON events for `answer` (without `[DONE]`)."""
        event = self._event
        events = [event({"role": "assistant", "content": ""})]
        events += [event({"content": piece}) for piece in _pieces(answer.text)]
        for index, call in enumerate(answer.tool_calls):
            arguments = call["arguments"] if isinstance(call["arguments"], str) else json.dumps(call["arguments"])
            events.append(event({"tool_calls": [{"index": index, "id": f"call_{index}", "type": "function",
                                                 "function": {"name": call["name"], "arguments": ""}}]}))
            events += [event({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
                       for piece in _split(arguments, 3)]
        events.append(event({}, "tool_calls" if answer.tool_calls else "stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            prompt = sum(len(_text(m.get("content")).split()) for m in body.get("messages", ()))
            completion = len(answer.text.split()) + len(answer.tool_calls)
            events.append({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": self.model,
                           "choices": [], "usage": {"prompt_tokens": prompt, "completion_tokens": completion}})
        return events


class _Refused(Exception):
    """A request the API answers 400: its message, error code and the parameter at fault."""

    def __init__(self, message: str, code: str, param: str) -> None:
        super().__init__(message)
        self.message, self.code, self.param = message, code, param


def received_images(body: Any) -> list[ReceivedImage]:
    """The images in a request's messages, in order; raises `_Refused` for what the API would refuse."""
    messages = body.get("messages", []) if isinstance(body, dict) else []
    images: list[ReceivedImage] = []
    for number, message in enumerate(messages):
        content = message.get("content")
        for index, part in enumerate(content if isinstance(content, list) else ()):
            param = f"messages.[{number}].content.[{index}]"
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text" and isinstance(part.get("text"), str):
                continue
            if kind != "image_url" or message.get("role") != "user":
                allowed = "'text' and 'image_url'" if message.get("role") == "user" else "'text'"
                raise _Refused(f"Invalid value: {kind!r}. Supported values are: {allowed}.", "invalid_value",
                               f"{param}.type")
            images.append(_image(part.get("image_url"), f"{param}.image_url.url"))
    return images


def _image(image_url: Any, param: str) -> ReceivedImage:
    url = image_url.get("url") if isinstance(image_url, dict) else None
    found = DATA_URL.match(url) if isinstance(url, str) else None
    if found is None or found["media_type"] not in IMAGE_TYPES:
        raise _Refused(f"Invalid '{param}'. Expected a base64-encoded data URL with an image MIME type (e.g. "
                       "'data:image/png;base64,aW1nIGJ5dGVzIGhlcmU='); this fake fetches no URL.",
                       "invalid_value", param)
    data = decode_base64(found["data"])
    if data is None:
        raise _Refused(f"Invalid '{param}'. Expected a base64-encoded data URL with an image MIME type, but got "
                       "invalid base64 data.", "invalid_value", param)
    if sniffed_type(data) is None:
        raise _Refused("You uploaded an unsupported image. Please make sure your image is valid.",
                       "invalid_image_format", param)
    return ReceivedImage(found["media_type"], data)


def _text(content: Any) -> str:
    """A message's text: the string, or its text parts joined."""
    if isinstance(content, list):
        return " ".join(part.get("text") or "" for part in content if isinstance(part, dict))
    return str(content or "")


def _last_user_text(body: Any) -> str:
    messages = body.get("messages", []) if isinstance(body, dict) else []
    return next((_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")


def _pieces(text: str) -> list[str]:
    """The text as a model streams it: a word (with its leading space) per event."""
    words = text.split(" ")
    return [word if index == 0 else " " + word for index, word in enumerate(words)] if text else []


def _split(text: str, parts: int) -> list[str]:
    size = max(1, -(-len(text) // parts))
    return [text[start:start + size] for start in range(0, len(text), size)]


def _sse_chunks(events: list[dict[str, Any]]) -> list[bytes]:
    """The events as `data:` lines, each one HTTP chunk, then `[DONE]` and the chunked body's end."""
    lines = [f"data: {data}\n\n".encode() for data in [*(json.dumps(event) for event in events), "[DONE]"]]
    return [f"{len(line):x}\r\n".encode() + line + b"\r\n" for line in [*lines, b""]]


def _send_stream(handler: FakeHandler, events: list[dict[str, Any]], end: bool = True) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    for chunk in _sse_chunks(events) if end else _sse_chunks(events)[:len(events)]:
        handler.wfile.write(chunk)
        handler.wfile.flush()  # one event per write, as a real provider streams them
