"""The tools the workers offer, as they declared them, for checking a call before it is queued.

Tools workers publish each declaration (name, description, JSON Schema, timeout, side effects) to
`sb:tools` when they start (`ToolRegistry.publish`). The planner validates arguments against the
published schema, so a bad call is a typed error before any task exists; the worker validates again
when it runs the tool. Tools backed by model roles (`role_tools.ROLE_TOOLS`: `imagine`,
`describe_image`) run in the planner, so no worker publishes them: the catalog knows them itself.
"""

from __future__ import annotations

import json
from typing import Any

import redis.asyncio as aioredis
from jsonschema import Draft202012Validator

from switchboard.core import keys
from switchboard.core.errors import InvalidToolArguments, ToolNotAllowed
from switchboard.core.role_tools import ROLE_TOOLS
from switchboard.core.wire import ToolSpec


class ToolCatalog:
    def __init__(self, client: aioredis.Redis) -> None:
        self._redis = client
        self._validators: dict[str, Draft202012Validator] = {}  # by declaration JSON: schemas rarely change

    async def check(self, name: str, arguments: dict[str, Any]) -> None:
        """Raise `ToolNotAllowed` when no worker offers the tool, `InvalidToolArguments` for bad arguments."""
        role_tool = ROLE_TOOLS.get(name)
        declaration = role_tool.declaration() if role_tool else await self._redis.hget(keys.TOOLS, name)
        if declaration is None:
            raise ToolNotAllowed(f"no tools worker offers {name!r}")
        validator = self._validators.get(declaration)
        if validator is None:
            validator = self._validators[declaration] = Draft202012Validator(json.loads(declaration)["parameters"])
        errors = sorted(validator.iter_errors(arguments), key=lambda e: list(e.path))
        if errors:
            detail = "; ".join(f"{'/'.join(map(str, e.path)) or '(arguments)'}: {e.message}" for e in errors)
            raise InvalidToolArguments(f"{name}: {detail}")

    async def specs(self, names: frozenset[str]) -> list[ToolSpec]:
        """The declarations of the tools in `names` that a worker (or a model role) offers, to show a model."""
        published = sorted(names - ROLE_TOOLS.keys())
        found = dict(zip(published, await self._redis.hmget(keys.TOOLS, published), strict=True)) if published else {}
        found |= {name: ROLE_TOOLS[name].declaration() for name in names & ROLE_TOOLS.keys()}
        return [ToolSpec(name=name, description=d["description"], parameters=d["parameters"])
                for name in sorted(names) if (raw := found.get(name)) is not None for d in (json.loads(raw),)]
