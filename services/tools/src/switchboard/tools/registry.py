"""Tools: what a model may call, described by a JSON Schema, validated before every run.

A tool is a plain function plus its declaration. The registry refuses duplicates, checks each schema
when a tool is registered, and validates arguments (in the planner before enqueueing and again in the
worker) so a bad call is a typed `InvalidToolArguments`, never a crash inside the tool.

A tool with `max_concurrency` runs in its own lane (`tools:<name>`): at most that many calls at once
across every tools worker, held as leases in Redis (`leases.LaneSlots`); a call that finds the lane full
for the tool's whole timeout fails with `LaneFull`. A registry built without slots (unit tests) does
not enforce caps.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import redis
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from switchboard.core import keys
from switchboard.core.errors import (
    ConfigError,
    InvalidToolArguments,
    SwitchboardError,
    ToolError,
    ToolTimeout,
    UnknownTool,
)
from switchboard.core.leases import LaneSlots
from switchboard.core.role_tools import ROLE_TOOLS
from switchboard.core.steps import mark_lane
from switchboard.core.wire import ToolCallContext

LEASE_MARGIN_S = 5.0


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]
    run: Callable[..., Any]
    timeout_s: float = 5.0
    max_concurrency: int | None = None  # calls at once across all workers (its lane); None: no cap
    side_effects: bool = False
    needs_context: bool = False  # `run` also gets `context=ToolCallContext` (who and where)
    validator: Draft202012Validator = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            Draft202012Validator.check_schema(self.parameters)
        except SchemaError as exc:
            raise ConfigError(f"tool {self.name}: invalid parameter schema: {exc.message}") from exc
        object.__setattr__(self, "validator", Draft202012Validator(self.parameters))

    def validate(self, arguments: dict[str, Any]) -> None:
        errors = sorted(self.validator.iter_errors(arguments), key=lambda e: list(e.path))
        if errors:
            detail = "; ".join(f"{'/'.join(map(str, e.path)) or '(arguments)'}: {e.message}" for e in errors)
            raise InvalidToolArguments(f"{self.name}: {detail}")


class ToolRegistry:
    """The tools one worker offers; only tools in `enabled` can be looked up."""

    def __init__(self, tools: Iterable[Tool], enabled: Iterable[str], slots: LaneSlots | None = None) -> None:
        self._slots = slots
        self._tools: dict[str, Tool] = {}
        for tool in tools:
            if tool.name in self._tools:
                raise ConfigError(f"tool {tool.name} is registered twice")
            if tool.name in ROLE_TOOLS:
                raise ConfigError(f"tool {tool.name}: the name belongs to a tool the planner runs with a model role")
            self._tools[tool.name] = tool
        self._enabled = frozenset(enabled)
        if unknown := self._enabled - self._tools.keys():
            raise ConfigError(f"enabled tools not found: {sorted(unknown)}; known: {sorted(self._tools)}")
        self._executor = ThreadPoolExecutor(thread_name_prefix="tool")

    def get(self, name: str) -> Tool:
        if name not in self._enabled:
            raise UnknownTool(f"tool {name!r} is not available")
        return self._tools[name]

    def declarations(self) -> list[dict[str, Any]]:
        """Enabled tools as JSON Schema function declarations (plus timeout, lane cap and side effects)."""
        return [{"name": t.name, "description": t.description, "parameters": t.parameters,
                 "timeout_s": t.timeout_s, "max_concurrency": t.max_concurrency, "side_effects": t.side_effects}
                for name, t in sorted(self._tools.items()) if name in self._enabled]

    def publish(self, client: redis.Redis) -> None:
        """Tell planners what this worker offers, so they can check calls before queueing them."""
        if declarations := self.declarations():
            client.hset(keys.TOOLS, mapping={d["name"]: json.dumps(d, sort_keys=True) for d in declarations})

    def call(self, name: str, arguments: dict[str, Any], context: ToolCallContext | None = None) -> Any:
        """Validate and run a tool within its timeout; raises a `ToolError` subclass on failure."""
        tool = self.get(name)
        tool.validate(arguments)
        if tool.needs_context and context is None:
            raise ToolError(f"{name} acts for a user and channel, and the call did not say which")
        extra = {"context": context} if tool.needs_context else {}
        with self._lane(tool):
            return self._run(tool, arguments, extra)

    def _lane(self, tool: Tool) -> AbstractContextManager[None]:
        if tool.max_concurrency is None or self._slots is None:
            return nullcontext()
        mark_lane(f"tools:{tool.name}")
        # The lease outlives the call's timeout, so it is only reclaimed from a worker that died.
        return self._slots.hold(f"tools:{tool.name}", tool.max_concurrency, ttl_s=tool.timeout_s + LEASE_MARGIN_S,
                                wait_s=tool.timeout_s)

    def _run(self, tool: Tool, arguments: dict[str, Any], extra: dict[str, Any]) -> Any:
        name = tool.name
        future = self._executor.submit(tool.run, **arguments, **extra)
        try:
            return future.result(timeout=tool.timeout_s)
        except FutureTimeout as exc:
            raise ToolTimeout(f"{name} ran longer than {tool.timeout_s:g} s") from exc
        except SwitchboardError:  # typed already (a refusal such as `LimitReached`): the model reads its code
            raise
        except Exception as exc:
            raise ToolError(f"{name} failed: {type(exc).__name__}: {exc}") from exc
