"""Tools shipped with Switchboard."""

from __future__ import annotations

import redis

from switchboard.core.memory import DEFAULT_LIMITS, MemoryLimits, SyncMemoryStore
from switchboard.tools.builtin.calculator import CALCULATOR
from switchboard.tools.builtin.channel_search import channel_search_tool
from switchboard.tools.builtin.clock import CLOCK
from switchboard.tools.builtin.memory import memory_tools
from switchboard.tools.builtin.sleep import DEFAULT_SLEEP_TTL_S, sleep_tool
from switchboard.tools.builtin.web_fetch import web_fetch_tool
from switchboard.tools.registry import Tool

# Offered only when enabled (SWITCHBOARD_ENABLED_TOOLS) and allowed by the callsystem and the guild.
BUILTIN_TOOLS: tuple[Tool, ...] = (CALCULATOR, CLOCK, web_fetch_tool())


def builtin_tools(client: redis.Redis, sleep_ttl_s: int = DEFAULT_SLEEP_TTL_S,
                  memory_limits: MemoryLimits = DEFAULT_LIMITS) -> tuple[Tool, ...]:
    """Every built-in tool, including those that read or write Redis (memory, channel search, sleep)."""
    return (*BUILTIN_TOOLS, *memory_tools(SyncMemoryStore(client, memory_limits)), channel_search_tool(client),
            sleep_tool(client, sleep_ttl_s))
