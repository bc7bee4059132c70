"""The chat wire format between ``ModelHost`` and the chat deployment.

A request is a plain dict (it crosses Ray by pickling and is built by the
Celery bridge from JSON)::

    {"messages": [{"role": "system"|"user"|"assistant"|"tool", "content": str,
                   "tool_calls": [{"id": str, "name": str, "arguments": dict}],  # assistant, optional
                   "tool_call_id": str,                                         # tool, optional
                   "images": [{"media_type": "image/png"|"image/jpeg"|"image/webp",
                               "data": str}]}, ...],                            # user, optional: base64
     "max_tokens": int, "temperature": float,
     "seed": int | None, "traceparent": str | None,
     "tools": [{"name": str, "description": str, "parameters": dict}],  # optional
     "tool_choice": "auto" | "none" | "required" | "any" | str}         # optional

``seed``, ``traceparent``, ``tools`` and ``tool_choice`` may be omitted; unknown keys are
ignored. ``tool_choice`` counts only with ``tools``: "auto" lets the model decide, "none" forbids
tools, "required" (or "any") demands a call, and any other string names the one tool the model
must call (a name not in ``tools`` is refused). Forcing a tool is what makes a small model call
one at all.

``images`` put pictures in a user's message, for models that can read them (catalog capability
``vision_input``: the vision role's ``vlm`` backend sends the image to describe this way). Each hosted
driver writes them in its API's format (``providers.image_parts``); the local engines cannot see, so
``parse_chat_request`` accepts the key and drops it, like any other key they have no use for.

The response is a stream of dict chunks: ``{"type": "delta", "text": str}`` per
token or run of tokens (``coalesce_deltas``), then exactly one ``{"type": "done", "finish_reason": str,
"prompt_tokens": int, "completion_tokens": int, "model": str}``; a backend that
can call tools adds ``"tool_calls": [{"id", "name", "arguments": dict}]`` to it.

The llama.cpp engine calls tools through a prompt and a grammar (``local_tools``); the echo
engine ignores them. Tool turns in the history are folded into plain text (``_local_message``),
so a local model reads the tool results whichever backend asked for the tools; small chat
templates (SmolLM2's) know no ``tool`` role, so it becomes ``user``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from switchboard.core.errors import InferenceError
from switchboard.inference.deployments.errors import InvalidChatRequestError
from switchboard.inference.deployments.local_tools import ToolOffer
from switchboard.inference.tool_choice import read_tool_choice

ROLES: frozenset[str] = frozenset({"system", "user", "assistant", "tool"})
FinishReason = Literal["stop", "length", "tool_calls", "content_filter"]


@dataclass(frozen=True)
class ChatRequest:
    """A validated chat request; ``messages`` hold only role and content, tool turns folded into text.
    ``tools`` is what the request offers a local model (None: nothing, or ``tool_choice`` "none")."""

    messages: tuple[dict[str, str], ...]
    max_tokens: int
    temperature: float
    seed: int | None = None
    traceparent: str | None = None
    tools: ToolOffer | None = None


def parse_chat_request(request: Mapping[str, Any]) -> ChatRequest:
    """Validate a request dict and return it as a ``ChatRequest``.

    Raises ``InvalidChatRequestError`` (a ``ValueError``) naming the first bad field.
    """
    if not isinstance(request, Mapping):
        raise InvalidChatRequestError(f"chat request must be a dict, got {type(request).__name__}")
    return ChatRequest(
        messages=_parse_messages(request.get("messages")),
        max_tokens=_require_int(request, "max_tokens", minimum=1),
        temperature=_parse_temperature(request.get("temperature")),
        seed=_optional_int(request, "seed"),
        traceparent=_optional_str(request, "traceparent"),
        tools=_parse_tools(request),
    )


def delta_chunk(text: str) -> dict[str, Any]:
    """One streamed piece of generated text."""
    return {"type": "delta", "text": text}


def coalesce_deltas(chunks: Iterable[dict[str, Any]], window_s: float,
                    clock: Callable[[], float] = time.monotonic) -> Iterator[dict[str, Any]]:
    """The same stream with the deltas that follow one another within `window_s` merged into one.

    Every chunk a replica yields costs Ray a streamed object (serialized, sent, acknowledged: a few ms of CPU
    on a small machine, more than the model spends on a small model's token), so sending a run of tokens at
    once leaves that CPU to the model. The first delta goes at once (time to first token is unchanged); a
    later one waits until `window_s` has passed since the last one sent, or until the next chunk that is not
    a delta, which is never held back. A held delta therefore waits at most the window plus one token's
    time. 0 sends every delta as it comes.
    """
    pending: dict[str, Any] | None = None
    last_sent: float | None = None
    for chunk in chunks:
        if chunk["type"] != "delta":
            if pending is not None:
                yield pending
                pending = None
            yield chunk
            continue
        pending = dict(chunk) if pending is None else {**pending, "text": pending["text"] + chunk["text"]}
        now = clock()
        if last_sent is None or now - last_sent >= window_s:
            yield pending
            pending, last_sent = None, now
    if pending is not None:
        yield pending


def done_chunk(finish_reason: FinishReason, prompt_tokens: int, completion_tokens: int, model: str,
               tool_calls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The final chunk of every successful stream; ``tool_calls`` only when the model asked for tools."""
    chunk = {
        "type": "done",
        "finish_reason": finish_reason,
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "model": model,
    }
    if tool_calls:
        chunk["tool_calls"] = tool_calls
    return chunk


def _parse_messages(messages: Any) -> tuple[dict[str, str], ...]:
    if not isinstance(messages, (list, tuple)) or not messages:
        raise InvalidChatRequestError("chat request 'messages' must be a non-empty list")
    parsed = []
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise InvalidChatRequestError(f"messages[{index}] must be a dict")
        role, content = message.get("role"), message.get("content")
        if role not in ROLES:
            raise InvalidChatRequestError(f"messages[{index}].role must be one of {sorted(ROLES)}, got {role!r}")
        if not isinstance(content, str):
            raise InvalidChatRequestError(f"messages[{index}].content must be a string")
        parsed.append(_local_message(message, role, content))
    return tuple(parsed)


def _parse_tools(request: Mapping[str, Any]) -> ToolOffer | None:
    tools = request.get("tools") or []
    if not isinstance(tools, (list, tuple)) or not all(
            isinstance(tool, Mapping) and isinstance(tool.get("name"), str) and tool["name"]
            and isinstance(tool.get("parameters") or {}, Mapping) for tool in tools):
        raise InvalidChatRequestError("chat request 'tools' must be a list of {name, description, parameters}")
    if not isinstance(request.get("tool_choice") or "", str):
        raise InvalidChatRequestError("chat request 'tool_choice' must be a string")
    try:
        choice = read_tool_choice({"tools": tools, "tool_choice": request.get("tool_choice")})
    except InferenceError as exc:
        raise InvalidChatRequestError(str(exc)) from exc
    return ToolOffer.from_request(tools, choice)


def _local_message(message: Mapping[str, Any], role: str, content: str) -> dict[str, str]:
    """A message as a local engine sees it: tool calls and tool results become readable text."""
    if role == "tool":
        return {"role": "user", "content": f"[result of tool call {message.get('tool_call_id') or '?'}] {content}"}
    calls = message.get("tool_calls") or ()
    if role == "assistant" and calls:
        asked = "; ".join(f"{call.get('name')}({json.dumps(call.get('arguments', {}))})"
                          for call in calls if isinstance(call, Mapping))
        return {"role": "assistant", "content": f"{content}\n[called tools: {asked}]".lstrip()}
    return {"role": role, "content": content}


def _is_int(value: Any) -> bool:
    # bool is an int subclass; True is not a token count.
    return isinstance(value, int) and not isinstance(value, bool)


def _require_int(request: Mapping[str, Any], key: str, minimum: int) -> int:
    value = request.get(key)
    if not _is_int(value) or value < minimum:
        raise InvalidChatRequestError(f"chat request {key!r} must be an integer >= {minimum}, got {value!r}")
    return value


def _parse_temperature(value: Any) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 2:
        raise InvalidChatRequestError(f"chat request 'temperature' must be a number in [0, 2], got {value!r}")
    return float(value)


def _optional_int(request: Mapping[str, Any], key: str) -> int | None:
    value = request.get(key)
    if value is not None and not _is_int(value):
        raise InvalidChatRequestError(f"chat request {key!r} must be an integer or null, got {value!r}")
    return value


def _optional_str(request: Mapping[str, Any], key: str) -> str | None:
    value = request.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidChatRequestError(f"chat request {key!r} must be a string or null, got {value!r}")
    return value
