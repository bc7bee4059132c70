"""Tools shipped with Switchboard."""

from __future__ import annotations

from switchboard.tools.builtin.calculator import CALCULATOR
from switchboard.tools.builtin.clock import CLOCK
from switchboard.tools.registry import Tool

BUILTIN_TOOLS: tuple[Tool, ...] = (CALCULATOR, CLOCK)
