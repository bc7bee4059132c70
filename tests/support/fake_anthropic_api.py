"""A local fake of Anthropic's Messages API: a real HTTP server on 127.0.0.1 (ephemeral port, own thread).

    with FakeAnthropicApi(api_key=KEY) as api:
        driver = AnthropicChat(api.url, "claude-fake-1", SecretStr(KEY), 10)
        api.script(text="Hello there")                                           # the next answer
        api.script(tool_calls=[{"name": "web_search", "arguments": {"q": "x"}}])  # the one after
        api.script(text="Hel", error="overloaded_error")                          # fails mid-answer
        api.fail_next(529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
        api.requests[0].body["messages"]  # what the driver sent (parsed JSON; headers lower-cased)

`url` is the API's root (`https://api.anthropic.com` in production): `POST /v1/messages` with `"stream": true`
answers in the documented server-sent-events format, each event an `event: <type>` line and a
`data: {"type": <type>, ...}` line: `message_start` (model, input tokens), a `ping`, per content block
`content_block_start` / `content_block_delta`s / `content_block_stop` (the text a word per `text_delta`; each
tool call a `tool_use` block, id `toolu_fake<n>`, its input as `input_json_delta` pieces, the first empty),
then `message_delta` (stop reason `end_turn` or `tool_use`, output tokens) and `message_stop`.

Like the API it answers 401 `authentication_error` for a wrong or missing `x-api-key`, and 400
`invalid_request_error` for a missing `anthropic-version`, no `"stream": true`, roles that do not alternate
(starting with `user`), empty text blocks, a `system` role in `messages`, or a `tool_result` that does
not answer a `tool_use` of the assistant turn right before it. With nothing scripted it echoes the last
user text. Token counts are word counts of the text (+1 per tool call). Any other path is a 404.

Images are `{"type": "image", "source": {"type": "base64", "media_type", "data"}}` blocks of a user turn. Like
the API it answers 400 for an image in an assistant turn, a source other than base64 (this fake fetches no
`url` source), a media type other than JPEG, PNG, GIF or WebP, data that is not base64, and bytes that are
not the image type declared. Accepted images are kept in order in `.images` (`ReceivedImage`).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from tests.support.fake_http import Failure, FakeHandler, LocalFake, QueuedAnswers, RecordedRequest
from tests.support.image_inputs import ReceivedImage, decode_base64, sniffed_type
from tests.support.sse_replay import end_stream, hold_stream, send_event, split_text, start_stream, word_pieces

MESSAGES_PATH = "/v1/messages"
MODEL = "claude-fake-1"
API_KEY = "sk-ant-fake-0123456789"
PING = 'event: ping\ndata: {"type": "ping"}\n\n'
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")


@dataclass(frozen=True)
class _Script:
    text: str
    tool_calls: tuple[dict[str, Any], ...] = ()
    hold: bool = False
    error: str | None = None
    cut: bool = False
    stop_reason: str | None = None


def anthropic_error(kind: str, message: str) -> dict[str, Any]:
    """An error body as the API writes it (also the data of a mid-stream `error` event)."""
    return {"type": "error", "error": {"type": kind, "message": message}}


class FakeAnthropicApi(QueuedAnswers, LocalFake):
    """The fake server. Start and stop it with `with`, or `start()` / `stop()`."""

    def __init__(self, model: str = MODEL, api_key: str = API_KEY) -> None:
        super().__init__(self._serve, "fake-anthropic-api")
        self.model = model
        self.api_key = api_key
        self.client_left = threading.Event()
        self.images: list[ReceivedImage] = []
        self._queued: list[_Script | Failure] = []

    @property
    def url(self) -> str:
        return super().url.removesuffix("/v1")  # the API's root: the driver adds `/v1/messages`

    def script(self, text: str = "", tool_calls: list[dict[str, Any]] | None = None, hold: bool = False,
               error: str | None = None, cut: bool = False, stop_reason: str | None = None) -> None:
        """Queue the next answer: `text`, and/or `tool_calls` as `[{"name", "arguments": dict | str}]`.

        A string `arguments` is streamed as is (to fake broken JSON). `hold=True` sends the message start
        and the first word, then pings until the client hangs up, which sets `.client_left`. `error` (an
        error type such as `overloaded_error`) sends an `error` event after the first word and ends the
        body; `cut=True` ends the body before `message_delta`, as a dropped connection would. `stop_reason`
        overrides the one sent (`max_tokens`, `refusal`).
        """
        with self._lock:
            self._queued.append(_Script(text, tuple(tool_calls or ()), hold, error, cut, stop_reason))

    def _serve(self, handler: FakeHandler, request: RecordedRequest) -> None:
        answer = self._answer(request)
        if isinstance(answer, Failure):
            handler.send_json(answer.status, answer.body)
            return
        events = [_sse(event) for event in self.events(answer, request.body)]
        start_stream(handler)
        if answer.hold:
            for event in events[:4]:  # message_start, ping, the text block's start, its first word
                send_event(handler, event)
            hold_stream(handler, PING, self._stopping, self.client_left)
            return
        if answer.error:
            events = [*events[:4], _sse(anthropic_error(answer.error, "Overloaded"))]
        elif answer.cut:
            events = events[:-2]
        for event in events:
            send_event(handler, event)
        end_stream(handler)

    def _answer(self, request: RecordedRequest) -> _Script | Failure:
        if request.method != "POST" or request.path != MESSAGES_PATH:
            return _refusal(404, "not_found_error", f"Not found: {request.path}")
        if request.headers.get("x-api-key") != self.api_key:
            return _refusal(401, "authentication_error", "invalid x-api-key")
        if not request.headers.get("anthropic-version"):
            return _refusal(400, "invalid_request_error", "anthropic-version: header is required")
        if problem := request_problem(request.body):
            return _refusal(400, "invalid_request_error", problem)
        with self._lock:
            self.images += [image for message in request.body["messages"] for image in _images(message)]
            if self._queued:
                return self._queued.pop(0)
        return _Script(_last_user_text(request.body))

    def events(self, answer: _Script, body: dict[str, Any]) -> list[dict[str, Any]]:
        """The stream's events for `answer`, in order, as their data objects."""
        prompt = _words(body.get("system")) + sum(_words(m.get("content")) for m in body["messages"])
        events: list[dict[str, Any]] = [
            {"type": "message_start", "message": {
                "id": "msg_fake", "type": "message", "role": "assistant", "content": [], "model": self.model,
                "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": prompt, "output_tokens": 1}}},
            {"type": "ping"}]
        blocks: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
        if answer.text or not answer.tool_calls:
            blocks.append(({"type": "text", "text": ""},
                           [{"type": "text_delta", "text": piece} for piece in word_pieces(answer.text)]))
        for number, call in enumerate(answer.tool_calls):
            arguments = call["arguments"] if isinstance(call["arguments"], str) else json.dumps(call["arguments"])
            blocks.append(({"type": "tool_use", "id": f"toolu_fake{number}", "name": call["name"], "input": {}},
                           [{"type": "input_json_delta", "partial_json": piece}
                            for piece in ["", *split_text(arguments, 3)]]))
        for index, (start, deltas) in enumerate(blocks):
            events.append({"type": "content_block_start", "index": index, "content_block": start})
            events += [{"type": "content_block_delta", "index": index, "delta": delta} for delta in deltas]
            events.append({"type": "content_block_stop", "index": index})
        stop_reason = answer.stop_reason or ("tool_use" if answer.tool_calls else "end_turn")
        output = len(answer.text.split()) + len(answer.tool_calls)
        events += [{"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                    "usage": {"output_tokens": output}},
                   {"type": "message_stop"}]
        return events


def request_problem(body: Any) -> str | None:
    """What the API would refuse in a request body, or None."""
    if not isinstance(body, dict) or body.get("stream") is not True:
        return 'this fake answers only "stream": true'
    messages = body.get("messages") or []
    if not messages or messages[0].get("role") != "user":
        return "messages: the first message must use the user role"
    tool_uses: set[str] = set()
    for number, message in enumerate(messages):
        role, content = message.get("role"), message.get("content")
        if role not in ("user", "assistant"):
            return f"messages.{number}.role: Input should be 'user' or 'assistant'"
        if number and messages[number - 1].get("role") == role:
            return "messages: roles must alternate between \"user\" and \"assistant\""
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
        if problem := _blocks_problem(number, blocks, tool_uses) or _images_problem(number, role, blocks):
            return problem
        tool_uses = {block["id"] for block in blocks if block.get("type") == "tool_use"}
    return None


def _blocks_problem(number: int, blocks: list[dict[str, Any]], asked: set[str]) -> str | None:
    if not blocks:
        return f"messages.{number}: all messages must have non-empty content"
    for block in blocks:
        if block.get("type") == "text" and not block.get("text"):
            return f"messages.{number}: text content blocks must be non-empty"
        if block.get("type") == "tool_result" and block.get("tool_use_id") not in asked:
            return (f"messages.{number}: unexpected `tool_use_id` found in `tool_result` blocks: "
                    f"{block.get('tool_use_id')}. Each `tool_result` block must have a corresponding `tool_use` "
                    "block in the previous message.")
    return None


def _images_problem(number: int, role: str, blocks: list[dict[str, Any]]) -> str | None:
    for index, block in enumerate(blocks):
        if block.get("type") != "image":
            continue
        where = f"messages.{number}.content.{index}.image"
        if role != "user":
            return f"{where}: image content blocks are only allowed in user messages"
        source = block.get("source") if isinstance(block.get("source"), dict) else {}
        if source.get("type") != "base64":
            return f"{where}.source.type: this fake takes only 'base64' sources (it fetches no URL)"
        if source.get("media_type") not in IMAGE_TYPES:
            return (f"{where}.source.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' "
                    "or 'image/webp'")
        data = decode_base64(source.get("data"))
        if data is None:
            return f"{where}.source.base64.data: The image data is not valid base64"
        if sniffed_type(data) != source["media_type"]:
            return f"{where}.source.base64.data: Image does not match the provided media type {source['media_type']}"
    return None


def _images(message: dict[str, Any]) -> list[ReceivedImage]:
    """The images of an accepted message, decoded."""
    content = message.get("content")
    return [ReceivedImage(block["source"]["media_type"], decode_base64(block["source"]["data"]) or b"")
            for block in (content if isinstance(content, list) else ()) if block.get("type") == "image"]


def _refusal(status: int, kind: str, message: str) -> Failure:
    return Failure(status, json.dumps(anthropic_error(kind, message)).encode())


def _sse(data: dict[str, Any]) -> str:
    return f"event: {data['type']}\ndata: {json.dumps(data)}\n\n"


def _words(content: Any) -> int:
    if isinstance(content, str):
        return len(content.split())
    return sum(_words(block.get("text") or block.get("content")) for block in content or () if isinstance(block, dict))


def _last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body["messages"]):
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        texts = [block["text"] for block in blocks if block.get("type") == "text"]
        if message.get("role") == "user" and texts:
            return " ".join(texts)
    return ""

