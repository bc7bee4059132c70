"""`/api/config`: what a guild or channel stores, what is in force in a channel, and changes to either.

A change is a patch merged into the level (as `/callsystem`, `/persona` and the other slash commands do), so it
applies to the next message. Callsystem and persona names are checked against what exists before storing.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel

from switchboard.admin.auth import Operator
from switchboard.admin.config_changes import apply_config, config_problems, jsonable_config
from switchboard.admin.deps import AdminDeps
from switchboard.admin.deps import of as deps
from switchboard.core import keys
from switchboard.core.config import ConfigPatch

router = APIRouter(prefix="/config", tags=["configuration"])

DiscordId = Annotated[str, Path(pattern=r"^[0-9]{1,25}$")]
GuildQuery = Annotated[str | None, Query(pattern=r"^[0-9]{1,25}$")]


class LevelConfig(BaseModel):
    stored: ConfigPatch  # what this level sets itself (unset fields come from above)


class ChannelView(LevelConfig):
    effective: dict[str, Any]  # in force for the channel: defaults, then guild, parent channel, channel


async def _stored(services: AdminDeps, key: str) -> ConfigPatch:
    raw = await services.client.get(key)
    return ConfigPatch.from_json(raw) if raw else ConfigPatch()


@router.get("/guilds/{guild_id}", summary="A guild's stored settings")
async def get_guild(request: Request, _: Operator, guild_id: DiscordId) -> LevelConfig:
    return LevelConfig(stored=await _stored(deps(request), keys.guild_config(guild_id)))


@router.get("/channels/{channel_id}", summary="A channel's stored settings and those in force")
async def get_channel(request: Request, _: Operator, channel_id: DiscordId,
                      guild_id: GuildQuery = None,
                      parent_id: Annotated[str | None, Query(pattern=r"^[0-9]{1,25}$")] = None) -> ChannelView:
    services = deps(request)
    effective = await services.config.resolve(guild_id, channel_id, parent_id)
    return ChannelView(stored=await _stored(services, keys.channel_config(channel_id)),
                       effective=jsonable_config(effective))


@router.patch("/guilds/{guild_id}", summary="Change a guild's settings (merged; audited)")
async def patch_guild(request: Request, caller: Operator, guild_id: DiscordId, patch: ConfigPatch) -> LevelConfig:
    return await _patched(deps(request), caller.name, "guild", guild_id, patch, guild_id)


@router.patch("/channels/{channel_id}", summary="Change a channel's settings (merged; audited)")
async def patch_channel(request: Request, caller: Operator, channel_id: DiscordId, patch: ConfigPatch,
                        guild_id: GuildQuery = None) -> LevelConfig:
    """`guild_id`: the channel's guild, so a persona of that guild's own may be named (else shared ones only)."""
    return await _patched(deps(request), caller.name, "channel", channel_id, patch, guild_id)


async def _patched(services: AdminDeps, operator: str, level: str, level_id: str, patch: ConfigPatch,
                   guild_id: str | None) -> LevelConfig:
    await _check(services, patch, guild_id)
    return LevelConfig(stored=await apply_config(services, operator, level, level_id, patch))


async def _check(services: AdminDeps, patch: ConfigPatch, guild_id: str | None) -> None:
    """Refuse names that do not exist, in the shape of FastAPI's own 422 (what the OpenAPI document promises)."""
    if problems := await config_problems(services, patch, guild_id):
        raise HTTPException(422, [{"loc": ["body", field], "msg": message, "type": "value_error"}
                                  for field, message in problems])
