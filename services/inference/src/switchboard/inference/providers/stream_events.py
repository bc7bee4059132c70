"""What the hosted chat stream parsers share: a `data:` line of server-sent events read as one JSON object,
and a failure that a provider reports inside a 200 stream turned into a typed error.

Server-sent events arrive as lines: `data: <payload>` carries an event; `event: <name>`, `id:`, comments
(`: ping`) and the blank line that ends each event carry nothing a parser of these JSON streams needs, since
every provider here repeats what it needs inside the payload. No I/O here.
"""

from __future__ import annotations

import json
from typing import Any

from switchboard.core.errors import InferenceError, ModelUnavailable

DATA_FIELD = "data:"
MAX_ERROR_CHARS = 300  # of a provider's mid-stream error text, shown to the user


def data_object(line: str) -> dict[str, Any] | None:
    """The JSON object a `data:` line carries; None for any other line. Raises `InferenceError` on garbage."""
    if not line.startswith(DATA_FIELD):
        return None
    try:
        event = json.loads(line[len(DATA_FIELD):])
    except ValueError:
        raise InferenceError("the chat provider sent an unreadable stream event") from None
    if not isinstance(event, dict):
        raise InferenceError("the chat provider sent a stream event that is not an object")
    return event


def mid_stream_error(message: Any, retryable: bool) -> InferenceError:
    """The error for a failure reported inside the stream: `ModelUnavailable` when a retry could help
    (the provider was overloaded or failed), else `InferenceError`; the message shortened."""
    text = f"the chat provider failed mid-answer: {str(message or 'no message')[:MAX_ERROR_CHARS]}"
    return ModelUnavailable(text) if retryable else InferenceError(text)
