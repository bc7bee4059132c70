"""Reads an Anthropic Messages stream (server-sent events) into the bridge's chunks.

Each event is an `event: <type>` line and a `data: {"type": <type>, ...}` line; the data repeats the type,
so only data lines are read (`stream_events.data_object`):

- `message_start`: `message.model` and `message.usage.input_tokens` (the prompt);
- `content_block_start`: block `index` and `content_block`, `{"type": "text"}` or
  `{"type": "tool_use", "id", "name", "input": {}}`;
- `content_block_delta`: `delta` `{"type": "text_delta", "text"}` (a `delta` chunk), or
  `{"type": "input_json_delta", "partial_json"}`, a piece of a tool_use block's arguments (a JSON text),
  joined per block index and parsed at the end like OpenAI's (`openai_stream.parse_arguments`); other
  deltas (thinking, signatures, citations) hold nothing the bridge shows;
- `content_block_stop`; `ping` (a keep-alive);
- `message_delta`: `delta.stop_reason` and `usage.output_tokens` (a running total);
- `message_stop`: the end of the answer (`finished`);
- `error`: `error.type` and `error.message`, sent in place of the rest when the API fails mid-answer
  (`overloaded_error`); overloaded, API and rate-limit errors are retryable (`ModelUnavailable`).

Stop reasons: `end_turn` and `stop_sequence` are "stop", `max_tokens` "length", `tool_use` "tool_calls",
`refusal` "content_filter"; any other (a newer one) is "stop". No I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from switchboard.core.errors import InferenceError, ModelUnavailable
from switchboard.inference.deployments.protocol import FinishReason, delta_chunk, done_chunk
from switchboard.inference.providers.openai_stream import parse_arguments
from switchboard.inference.providers.stream_events import data_object, mid_stream_error

STOP_REASONS: dict[str, FinishReason] = {
    "end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls",
    "refusal": "content_filter"}
RETRYABLE_ERRORS = frozenset({"overloaded_error", "api_error", "rate_limit_error"})
# With prompt caching the prompt is split: uncached, written to the cache, read from it.
PROMPT_USAGE_KEYS = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")


@dataclass
class _ToolUse:
    id: str = ""
    name: str = ""
    input: dict[str, Any] = field(default_factory=dict)  # the block's start gives it whole, if ever
    partial_json: list[str] = field(default_factory=list)


class AnthropicStreamParser:
    """One parser per response; `model` is what the done chunk names when the stream names none."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.finished = False  # `message_stop` seen
        self._stop_reason: str | None = None
        self._prompt_tokens = 0
        self._completion_tokens = 0
        self._tool_uses: dict[int, _ToolUse] = {}

    def feed(self, line: str) -> list[dict[str, Any]]:
        """The delta chunks in one line; `event:` lines, blank lines and pings give none."""
        event = data_object(line)
        if event is None:
            return []
        kind = event.get("type")
        if kind == "content_block_delta":
            return self._delta(event)
        if kind == "message_start":
            self._message_start(event.get("message") or {})
        elif kind == "content_block_start":
            self._block_start(event)
        elif kind == "message_delta":
            self._stop_reason = (event.get("delta") or {}).get("stop_reason") or self._stop_reason
            self._usage(event.get("usage") or {})
        elif kind == "message_stop":
            self.finished = True
        elif kind == "error":
            error = event.get("error") or {}
            raise mid_stream_error(error.get("message") or error.get("type"),
                                   retryable=error.get("type") in RETRYABLE_ERRORS)
        return []  # ping, content_block_stop, and event types newer than this parser

    def done(self) -> dict[str, Any]:
        """The final chunk; raises `ModelUnavailable` when the stream ended before the model finished."""
        if self._stop_reason is None and not self.finished:  # the answer was cut off before message_delta
            raise ModelUnavailable("the chat provider's stream ended before the answer was finished")
        calls = [_finished_call(index, self._tool_uses[index]) for index in sorted(self._tool_uses)]
        return done_chunk(STOP_REASONS.get(self._stop_reason or "", "stop"), self._prompt_tokens,
                          self._completion_tokens, self.model, calls)

    def _message_start(self, message: dict[str, Any]) -> None:
        if isinstance(message.get("model"), str) and message["model"]:
            self.model = message["model"]
        self._usage(message.get("usage") or {})

    def _usage(self, usage: dict[str, Any]) -> None:
        """Both counts are running totals: the latest event that carries one is right."""
        if any(isinstance(usage.get(key), int) for key in PROMPT_USAGE_KEYS):
            self._prompt_tokens = sum(int(usage.get(key) or 0) for key in PROMPT_USAGE_KEYS)
        if isinstance(usage.get("output_tokens"), int):
            self._completion_tokens = usage["output_tokens"]

    def _block_start(self, event: dict[str, Any]) -> None:
        block = event.get("content_block") or {}
        if block.get("type") == "tool_use":
            tool_use = self._tool_uses.setdefault(_block_index(event), _ToolUse())
            tool_use.id, tool_use.name = str(block.get("id") or ""), str(block.get("name") or "")
            if isinstance(block.get("input"), dict):
                tool_use.input = block["input"]

    def _delta(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        delta = event.get("delta") or {}
        if delta.get("type") == "text_delta" and isinstance(text := delta.get("text"), str) and text:
            return [delta_chunk(text)]
        if delta.get("type") == "input_json_delta" and isinstance(piece := delta.get("partial_json"), str):
            self._tool_uses.setdefault(_block_index(event), _ToolUse()).partial_json.append(piece)
        return []


def _block_index(event: dict[str, Any]) -> int:
    index = event.get("index", 0)
    if not isinstance(index, int) or isinstance(index, bool):
        raise InferenceError("the chat provider sent a content block with no usable index")
    return index


def _finished_call(index: int, tool_use: _ToolUse) -> dict[str, Any]:
    if not tool_use.name:
        raise InferenceError(f"the chat provider sent tool call {index} without a tool name")
    raw = "".join(tool_use.partial_json)
    # Streamed input starts as `{}` and arrives as JSON text; a block that started whole has no pieces.
    arguments = parse_arguments(raw) if raw.strip() else tool_use.input
    return {"id": tool_use.id or f"call_{index}", "name": tool_use.name, "arguments": arguments}
