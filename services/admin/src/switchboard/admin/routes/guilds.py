"""`/api/guilds/{id}`: one guild as a tenant: its usage against its quota, its quota, and a purge of its data.

Quotas are set only here and in the CLI (no Discord command reaches them); a purge deletes what the guild owns
at once, as leaving the guild does after its grace. Both are audited.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel

from switchboard.admin import guild_changes
from switchboard.admin.auth import Operator
from switchboard.admin.deps import of as deps
from switchboard.admin.guild_changes import MAX_DAYS, GuildUsage
from switchboard.core.usage import Quota

router = APIRouter(prefix="/guilds", tags=["guilds"])

GuildId = Annotated[str, Path(pattern=r"^[0-9]{1,25}$")]


class PurgeResult(BaseModel):
    guild_id: str
    keys_deleted: int
    activations: int


@router.get("/{guild_id}/usage", summary="A guild's usage per day (newest first) and the quota in force")
async def get_usage(request: Request, _: Operator, guild_id: GuildId,
                    days: Annotated[int, Query(ge=1, le=MAX_DAYS)] = 7) -> GuildUsage:
    return await guild_changes.usage_of(deps(request), guild_id, days)


@router.put("/{guild_id}/quota", summary="Set a guild's daily quota (audited)")
async def put_quota(request: Request, caller: Operator, guild_id: GuildId, quota: Quota) -> GuildUsage:
    return await guild_changes.set_quota(deps(request), caller.name, guild_id, quota)


@router.delete("/{guild_id}/quota", summary="Put a guild back on the default quota (audited)")
async def delete_quota(request: Request, caller: Operator, guild_id: GuildId) -> GuildUsage:
    return await guild_changes.set_quota(deps(request), caller.name, guild_id, None)


@router.post("/{guild_id}/purge", summary="Delete everything a guild owns now (audited; cannot be undone)")
async def purge(request: Request, caller: Operator, guild_id: GuildId) -> PurgeResult:
    purged = await guild_changes.purge(deps(request), caller.name, guild_id)
    return PurgeResult(guild_id=purged.guild_id, keys_deleted=purged.keys_deleted, activations=purged.activations)
