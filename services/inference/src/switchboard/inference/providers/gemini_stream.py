"""Reads a Gemini `streamGenerateContent?alt=sse` stream into the bridge's chunks.

Each event is one `data: {...}` line holding a whole `GenerateContentResponse`. There is no end marker: the
answer is over when the response body ends, so `finished` stays False and every line is read.

- `candidates[0].content.parts`: `text` is a `delta` chunk (parts marked `thought` are the model's thinking,
  not its answer); `functionCall {name, args}` is a whole tool call, `args` already an object. Gemini gives
  most calls no id: such a call is `call_<n>`, `n` counting the calls of this answer, so the ids are stable.
- `candidates[0].finishReason`, on the last event: `STOP` is "stop", or "tool_calls" when the answer called
  functions; `MAX_TOKENS` "length"; the blocking reasons (`SAFETY`, `RECITATION`, `BLOCKLIST`, ...)
  "content_filter"; any other "stop". `promptFeedback.blockReason` says the prompt itself was blocked: no
  candidate follows, and the answer is "content_filter".
- `usageMetadata`, a running total in each event: `promptTokenCount`, and `candidatesTokenCount` plus
  `thoughtsTokenCount` (thinking is output the model was paid for, as OpenAI's counts include reasoning).
  `modelVersion` names the model that answered.
- `error {code, message, status}` comes in place of the rest when the API fails mid-answer; 429 and 5xx
  are retryable (`ModelUnavailable`). No I/O here.
"""

from __future__ import annotations

import json
from typing import Any

from switchboard.core.errors import InferenceError, ModelUnavailable
from switchboard.inference.deployments.protocol import FinishReason, delta_chunk, done_chunk
from switchboard.inference.providers.openai_stream import UNPARSED_KEY
from switchboard.inference.providers.stream_events import data_object, mid_stream_error

FILTERED = frozenset({"SAFETY", "RECITATION", "LANGUAGE", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII",
                      "IMAGE_SAFETY"})
RETRYABLE_STATUSES = frozenset({"RESOURCE_EXHAUSTED", "UNAVAILABLE", "INTERNAL", "DEADLINE_EXCEEDED"})
OUTPUT_USAGE_KEYS = ("candidatesTokenCount", "thoughtsTokenCount")


class GeminiStreamParser:
    """One parser per response; `model` is what the done chunk names when the stream names none."""

    finished = False  # no end marker: the body's end is the answer's (see module)

    def __init__(self, model: str) -> None:
        self.model = model
        self._finish: str | None = None  # Gemini's finishReason, or the prompt's blockReason
        self._blocked = False
        self._prompt_tokens = 0
        self._completion_tokens = 0
        self._calls: list[dict[str, Any]] = []

    def feed(self, line: str) -> list[dict[str, Any]]:
        """The delta chunks in one line; blank lines give none."""
        event = data_object(line)
        if event is None:
            return []
        if "error" in event:
            raise _stream_error(event["error"])
        if isinstance(event.get("modelVersion"), str) and event["modelVersion"]:
            self.model = event["modelVersion"]
        if isinstance(usage := event.get("usageMetadata"), dict):
            self._usage(usage)
        if block := (event.get("promptFeedback") or {}).get("blockReason"):
            self._finish, self._blocked = str(block), True
        candidates = event.get("candidates") or ()
        candidate = candidates[0] if isinstance(candidates, list) and candidates else {}
        if not isinstance(candidate, dict):
            raise InferenceError("the chat provider sent a candidate that is not an object")
        content = candidate.get("content")
        parts = content.get("parts") if isinstance(content, dict) else None
        chunks = [chunk for part in parts or () if (chunk := self._part(part))]
        if candidate.get("finishReason"):
            self._finish = str(candidate["finishReason"])
        return chunks

    def done(self) -> dict[str, Any]:
        """The final chunk; raises `ModelUnavailable` when the stream ended before the model finished."""
        if self._finish is None:
            raise ModelUnavailable("the chat provider's stream ended before the answer was finished")
        return done_chunk(self._finish_reason(), self._prompt_tokens, self._completion_tokens, self.model,
                          self._calls)

    def _finish_reason(self) -> FinishReason:
        if self._blocked or self._finish in FILTERED:
            return "content_filter"
        if self._calls:
            return "tool_calls"
        return "length" if self._finish == "MAX_TOKENS" else "stop"

    def _usage(self, usage: dict[str, Any]) -> None:
        if isinstance(usage.get("promptTokenCount"), int):
            self._prompt_tokens = usage["promptTokenCount"]
        if any(isinstance(usage.get(key), int) for key in OUTPUT_USAGE_KEYS):
            self._completion_tokens = sum(int(usage.get(key) or 0) for key in OUTPUT_USAGE_KEYS)

    def _part(self, part: Any) -> dict[str, Any] | None:
        """The delta chunk of one part, if it is answer text; a function call is kept for the done chunk."""
        if not isinstance(part, dict):
            raise InferenceError("the chat provider sent a content part that is not an object")
        if isinstance(call := part.get("functionCall"), dict):
            self._calls.append(_tool_call(len(self._calls), call))
        elif isinstance(text := part.get("text"), str) and text and not part.get("thought"):
            return delta_chunk(text)
        return None


def _tool_call(index: int, call: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(call.get("name"), str) or not call["name"]:
        raise InferenceError(f"the chat provider sent tool call {index} without a tool name")
    args = call.get("args")
    # Gemini sends args as an object; anything else is kept raw for the planner, as malformed JSON is.
    arguments = args if isinstance(args, dict) else {} if args is None else {UNPARSED_KEY: json.dumps(args)}
    return {"id": str(call.get("id") or f"call_{index}"), "name": call["name"], "arguments": arguments}


def _stream_error(error: Any) -> InferenceError:
    if not isinstance(error, dict):
        return mid_stream_error(error, retryable=False)
    code = error.get("code")
    retryable = error.get("status") in RETRYABLE_STATUSES or (
        isinstance(code, int) and (code == 429 or code >= 500))
    return mid_stream_error(error.get("message") or error.get("status"), retryable)
