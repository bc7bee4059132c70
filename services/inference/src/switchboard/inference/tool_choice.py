"""A request's optional `tool_choice`, read the same way by every chat backend (hosted drivers and local llama.cpp).

"auto" (the model decides), "none" (no tool call), "required" or its alias "any" (some tool call), or the
name of an offered tool (that call, forced). It means something only with tools, so without them it is
ignored (providers refuse a choice with no tools); a name that is not offered is refused here, not left
to the provider, whose answer to it differs from one API to the next.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from switchboard.core.errors import InferenceError

MODES: dict[str, Literal["auto", "none", "required"]] = {
    "auto": "auto", "none": "none", "required": "required", "any": "required"}


@dataclass(frozen=True)
class ToolChoice:
    mode: Literal["auto", "none", "required", "tool"]
    name: str = ""  # the forced tool, for mode "tool"


def read_tool_choice(request: dict[str, Any]) -> ToolChoice | None:
    """The request's choice; None when it makes none or offers no tools."""
    choice, tools = request.get("tool_choice"), request.get("tools")
    if not choice or not tools:
        return None
    if mode := MODES.get(choice):
        return ToolChoice(mode)
    if all(tool["name"] != choice for tool in tools):
        raise InferenceError(f"tool_choice {choice!r} names no tool offered in this request")
    return ToolChoice("tool", choice)
