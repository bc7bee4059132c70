"""The chat wire format between ``ModelHost`` and the chat deployment.

A request is a plain dict (it crosses Ray by pickling and is built by the
Celery bridge from JSON)::

    {"messages": [{"role": "system"|"user"|"assistant", "content": str}, ...],
     "max_tokens": int, "temperature": float,
     "seed": int | None, "traceparent": str | None}

``seed`` and ``traceparent`` may be omitted; unknown keys are ignored. The
response is a stream of dict chunks: ``{"type": "delta", "text": str}`` per
token, then exactly one ``{"type": "done", "finish_reason": "stop"|"length",
"prompt_tokens": int, "completion_tokens": int, "model": str}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from switchboard.inference.deployments.errors import InvalidChatRequestError

ROLES: frozenset[str] = frozenset({"system", "user", "assistant"})
FinishReason = Literal["stop", "length"]


@dataclass(frozen=True)
class ChatRequest:
    """A validated chat request; ``messages`` hold only role and content."""

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


def done_chunk(finish_reason: FinishReason, prompt_tokens: int, completion_tokens: int, model: str) -> dict[str, Any]:
    """The final chunk of every successful stream."""
    return {
        "type": "done",
        "finish_reason": finish_reason,
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "model": model,
    }


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
        parsed.append({"role": role, "content": content})
    return tuple(parsed)


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
