"""Driver for an OpenAI-compatible Chat Completions API: `POST {base_url}/chat/completions`, streamed.

Implements the bridge's `ChatModel` protocol without Ray: `stream_chat(request)` takes the request dict of
`deployments.protocol` and yields its `delta` chunks as the provider streams them, then one `done` chunk
carrying finish reason, token usage, model and any tool calls (see `openai_stream`). Closing the generator
early (the bridge does when an activation is superseded) closes the HTTP response, which ends generation.

A user message's images (`image_parts`) become content parts: the text first, then one `image_url` part
per image with the image inline as a `data:` URL, the form OpenAI and OpenAI-compatible VLM servers (vLLM)
both read; a message without images keeps its content a plain string.

An optional `tool_choice` in the request ("auto", "none", "required" or its alias "any", or a tool's name),
read as for every hosted driver (`tool_choice`), becomes OpenAI's `tool_choice`; it is sent only with tools,
as OpenAI refuses it without, and a name that is not offered is refused before anything is sent (OpenAI
would answer 400, llama-cpp-python's server a 200 with an empty stream). Naming a tool forces that call,
which is how small local models (llama-cpp-python's server) answer with one at all: its
`chatml-function-calling` format cannot stream an "auto" choice that lands on a tool.

Errors are typed by what a retry could do, like the image driver: rate limits, server errors, timeouts
and unreachable hosts are `ModelUnavailable` (retryable); a refused request is `InferenceError` with the
provider's own message. The API key is sent as a bearer token and never appears in an error, log or span.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from typing import Any

from pydantic import SecretStr

from switchboard.inference.providers.chat_http import ChatHttp
from switchboard.inference.providers.image_parts import check_images, message_images
from switchboard.inference.providers.openai_stream import ChatStreamParser
from switchboard.inference.tool_choice import ToolChoice, read_tool_choice


class OpenAIChat:
    """One HTTP connection pool per driver; `stream_chat` is safe to call from several threads."""

    provider = "openai"

    def __init__(self, base_url: str, model: str, api_key: SecretStr | None, timeout_s: float) -> None:
        self.model = model
        secret = api_key.get_secret_value() if api_key else ""
        headers = {"Authorization": f"Bearer {secret}"} if secret else {}
        self._http = ChatHttp(base_url, headers, timeout_s, secret)

    def stream_chat(self, request: dict[str, Any]) -> Generator[dict[str, Any], None, None]:
        """Yield the chunks of one completion; raises `ModelUnavailable` or `InferenceError` (see module)."""
        yield from self._http.stream("/chat/completions", self._body(request), ChatStreamParser(self.model))

    def close(self) -> None:
        self._http.close()

    def _body(self, request: dict[str, Any]) -> dict[str, Any]:
        check_images(request["messages"])
        body: dict[str, Any] = {
            "model": self.model, "messages": [openai_message(m) for m in request["messages"]],
            "max_tokens": request["max_tokens"], "temperature": request["temperature"],
            "stream": True, "stream_options": {"include_usage": True}}
        if request.get("seed") is not None:
            body["seed"] = request["seed"]
        if request.get("tools"):
            body["tools"] = [openai_tool(tool) for tool in request["tools"]]
            if choice := read_tool_choice(request):
                body["tool_choice"] = openai_tool_choice(choice)
        return body


def openai_message(message: dict[str, Any]) -> dict[str, Any]:
    """A protocol message in OpenAI's format: assistant tool calls with JSON-string arguments, tool results,
    a user's images as content parts."""
    if message["role"] == "tool":
        return {"role": "tool", "tool_call_id": message.get("tool_call_id") or "", "content": message["content"]}
    if message["role"] == "assistant" and message.get("tool_calls"):
        calls = [{"id": call["id"], "type": "function",
                  "function": {"name": call["name"], "arguments": json.dumps(call.get("arguments") or {})}}
                 for call in message["tool_calls"]]
        # OpenAI wants null, not "", for an assistant turn that only called tools.
        return {"role": "assistant", "content": message["content"] or None, "tool_calls": calls}
    if images := message_images(message):
        parts: list[dict[str, Any]] = [{"type": "text", "text": message["content"]}] if message["content"] else []
        parts += [{"type": "image_url", "image_url": {"url": image.data_url}} for image in images]
        return {"role": "user", "content": parts}
    return {"role": message["role"], "content": message["content"]}


def openai_tool(tool: dict[str, Any]) -> dict[str, Any]:
    return {"type": "function", "function": {"name": tool["name"], "description": tool.get("description", ""),
                                             "parameters": tool.get("parameters") or {"type": "object"}}}


def openai_tool_choice(choice: ToolChoice) -> str | dict[str, Any]:
    """A mode as OpenAI spells it, or the named tool forced."""
    if choice.mode == "tool":
        return {"type": "function", "function": {"name": choice.name}}
    return choice.mode
