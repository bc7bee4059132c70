"""Tools shipped with Switchboard."""

from __future__ import annotations

from switchboard.tools.builtin.calculator import CALCULATOR
from switchboard.tools.builtin.clock import CLOCK
from switchboard.tools.builtin.web_fetch import web_fetch_tool
from switchboard.tools.registry import Tool

# Offered only when enabled (SWITCHBOARD_ENABLED_TOOLS) and allowed by the callsystem and the guild.
BUILTIN_TOOLS: tuple[Tool, ...] = (CALCULATOR, CLOCK, web_fetch_tool())
