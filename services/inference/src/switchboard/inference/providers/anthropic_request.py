"""The bridge's chat request in the format of Anthropic's Messages API (`POST /v1/messages`).

Anthropic keeps the system prompt out of the conversation (`system`, top level), and wants `user` and
`assistant` turns to alternate, each a list of content blocks:

- an assistant's tool calls are `tool_use` blocks (`id`, `name`, `input`: the arguments object) after its
  text, if any;
- tool results (`role: "tool"` messages) are `tool_result` blocks (`tool_use_id`, `content`) in a `user`
  turn, so parallel results, and a user message after them, fold into one turn (`turns.merge_turns`); in
  that turn the results must come first;
- a user's images (`image_parts`) are `image` blocks with a `base64` source, before the message's text, the
  order Anthropic recommends (the question after the picture);
- empty text is left out, as the API refuses empty text blocks.

Tools are `{name, description, input_schema}`. The API takes no seed, so `seed` is not sent, and its
temperature ends at 1, where the bridge's goes to 2: higher values are sent as 1.
"""

from __future__ import annotations

from typing import Any

from switchboard.inference.providers.image_parts import check_images, message_images
from switchboard.inference.providers.turns import merge_turns
from switchboard.inference.tool_choice import ToolChoice, read_tool_choice

MAX_TEMPERATURE = 1.0
SYSTEM_SEPARATOR = "\n\n"  # between several system messages, which the API takes as one prompt


def anthropic_body(request: dict[str, Any], model: str) -> dict[str, Any]:
    messages = request["messages"]
    check_images(messages)
    body: dict[str, Any] = {
        "model": model, "max_tokens": request["max_tokens"], "messages": anthropic_messages(messages),
        "temperature": min(float(request["temperature"]), MAX_TEMPERATURE), "stream": True}
    if system := [m["content"] for m in messages if m["role"] == "system" and m["content"]]:
        body["system"] = SYSTEM_SEPARATOR.join(system)
    if request.get("tools"):
        body["tools"] = [anthropic_tool(tool) for tool in request["tools"]]
        if choice := read_tool_choice(request):
            body["tool_choice"] = anthropic_tool_choice(choice)
    return body


def anthropic_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The conversation without its system messages, as alternating turns of content blocks."""
    turns = merge_turns((anthropic_turn(m) for m in messages if m["role"] != "system"), "content")
    for turn in turns:
        if turn["role"] == "user":  # the API wants a turn's tool_result blocks before any text in it
            turn["content"].sort(key=lambda block: block["type"] != "tool_result")
    return turns


def anthropic_turn(message: dict[str, Any]) -> dict[str, Any]:
    """One protocol message (not `system`) as a turn of content blocks, before turns are merged."""
    if message["role"] == "tool":
        result: dict[str, Any] = {"type": "tool_result", "tool_use_id": message.get("tool_call_id") or ""}
        if message["content"]:
            result["content"] = message["content"]
        return {"role": "user", "content": [result]}
    blocks: list[dict[str, Any]] = [
        {"type": "image", "source": {"type": "base64", "media_type": image.media_type, "data": image.data}}
        for image in message_images(message)]
    if message["content"]:
        blocks.append({"type": "text", "text": message["content"]})
    if message["role"] == "assistant":
        blocks += [{"type": "tool_use", "id": call["id"], "name": call["name"], "input": call.get("arguments") or {}}
                   for call in message.get("tool_calls") or ()]
    return {"role": message["role"], "content": blocks}


def anthropic_tool(tool: dict[str, Any]) -> dict[str, Any]:
    return {"name": tool["name"], "description": tool.get("description", ""),
            "input_schema": tool.get("parameters") or {"type": "object"}}


def anthropic_tool_choice(choice: ToolChoice) -> dict[str, Any]:
    if choice.mode == "tool":
        return {"type": "tool", "name": choice.name}
    return {"type": {"auto": "auto", "none": "none", "required": "any"}[choice.mode]}
