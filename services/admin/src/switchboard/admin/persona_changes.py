"""Operators' persona actions, shared by the admin API and the CLI: list what a guild sees, create or delete
shared personas, delete a guild's persona (moderation), migrate the old ownerless personas. Each change is
audited before it is made."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from switchboard.admin.deps import AdminDeps
from switchboard.core.personas import PersonaScope
from switchboard.core.plugins import DEFAULT_HISTORY_TEMPLATE
from switchboard.core.wire import AuditEntry


class PersonaInfo(BaseModel):
    name: str
    scope: PersonaScope  # builtin | shared | guild (the guild asked about)
    instructions: str
    history_template: str


async def personas_of(services: AdminDeps, guild_id: str | None) -> list[PersonaInfo]:
    """The personas guild `guild_id` can use (None: the built-in and shared ones only)."""
    return [PersonaInfo(name=e.persona.name, scope=e.scope, instructions=e.persona.instructions,
                        history_template=e.persona.history_template)
            for e in await services.personas.available(guild_id)]


async def save_shared(services: AdminDeps, operator: str, name: str, instructions: str,
                      history_template: str = DEFAULT_HISTORY_TEMPLATE) -> PersonaInfo:
    """Create or replace a shared persona; raises `ConfigError` for a bad name or template."""
    await _audit(services, "persona_update", operator, f"persona:shared:{name}")
    persona = await services.personas.create_shared(name, instructions, created_by=f"operator:{operator}",
                                                    history_template=history_template)
    return PersonaInfo(name=persona.name, scope="shared", instructions=persona.instructions,
                       history_template=persona.history_template)


async def delete(services: AdminDeps, operator: str, name: str, guild_id: str | None) -> bool:
    """Delete a shared persona (`guild_id` None) or one of a guild's; False when there was none."""
    await _audit(services, "persona_delete", operator, f"persona:{guild_id or 'shared'}:{name}")
    if guild_id is None:
        return await services.personas.delete_shared(name)
    return await services.personas.delete(name, guild_id)


async def migrate(services: AdminDeps, operator: str) -> list[str]:
    """Move the personas of the old ownerless hash into the shared ones; returns the names moved."""
    moved = await services.personas.migrate_legacy()
    await _audit(services, "persona_migrate", operator, "persona:shared", detail=", ".join(moved) or "none")
    return moved


async def _audit(services: AdminDeps, action: Literal["persona_update", "persona_delete", "persona_migrate"],
                 operator: str, target: str, detail: str | None = None) -> None:
    await services.replayer.audit.append(AuditEntry(action=action, operator=operator, target=target, detail=detail))
