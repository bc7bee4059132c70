"""Reads an OpenAI Chat Completions stream (server-sent events) into the bridge's chunks.

`ChatStreamParser.feed(line)` takes one line of the response body and returns the `delta` chunks it
holds; after `data: [DONE]`, `done()` gives the final chunk with the finish reason, token usage, model and
the tool calls the model asked for. No I/O here, so the parser is tested by feeding it lines.

Tool calls arrive in fragments keyed by `index`: the first fragment carries `id` and `function.name`, the
rest carry pieces of `function.arguments` (a JSON string). Compatible servers bend this: llama-cpp-python
repeats id and name in every fragment; some leave `index` out and send each call whole, so there a fragment
naming another id or tool than the last call's starts a new call. A server that ends a tool-calling answer
with finish reason "stop" is read as "tool_calls", so the done chunk's reason agrees with its calls.

At the end each call's arguments are parsed; arguments that are not a JSON object do not fail the step:
the call gets `{"_unparsed": "<raw text>"}` (`UNPARSED_KEY`) so the planner can hand the model its own
malformed text in the tool error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from switchboard.core.errors import InferenceError, ModelUnavailable
from switchboard.inference.deployments.protocol import delta_chunk

UNPARSED_KEY = "_unparsed"
DONE_MARKER = "[DONE]"
MAX_ERROR_CHARS = 300


@dataclass
class _PartialCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class ChatStreamParser:
    """One parser per response; `model` is what the done chunk names when the stream names none."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.finished = False  # `data: [DONE]` seen
        self._finish_reason: str | None = None
        self._prompt_tokens = 0
        self._completion_tokens = 0
        self._calls: dict[int, _PartialCall] = {}

    def feed(self, line: str) -> list[dict[str, Any]]:
        """The delta chunks in one line; comments (`: ping`), `event:`/`id:` fields and blank lines give none."""
        if not line.startswith("data:"):
            return []
        data = line[len("data:"):].strip()
        if data == DONE_MARKER:
            self.finished = True
            return []
        try:
            event = json.loads(data)
        except ValueError:
            raise InferenceError("the chat provider sent an unreadable stream event") from None
        if not isinstance(event, dict):
            raise InferenceError("the chat provider sent a stream event that is not an object")
        if "error" in event:  # some providers report a failure inside a 200 stream
            raise InferenceError(f"the chat provider failed mid-answer: {_error_text(event['error'])}")
        return self._event(event)

    def done(self) -> dict[str, Any]:
        """The final chunk; raises `ModelUnavailable` when the stream ended before the model finished."""
        if self._finish_reason is None and not self.finished:
            raise ModelUnavailable("the chat provider's stream ended before the answer was finished")
        finish_reason = self._finish_reason or "stop"
        if self._calls and finish_reason == "stop":
            finish_reason = "tool_calls"
        chunk: dict[str, Any] = {
            "type": "done", "finish_reason": finish_reason, "model": self.model,
            "prompt_tokens": self._prompt_tokens, "completion_tokens": self._completion_tokens}
        if self._calls:
            chunk["tool_calls"] = [_finished_call(index, self._calls[index]) for index in sorted(self._calls)]
        return chunk

    def _event(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        if isinstance(event.get("model"), str) and event["model"]:
            self.model = event["model"]
        if isinstance(usage := event.get("usage"), dict):  # the last event, with include_usage
            self._prompt_tokens = int(usage.get("prompt_tokens") or 0)
            self._completion_tokens = int(usage.get("completion_tokens") or 0)
        chunks: list[dict[str, Any]] = []
        for choice in event.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue  # one answer is asked for (n=1); anything else is not ours
            delta = choice.get("delta") or {}
            if isinstance(text := delta.get("content"), str) and text:
                chunks.append(delta_chunk(text))
            for fragment in delta.get("tool_calls") or ():
                if not isinstance(fragment, dict):
                    raise InferenceError("the chat provider sent a tool call that is not an object")
                self._add_fragment(fragment)
            if choice.get("finish_reason"):
                self._finish_reason = str(choice["finish_reason"])
        return chunks

    def _add_fragment(self, fragment: dict[str, Any]) -> None:
        call = self._calls.setdefault(self._call_index(fragment), _PartialCall())
        # id and name come whole in the first fragment; a provider repeating them must not double them.
        call.id = call.id or fragment.get("id") or ""
        function = fragment.get("function") or {}
        call.name = call.name or function.get("name") or ""
        if isinstance(piece := function.get("arguments"), str):
            call.arguments.append(piece)

    def _call_index(self, fragment: dict[str, Any]) -> int:
        """Which call a fragment belongs to: its `index`, or without one the last call unless it names another."""
        index = fragment.get("index")
        if isinstance(index, int) and not isinstance(index, bool):
            return index
        if not self._calls:
            return 0
        last = max(self._calls)
        call = self._calls[last]
        call_id, name = fragment.get("id"), (fragment.get("function") or {}).get("name")
        starts_another = (call_id and call.id and call_id != call.id) or (name and call.name and name != call.name)
        return last + 1 if starts_another else last


def _finished_call(index: int, call: _PartialCall) -> dict[str, Any]:
    if not call.name:
        raise InferenceError(f"the chat provider sent tool call {index} without a tool name")
    # Without an id the tool message could not name its call; an index-based id keeps them paired.
    return {"id": call.id or f"call_{index}", "name": call.name, "arguments": parse_arguments("".join(call.arguments))}


def parse_arguments(raw: str) -> dict[str, Any]:
    """A tool call's arguments as a dict: `{}` for none, `{UNPARSED_KEY: raw}` when not a JSON object."""
    if not raw.strip():
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {UNPARSED_KEY: raw}
    return parsed if isinstance(parsed, dict) else {UNPARSED_KEY: raw}


def _error_text(error: Any) -> str:
    message = error.get("message") if isinstance(error, dict) else error
    return str(message or "no message")[:MAX_ERROR_CHARS]
