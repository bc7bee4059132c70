"""Tools: argument validation, deny-by-default, the calculator's safety bounds."""

from __future__ import annotations

import pytest

from switchboard.core.errors import ConfigError, InvalidToolArguments, ToolTimeout, UnknownTool
from switchboard.tools.builtin import BUILTIN_TOOLS
from switchboard.tools.registry import Tool, ToolRegistry


@pytest.fixture
def tools() -> ToolRegistry:
    return ToolRegistry(BUILTIN_TOOLS, enabled=("calculator", "clock"))


@pytest.mark.parametrize(("expression", "value"), [("2+3*4", 14), ("(1+2)**3", 27), ("sqrt(16)/2", 2.0),
                                                   ("-7 // 2", -4), ("round(pi, 2)", 3.14)])
def test_calculator(tools: ToolRegistry, expression: str, value: float) -> None:
    assert tools.call("calculator", {"expression": expression})["value"] == value


@pytest.mark.parametrize("expression", ["__import__('os')", "open('x')", "2**100000", "1/0", "x + 1", "True + 1",
                                        "[1, 2]", "9" * 150 + "**9"])
def test_calculator_refuses_anything_but_bounded_arithmetic(tools: ToolRegistry, expression: str) -> None:
    with pytest.raises(InvalidToolArguments):
        tools.call("calculator", {"expression": expression})


@pytest.mark.parametrize("arguments", [{}, {"expression": 3}, {"expression": "1", "extra": True}, {"expression": ""}])
def test_arguments_are_validated_against_the_schema(tools: ToolRegistry, arguments: dict) -> None:
    with pytest.raises(InvalidToolArguments, match="calculator"):
        tools.call("calculator", arguments)


def test_clock_in_a_time_zone(tools: ToolRegistry) -> None:
    result = tools.call("clock", {"timezone": "Europe/Paris"})
    assert result["timezone"] == "Europe/Paris" and result["iso"][-6:] in {"+01:00", "+02:00"}
    with pytest.raises(InvalidToolArguments):
        tools.call("clock", {"timezone": "Mars/Olympus"})


def test_tools_are_denied_unless_enabled() -> None:
    registry = ToolRegistry(BUILTIN_TOOLS, enabled=("clock",))
    with pytest.raises(UnknownTool):
        registry.call("calculator", {"expression": "1+1"})
    with pytest.raises(ConfigError, match="weather"):
        ToolRegistry(BUILTIN_TOOLS, enabled=("weather",))


def test_a_slow_tool_times_out() -> None:
    import threading

    release = threading.Event()
    slow = Tool(name="slow", description="waits", parameters={"type": "object"},
                run=lambda: release.wait(5), timeout_s=0.1)
    try:
        with pytest.raises(ToolTimeout):
            ToolRegistry([slow], enabled=["slow"]).call("slow", {})
    finally:
        release.set()


def test_invalid_schema_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="schema"):
        Tool(name="bad", description="", parameters={"type": "nonsense"}, run=lambda: None)
