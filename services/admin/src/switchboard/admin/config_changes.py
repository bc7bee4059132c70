"""Checking, auditing and showing configuration changes: shared by the admin API and the CLI."""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic import BaseModel

from switchboard.admin.deps import AdminDeps
from switchboard.core.config import ConfigPatch
from switchboard.core.errors import UnknownCallsystem
from switchboard.core.wire import AuditEntry


async def config_problems(services: AdminDeps, patch: ConfigPatch, guild_id: str | None) -> list[tuple[str, str]]:
    """(field, message) for each name in `patch` that does not exist (a callsystem, a persona guild `guild_id` can
    use: its own, the shared and the built-in ones; None: the shared and built-in ones)."""
    problems = []
    if patch.callsystem is not None:
        try:
            services.registry.resolve(patch.callsystem)
        except UnknownCallsystem as exc:
            problems.append(("callsystem", str(exc)))
    names = [*([patch.persona] if patch.persona else []), *(patch.group or ())]
    if missing := sorted(set(names) - set(await services.personas.names(guild_id))):
        problems.append(("persona" if patch.persona in missing else "group", f"no persona named {', '.join(missing)}"))
    return problems


async def apply_config(services: AdminDeps, operator: str, level: str, level_id: str,
                       patch: ConfigPatch) -> ConfigPatch:
    """Audit, then merge a checked `patch` into a guild's or channel's stored settings; returns what is stored."""
    await services.replayer.audit.append(AuditEntry(
        action="config_update", operator=operator, target=f"{level}:{level_id}",
        detail=patch.model_dump_json(exclude_none=True, exclude={"kind", "schema_version"})))
    update = services.config.update_guild if level == "guild" else services.config.update_channel
    return await update(level_id, patch)


def jsonable_config(config: Any) -> dict[str, Any]:
    return {name: value.model_dump(exclude={"kind", "schema_version"}) if isinstance(value, BaseModel) else value
            for name, value in dataclasses.asdict(config).items()}
