"""`/api/personas`: what a guild can use, shared personas (only operators create them), moderation of a guild's.

Guild admins create their guild's own personas with `/persona create`; operators here create the shared ones
every guild sees, and may delete any guild's persona. Every change is audited.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field

from switchboard.admin import persona_changes
from switchboard.admin.auth import Operator
from switchboard.admin.deps import of as deps
from switchboard.admin.persona_changes import PersonaInfo
from switchboard.core.errors import ConfigError
from switchboard.core.plugins import DEFAULT_HISTORY_TEMPLATE

router = APIRouter(prefix="/personas", tags=["personas"])

PersonaName = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]
GuildQuery = Annotated[str | None, Query(pattern=r"^[0-9]{1,25}$")]


class PersonaList(BaseModel):
    personas: list[PersonaInfo]


class PersonaBody(BaseModel):
    instructions: str = Field(min_length=1, max_length=4000)
    history_template: str = Field(default=DEFAULT_HISTORY_TEMPLATE, min_length=9, max_length=200)


class Migrated(BaseModel):
    moved: list[str]


@router.get("", summary="The personas a guild can use (without guild_id: the built-in and shared ones)")
async def list_personas(request: Request, _: Operator, guild_id: GuildQuery = None) -> PersonaList:
    return PersonaList(personas=await persona_changes.personas_of(deps(request), guild_id))


@router.put("/{name}", summary="Create or replace a shared persona, seen by every guild (audited)")
async def put_shared(request: Request, caller: Operator, name: PersonaName, body: PersonaBody) -> PersonaInfo:
    try:
        return await persona_changes.save_shared(deps(request), caller.name, name, body.instructions,
                                                 body.history_template)
    except ConfigError as exc:
        raise HTTPException(422, [{"loc": ["path", "name"], "msg": str(exc), "type": "value_error"}]) from exc


@router.delete("/{name}", status_code=204, responses={404: {"description": "no such persona"}},
               summary="Delete a shared persona, or with guild_id one of that guild's (audited)")
async def delete_persona(request: Request, caller: Operator, name: PersonaName, guild_id: GuildQuery = None) -> None:
    if not await persona_changes.delete(deps(request), caller.name, name, guild_id):
        raise HTTPException(404, f"no persona {name!r} {'of guild ' + guild_id if guild_id else 'shared'}")


@router.post("/migrate", summary="Move the old ownerless personas into the shared ones (audited; run once)")
async def migrate(request: Request, caller: Operator) -> Migrated:
    return Migrated(moved=await persona_changes.migrate(deps(request), caller.name))
