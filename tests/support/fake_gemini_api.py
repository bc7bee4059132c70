"""A local fake of the Gemini API's streaming endpoint: a real HTTP server on 127.0.0.1 (own thread).

    with FakeGeminiApi(api_key=KEY) as api:
        driver = GeminiChat(api.url, "gemini-fake-1", SecretStr(KEY), 10)
        api.script(text="Hello there")                                           # the next answer
        api.script(tool_calls=[{"name": "web_search", "arguments": {"q": "x"}}])  # the one after
        api.script(text="Hel", error=503)                                         # fails mid-answer
        api.fail_next(429, {"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}})
        api.requests[0].body["contents"]  # what the driver sent (parsed JSON; headers lower-cased)

`url` is the API's root (`https://generativelanguage.googleapis.com` in production):
`POST /v1beta/models/<model>:streamGenerateContent?alt=sse` answers with server-sent events, each a
`data: {...}` line holding a whole `GenerateContentResponse`: `candidates[0].content` (role `model`) with
the text a word per event, then the function calls whole in one event (the first with a
`thoughtSignature`, as thinking models sign them), the last event with `finishReason` (`STOP`) and
`usageMetadata` with the candidates' token count; every event has `modelVersion` and the prompt count.
There is no end marker: the body ends. The model the path names is the one the answer names.

Like the API it answers 403 `PERMISSION_DENIED` without `x-goog-api-key` and 400 `INVALID_ARGUMENT`
(reason `API_KEY_INVALID`) for a wrong one; 400 `INVALID_ARGUMENT` without `alt=sse` (this fake streams
only events), for roles other than `user`/`model`, empty text parts, a `functionResponse` whose name no
`functionCall` of the model turn right before it has, a model turn whose first function call carries no
`thoughtSignature` (Gemini 3 refuses those), and a declaration's `parameters` with JSON-Schema keywords the
field does not know (`additionalProperties`; `parametersJsonSchema` takes them). With nothing scripted it
echoes the last user text. Token counts are word counts of the text (+1 per function call). Any other path
is a 404.

Images are `inlineData` parts, `{"inlineData": {"mimeType", "data"}}`: the REST reference's JSON names. As a
proto3 JSON parser the API reads the proto field names too (`inline_data`, `mime_type`, which its curl
examples use), so this fake takes both, and like the API it refuses a part or blob field it does not know
('Unknown name ... Cannot find field'). It answers 400 for a MIME type it does not read (of the images
Gemini takes, this fake reads PNG, JPEG and WebP), data that is not base64 (either alphabet, as proto3
JSON reads bytes), and bytes that are not an image of that type. Accepted images are kept in order in
`.images` (`ReceivedImage`).
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.fake_http import Failure, FakeHandler, LocalFake, QueuedAnswers, RecordedRequest
from tests.support.image_inputs import ReceivedImage, decode_base64, sniffed_type
from tests.support.sse_replay import end_stream, hold_stream, send_event, start_stream, word_pieces

MODEL = "gemini-fake-1"
API_KEY = "AIza-fake-0123456789"
STREAM_PATH = re.compile(r"^/v1beta/models/(?P<model>[^/:]+):streamGenerateContent$")
SIGNATURE = "c2lnbmVkIGJ5IHRoZSBmYWtl"  # base64, opaque to the client
KEEP_ALIVE = "\n"  # a blank line: no event, but a write that finds a closed socket
UNKNOWN_SCHEMA_KEYS = ("additionalProperties", "$schema", "propertyNames", "const")
# A part's fields, by their JSON and their proto names (a proto3 JSON parser accepts either).
PART_FIELDS = {"text": "text", "inlineData": "inline_data", "inline_data": "inline_data", "fileData": "file_data",
               "file_data": "file_data", "functionCall": "function_call", "function_call": "function_call",
               "functionResponse": "function_response", "function_response": "function_response",
               "thoughtSignature": "thought_signature", "thought_signature": "thought_signature",
               "thought": "thought"}
BLOB_FIELDS = {"mimeType": "mime_type", "mime_type": "mime_type", "data": "data"}
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp"})
STATUS_NAMES = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED",
                500: "INTERNAL", 503: "UNAVAILABLE"}


@dataclass(frozen=True)
class _Script:
    text: str
    tool_calls: tuple[dict[str, Any], ...] = ()
    hold: bool = False
    error: int | None = None
    cut: bool = False
    finish_reason: str = "STOP"


def gemini_error(code: int, message: str, reason: str | None = None) -> dict[str, Any]:
    """An error body as the API writes it (also the data of a mid-stream error event)."""
    error: dict[str, Any] = {"code": code, "message": message, "status": STATUS_NAMES.get(code, "UNKNOWN")}
    if reason:
        error["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason,
                             "domain": "googleapis.com"}]
    return {"error": error}


class FakeGeminiApi(QueuedAnswers, LocalFake):
    """The fake server. Start and stop it with `with`, or `start()` / `stop()`."""

    def __init__(self, api_key: str = API_KEY) -> None:
        super().__init__(self._serve, "fake-gemini-api")
        self.api_key = api_key
        self.client_left = threading.Event()
        self.images: list[ReceivedImage] = []
        self._queued: list[_Script | Failure] = []

    @property
    def url(self) -> str:
        return super().url.removesuffix("/v1")  # the API's root: the driver adds `/v1beta/models/...`

    def script(self, text: str = "", tool_calls: list[dict[str, Any]] | None = None, hold: bool = False,
               error: int | None = None, cut: bool = False, finish_reason: str = "STOP") -> None:
        """Queue the next answer: `text`, and/or `tool_calls` as `[{"name", "arguments": dict}]`.

        `hold=True` sends the first word, then blank lines until the client hangs up, which sets
        `.client_left`. `error` (an HTTP code: 503, 429, 400) sends an error event after the first word
        and ends the body; `cut=True` ends the body before the event with the finish reason, as a dropped
        connection would. `finish_reason` is Gemini's (`MAX_TOKENS`, `SAFETY`).
        """
        with self._lock:
            self._queued.append(_Script(text, tuple(tool_calls or ()), hold, error, cut, finish_reason))

    def _serve(self, handler: FakeHandler, request: RecordedRequest) -> None:
        answer, model = self._answer(request)
        if isinstance(answer, Failure):
            handler.send_json(answer.status, answer.body)
            return
        events = [f"data: {json.dumps(event)}\n\n" for event in self.events(answer, model, request.body)]
        start_stream(handler)
        if answer.hold:
            send_event(handler, events[0])
            hold_stream(handler, KEEP_ALIVE, self._stopping, self.client_left)
            return
        if answer.error:
            events = [events[0], f"data: {json.dumps(gemini_error(answer.error, 'The model is overloaded.'))}\n\n"]
        elif answer.cut:
            events = events[:-1]
        for event in events:
            send_event(handler, event)
        end_stream(handler)

    def _answer(self, request: RecordedRequest) -> tuple[_Script | Failure, str]:
        url = urlsplit(request.path)
        route = STREAM_PATH.match(url.path)
        if request.method != "POST" or not route:
            return _refusal(404, f"The requested URL {url.path} was not found on this server."), ""
        key = request.headers.get("x-goog-api-key")
        if not key:
            return _refusal(403, "Method doesn't allow unregistered callers (callers without established "
                                 "identity). Please use API Key or other form of API consumer identity."), ""
        if key != self.api_key:
            return _refusal(400, "API key not valid. Please pass a valid API key.", "API_KEY_INVALID"), ""
        if parse_qs(url.query).get("alt") != ["sse"]:
            return _refusal(400, "this fake streams only server-sent events (alt=sse)"), ""
        if problem := request_problem(request.body):
            return _refusal(400, problem), ""
        with self._lock:
            self.images += [_image(blob) for content in request.body["contents"] for part in content["parts"]
                            if (blob := _inline_data(part)) is not None]
            if self._queued:
                return self._queued.pop(0), route["model"]
        return _Script(_last_user_text(request.body)), route["model"]

    def events(self, answer: _Script, model: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        """The stream's `GenerateContentResponse` events for `answer`, in order."""
        prompt = sum(len(str(part.get("text") or "").split())
                     for content in [body.get("systemInstruction") or {}, *body["contents"]]
                     for part in content.get("parts") or ())
        output = len(answer.text.split()) + len(answer.tool_calls)

        def event(parts: list[dict[str, Any]], finish: str | None = None) -> dict[str, Any]:
            candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
            usage: dict[str, Any] = {"promptTokenCount": prompt, "totalTokenCount": prompt}
            if finish:
                candidate["finishReason"] = finish
                usage.update(candidatesTokenCount=output, totalTokenCount=prompt + output)
            return {"candidates": [candidate], "usageMetadata": usage, "modelVersion": model,
                    "responseId": "fake-response"}

        parts = [[{"text": piece}] for piece in word_pieces(answer.text)]
        if answer.tool_calls:
            calls = [{"functionCall": {"name": call["name"], "args": call["arguments"]}} for call in answer.tool_calls]
            calls[0]["thoughtSignature"] = SIGNATURE
            parts.append(calls)
        if not parts:
            parts.append([{"text": ""}])
        last = len(parts) - 1
        return [event(part, answer.finish_reason if number == last else None) for number, part in enumerate(parts)]


def request_problem(body: Any) -> str | None:
    """What the API would refuse in a request body, or None."""
    if not isinstance(body, dict) or not body.get("contents"):
        return "* GenerateContentRequest.contents: contents is not specified"
    for number, tool in enumerate(body.get("tools") or ()):
        for index, declaration in enumerate(tool.get("functionDeclarations") or ()):
            if unknown := _unknown_schema_key(declaration.get("parameters")):
                return (f'Invalid JSON payload received. Unknown name "{unknown}" at '
                        f"'tools[{number}].function_declarations[{index}].parameters': Cannot find field.")
    called: set[str] = set()
    for number, content in enumerate(body["contents"]):
        if problem := _content_problem(number, content, called):
            return problem
        called = {part["functionCall"]["name"] for part in content["parts"] if "functionCall" in part}
    return None


def _content_problem(number: int, content: dict[str, Any], called: set[str]) -> str | None:
    if content.get("role") not in ("user", "model"):
        return f"Please use a valid role: user, model. (contents[{number}])"
    parts = content.get("parts") or []
    if not parts:
        return f"* GenerateContentRequest.contents[{number}].parts: contents.parts must not be empty."
    for index, part in enumerate(parts):
        if problem := _part_problem(f"contents[{number}].parts[{index}]", part):
            return problem
        if "text" in part and not part["text"]:
            return f"* GenerateContentRequest.contents[{number}].parts: text parts must not be empty."
        if "functionResponse" in part and part["functionResponse"].get("name") not in called:
            return (f"Please ensure that the function response turn comes immediately after a function call "
                    f"turn, and names one of its calls. (contents[{number}])")
    calls = [part for part in parts if "functionCall" in part]
    if calls and "thoughtSignature" not in calls[0]:
        return (f"Function call is missing a thought_signature in functionCall parts. (contents[{number}], "
                "the first functionCall part)")
    return None


def _part_problem(where: str, part: dict[str, Any]) -> str | None:
    """An unknown field of a part or of its inline data, or inline data the API would not read."""
    for key in part:
        if key not in PART_FIELDS:
            return f'Invalid JSON payload received. Unknown name "{key}" at \'{where}\': Cannot find field.'
    blob = _inline_data(part)
    if blob is None:
        return None
    for key in blob:
        if key not in BLOB_FIELDS:
            return f'Invalid JSON payload received. Unknown name "{key}" at \'{where}.inline_data\': Cannot find field.'
    mime_type = _blob_field(blob, "mime_type")
    if mime_type not in IMAGE_TYPES:
        return f"Unsupported MIME type: {mime_type}"
    data = decode_base64(_blob_field(blob, "data"), url_safe_too=True)
    if data is None:
        return f"Invalid value at '{where}.inline_data.data' (TYPE_BYTES), Base64 decoding failed"
    if sniffed_type(data) != mime_type:
        return "Unable to process input image. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"
    return None


def _inline_data(part: dict[str, Any]) -> dict[str, Any] | None:
    blob = part.get("inlineData", part.get("inline_data"))
    return blob if isinstance(blob, dict) else None


def _blob_field(blob: dict[str, Any], name: str) -> Any:
    """A blob's field by its proto name, whichever spelling the request used."""
    return next((value for key, value in blob.items() if BLOB_FIELDS.get(key) == name), None)


def _image(blob: dict[str, Any]) -> ReceivedImage:
    return ReceivedImage(_blob_field(blob, "mime_type"), decode_base64(_blob_field(blob, "data"), True) or b"")


def _unknown_schema_key(schema: Any) -> str | None:
    """A keyword `parameters` (an OpenAPI subset) does not know, anywhere in the schema."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key in UNKNOWN_SCHEMA_KEYS:
                return key
            if unknown := _unknown_schema_key(value):
                return unknown
    if isinstance(schema, list):
        return next((unknown for item in schema if (unknown := _unknown_schema_key(item))), None)
    return None


def _refusal(status: int, message: str, reason: str | None = None) -> Failure:
    return Failure(status, json.dumps(gemini_error(status, message, reason)).encode())


def _last_user_text(body: dict[str, Any]) -> str:
    for content in reversed(body["contents"]):
        texts = [part["text"] for part in content.get("parts") or () if part.get("text")]
        if content.get("role") == "user" and texts:
            return " ".join(texts)
    return ""
