"""The bridge's chat request in the format of the Gemini API (`POST /v1beta/models/{model}:streamGenerateContent`).

- System messages become `systemInstruction: {"parts": [{"text"}]}`.
- The rest become `contents`: turns with role `user` or `model` (the assistant), each a list of `parts`:
  `{"text"}`; `{"functionCall": {"name", "args"}}` for each tool call of the assistant; and for a tool
  result, `{"functionResponse": {"name", "response": {"output": <text>}}}` in a `user` turn (`output` is
  the key Gemini reads as a function's result). Gemini's calls carry no id, so a response names its
  function instead: the name is looked up from the assistant's call with the result's `tool_call_id`. A
  result whose call is not in the history (trimmed away) is sent as text, since Gemini refuses a nameless
  response. A user's images (`image_parts`) are `{"inlineData": {"mimeType", "data"}}` parts before the
  text, spelled in lowerCamelCase like every other field here: that is the REST reference's JSON form (the
  API also reads the proto names, `inline_data` / `mime_type`, which its curl examples use). Parallel
  results, and neighbours of one role, fold into one turn (`turns.merge_turns`); empty
  text is left out, as Gemini refuses empty text parts.
- Thinking models sign their function calls (`thoughtSignature`) and Gemini 3 refuses a history whose
  calls lost their signature. The bridge's history cannot carry one, so the first call of each model turn
  gets the placeholder Google documents for calls that have none (`SKIPPED_SIGNATURE`).
- Tools are `[{"functionDeclarations": [{"name", "description", "parametersJsonSchema"}]}]`: the schema as
  JSON Schema. The older `parameters` field takes only an OpenAPI subset and refuses keywords such as
  `additionalProperties`, which every tool of this project sets.
- `generationConfig` holds `maxOutputTokens`, `temperature` and `seed`; a `tool_choice` becomes
  `toolConfig.functionCallingConfig` (`AUTO`, `NONE`, `ANY`, or `ANY` limited to one function).
"""

from __future__ import annotations

from typing import Any

from switchboard.inference.providers.image_parts import check_images, message_images
from switchboard.inference.providers.turns import merge_turns
from switchboard.inference.tool_choice import ToolChoice, read_tool_choice

SYSTEM_SEPARATOR = "\n\n"
SKIPPED_SIGNATURE = "skip_thought_signature_validator"
CALLING_MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY", "tool": "ANY"}


def gemini_body(request: dict[str, Any]) -> dict[str, Any]:
    messages = request["messages"]
    check_images(messages)
    config: dict[str, Any] = {"maxOutputTokens": request["max_tokens"], "temperature": request["temperature"]}
    if request.get("seed") is not None:
        config["seed"] = request["seed"]
    body: dict[str, Any] = {"contents": gemini_contents(messages), "generationConfig": config}
    if system := [m["content"] for m in messages if m["role"] == "system" and m["content"]]:
        body["systemInstruction"] = {"parts": [{"text": SYSTEM_SEPARATOR.join(system)}]}
    if request.get("tools"):
        body["tools"] = [{"functionDeclarations": [gemini_function(tool) for tool in request["tools"]]}]
        if choice := read_tool_choice(request):
            body["toolConfig"] = {"functionCallingConfig": gemini_calling_config(choice)}
    return body


def gemini_contents(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The conversation without its system messages, as `user`/`model` turns of parts."""
    names = {call["id"]: call["name"] for message in messages if message["role"] == "assistant"
             for call in message.get("tool_calls") or ()}
    contents = merge_turns((gemini_turn(m, names) for m in messages if m["role"] != "system"), "parts")
    for content in contents:
        calls = [part for part in content["parts"] if "functionCall" in part]
        if calls:  # parallel calls: only the first is signed
            calls[0]["thoughtSignature"] = SKIPPED_SIGNATURE
    return contents


def gemini_turn(message: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """One protocol message (not `system`) as a turn of parts; `names` maps tool call ids to tool names."""
    text = message["content"]
    if message["role"] == "tool":
        call_id = message.get("tool_call_id") or ""
        if call_id not in names:
            return {"role": "user", "parts": [{"text": f"[result of tool call {call_id or '?'}] {text}"}]}
        return {"role": "user", "parts": [{"functionResponse": {"name": names[call_id], "response": {"output": text}}}]}
    parts: list[dict[str, Any]] = [{"text": text}] if text else []
    if message["role"] == "assistant":
        parts += [{"functionCall": {"name": call["name"], "args": call.get("arguments") or {}}}
                  for call in message.get("tool_calls") or ()]
        return {"role": "model", "parts": parts}
    images = [{"inlineData": {"mimeType": image.media_type, "data": image.data}} for image in message_images(message)]
    return {"role": "user", "parts": [*images, *parts]}


def gemini_function(tool: dict[str, Any]) -> dict[str, Any]:
    return {"name": tool["name"], "description": tool.get("description", ""),
            "parametersJsonSchema": tool.get("parameters") or {"type": "object"}}


def gemini_calling_config(choice: ToolChoice) -> dict[str, Any]:
    config: dict[str, Any] = {"mode": CALLING_MODES[choice.mode]}
    if choice.mode == "tool":
        config["allowedFunctionNames"] = [choice.name]
    return config
