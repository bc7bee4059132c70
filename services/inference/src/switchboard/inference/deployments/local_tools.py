"""Tool calls for the local llama.cpp engine.

A GGUF chat model has no tool-call API, so the engine offers tools in words and holds the model to a
grammar (GBNF, built from the tools' JSON Schemas) while it samples:

- the offer is a system message listing each tool as JSON and saying how to call one: reply with nothing
  but ``{"name": ..., "arguments": {...}}``;
- with ``tool_choice`` "required"/"any" or a tool's name, the model samples under a grammar that admits
  only such a call (to that tool), so even a very small model returns a call whose arguments have the
  schema's shape;
- with "auto", the model samples freely, so prose streams at full speed (a grammar slows sampling by
  about 1.7x on SmolLM2); if its reply opens with ``{`` it is starting a call, and the engine samples it
  again under the call grammar (llama.cpp reuses the evaluated prompt, so the restart costs little).

``read_calls`` turns the generated text back into the neutral ``tool_calls`` of the done chunk. What the
arguments mean is still checked where the tool runs; the grammar only guarantees their shape.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from switchboard.inference.tool_choice import ToolChoice

_ANY_OBJECT: dict[str, Any] = {"type": "object"}


@dataclass(frozen=True)
class ToolOffer:
    """The tools a request offers the local model, and whether it must call one (``forced``)."""

    tools: tuple[Mapping[str, Any], ...]
    forced: bool

    @classmethod
    def from_request(cls, tools: Sequence[Mapping[str, Any]], choice: ToolChoice | None) -> ToolOffer | None:
        """None when there is nothing to offer: no tools, or ``tool_choice`` "none"."""
        if not tools or (choice is not None and choice.mode == "none"):
            return None
        if choice is not None and choice.mode == "tool":
            return cls(tuple(tool for tool in tools if tool["name"] == choice.name), forced=True)
        return cls(tuple(tools), forced=choice is not None and choice.mode == "required")

    def prompt(self) -> str:
        """The system text that offers the tools."""
        listing = "\n".join(json.dumps({"name": tool["name"], "description": tool.get("description", ""),
                                        "parameters": tool.get("parameters") or _ANY_OBJECT})
                            for tool in self.tools)
        how = ("You must call one of them." if self.forced
               else "Call one only if it helps; otherwise answer in words.")
        return (f"You can call these tools:\n{listing}\n{how} To call a tool, reply with nothing but a JSON "
                'object: {"name": "<tool name>", "arguments": {<arguments>}}.')

    def call_grammar(self) -> str:
        """GBNF that admits exactly one call of an offered tool."""
        from llama_cpp.llama_grammar import json_schema_to_gbnf

        calls = [_call_schema(tool) for tool in self.tools]
        return json_schema_to_gbnf(json.dumps({"anyOf": calls} if len(calls) > 1 else calls[0]))

    @staticmethod
    def opens_call(text: str) -> bool:
        """Whether a reply that begins with ``text`` (its first non-blank characters) is a call."""
        return text.lstrip().startswith("{")

    def read_calls(self, text: str) -> list[dict[str, Any]] | None:
        """The tool call ``text`` makes, as the done chunk's ``tool_calls``; None when it is not one."""
        if not self.opens_call(text):
            return None
        try:
            call = json.loads(text, strict=False)
        except json.JSONDecodeError:
            return None
        names = {tool["name"] for tool in self.tools}
        if not isinstance(call, dict) or call.get("name") not in names or not isinstance(call.get("arguments"), dict):
            return None
        return [{"id": "call_0", "name": call["name"], "arguments": call["arguments"]}]


def offered(messages: Sequence[Mapping[str, str]], offer: ToolOffer | None) -> list[dict[str, str]]:
    """The conversation as the model reads it: the offer added to the system message (or as one)."""
    conversation = [dict(message) for message in messages]
    if offer is None:
        return conversation
    if conversation and conversation[0]["role"] == "system":
        conversation[0]["content"] = f"{conversation[0]['content']}\n\n{offer.prompt()}"
    else:
        conversation.insert(0, {"role": "system", "content": offer.prompt()})
    return conversation


def _call_schema(tool: Mapping[str, Any]) -> dict[str, Any]:
    parameters = tool.get("parameters") or _ANY_OBJECT
    if not _convertible(parameters):
        parameters = _ANY_OBJECT
    return {"type": "object", "properties": {"name": {"const": tool["name"]}, "arguments": parameters},
            "required": ["name", "arguments"], "additionalProperties": False}


def _convertible(schema: Mapping[str, Any]) -> bool:
    """Whether the grammar converter can follow ``schema``; one it cannot is relaxed to any object, not refused
    (remote references and the like are rare in tool schemas, and the tool still checks its arguments)."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    try:
        json_schema_to_gbnf(json.dumps({"type": "object", "properties": {"a": schema}}))
    except Exception:
        return False
    return True
