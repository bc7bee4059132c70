"""Operators' actions on one guild as a tenant, shared by the admin API and the CLI: its usage against its quota,
setting the quota, and purging its data now. Changes are audited before they are made."""

from __future__ import annotations

from pydantic import BaseModel

from switchboard.admin.deps import AdminDeps
from switchboard.core.guild_purge import Purged
from switchboard.core.usage import Quota, Usage
from switchboard.core.wire import AuditEntry

MAX_DAYS = 35


class DayUsage(BaseModel):
    day: str  # YYYY-MM-DD, UTC
    usage: Usage


class GuildUsage(BaseModel):
    guild_id: str
    quota: Quota  # in force: the guild's own, else the default
    own_quota: bool
    days: list[DayUsage]  # newest first


async def usage_of(services: AdminDeps, guild_id: str, days: int) -> GuildUsage:
    ledger = services.usage
    own = await ledger.own_quota(guild_id)
    return GuildUsage(guild_id=guild_id, quota=own or ledger.default_quota, own_quota=own is not None,
                      days=[DayUsage(day=day, usage=usage)
                            for day, usage in await ledger.days(guild_id, min(days, MAX_DAYS))])


async def set_quota(services: AdminDeps, operator: str, guild_id: str, quota: Quota | None) -> GuildUsage:
    """Set the guild's quota (None: back to the default)."""
    detail = quota.model_dump_json(exclude_none=True, exclude={"kind", "schema_version"}) if quota else "default"
    await services.replayer.audit.append(AuditEntry(action="quota_update", operator=operator,
                                                    target=f"guild:{guild_id}", detail=detail))
    await services.usage.set_quota(guild_id, quota)
    return await usage_of(services, guild_id, 1)


async def purge(services: AdminDeps, operator: str, guild_id: str) -> Purged:
    """Delete everything the guild owns now, without waiting for a grace."""
    await services.replayer.audit.append(AuditEntry(action="guild_purge", operator=operator,
                                                    target=f"guild:{guild_id}"))
    return await services.purges.purge(guild_id)
