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
ignored. ``tool_choice`` (the bridge sends none yet) is for the OpenAI-compatible driver and
counts only with ``tools``: "auto" lets the model decide, "none" forbids tools, "required"
(or "any") demands a call, and any other string names the one tool the model must call (a
name not in ``tools`` is refused). Forcing a tool is what makes a small model behind
llama-cpp-python's server call one at all; the local engines ignore the key.

``images`` put pictures in a user's message, for models that can read them (catalog capability
``vision_input``: the vision role's ``vlm`` backend sends the image to describe this way). Each hosted
driver writes them in its API's format (``providers.image_parts``); the local engines cannot see, so
``parse_chat_request`` accepts the key and drops it, like any other key they have no use for.

The response is a stream of dict chunks: ``{"type": "delta", "text": str}`` per
token, then exactly one ``{"type": "done", "finish_reason": str,
"prompt_tokens": int, "completion_tokens": int, "model": str}``; a backend that
can call tools adds ``"tool_calls": [{"id", "name", "arguments": dict}]`` to it.

The local engines (echo, llama.cpp) cannot call tools: they ignore ``tools`` and
answer with text. Tool turns in the history are folded into plain text
(``_local_message``) rather than dropped, so a conversation that another backend
started with tools still gives the local model the tool results to read; small
chat templates (SmolLM2's) know no ``tool`` role, so it becomes ``user``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from switchboard.inference.deployments.errors import InvalidChatRequestError

ROLES: frozenset[str] = frozenset({"system", "user", "assistant", "tool"})
FinishReason = Literal["stop", "length", "tool_calls", "content_filter"]


@dataclass(frozen=True)
class ChatRequest:
    """A validated chat request; ``messages`` hold only role and content, tool turns folded into text."""

    messages: tuple[dict[str, str], ...]
    max_tokens: int
    temperature: float
    seed: int | None = None
    traceparent: str | None = None


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
    )


def delta_chunk(text: str) -> dict[str, Any]:
    """One streamed piece of generated text."""
    return {"type": "delta", "text": text}


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
