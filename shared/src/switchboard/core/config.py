"""Per-guild and per-channel configuration, stored in Redis and read on every message.

A `ConfigPatch` holds only what one level sets (None means "inherit"). The effective `ChannelConfig`
of a message is the defaults, overridden by the guild's patch, then the channel's (for a thread, its
parent channel's), then the thread's own. Reading it on every message is what makes a change apply to
the next message with no restart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from enum import StrEnum
from typing import Literal

import redis.asyncio as aioredis
from pydantic import Field

from switchboard.core import keys
from switchboard.core.wire import WireModel


class ChannelMode(StrEnum):
    """Where the bot answers messages that do not mention it."""

    MENTIONS = "mentions"  # nowhere: only mentions, replies, DMs and keywords
    ALLOW_LIST = "allow_list"  # in the listed channels
    DENY_LIST = "deny_list"  # everywhere but the listed channels


class DoubleTexting(StrEnum):
    """What a new message does while the channel's previous activation is still running."""

    ENQUEUE = "enqueue"
    INTERRUPT = "interrupt"
    MERGE = "merge"
    REJECT = "reject"


class RateLimit(WireModel):
    """A token bucket: `capacity` activations, refilled evenly over `per_seconds`."""

    kind: Literal["rate_limit"] = "rate_limit"
    capacity: int = Field(ge=1)
    per_seconds: float = Field(gt=0)


class ConfigPatch(WireModel):
    kind: Literal["config_patch"] = "config_patch"
    channel_mode: ChannelMode | None = None
    channels: tuple[str, ...] | None = None
    silent: bool | None = None
    keywords: tuple[str, ...] | None = None
    callsystem: str | None = None
    persona: str | None = None
    double_texting: DoubleTexting | None = None
    allowed_tools: tuple[str, ...] | None = None
    group: tuple[str, ...] | None = None
    group_chatter: int | None = Field(default=None, ge=0, le=3)
    user_rate: RateLimit | None = None
    guild_rate: RateLimit | None = None

    def merged(self, newer: ConfigPatch) -> ConfigPatch:
        """This patch with every field `newer` sets taken from `newer`."""
        return self.model_copy(update=newer.model_dump(exclude_none=True, exclude={"kind", "schema_version"}))


DEFAULT_USER_RATE = RateLimit(capacity=10, per_seconds=60)
DEFAULT_GUILD_RATE = RateLimit(capacity=120, per_seconds=60)


@dataclass(frozen=True)
class ChannelConfig:
    """The configuration in force for one channel."""

    channel_mode: ChannelMode = ChannelMode.MENTIONS
    channels: tuple[str, ...] = ()
    silent: bool = False
    keywords: tuple[str, ...] = ()
    callsystem: str | None = None  # None: the planner's default
    persona: str | None = None
    double_texting: DoubleTexting = DoubleTexting.ENQUEUE
    # Tools this guild or channel lets callsystems use; anything else is denied.
    allowed_tools: tuple[str, ...] = ("calculator", "clock")
    group: tuple[str, ...] = ()  # the personas of an agent group (`cs.switchboard.group`)
    group_chatter: int = 0  # follow-up rounds in which the group's personas answer each other
    user_rate: RateLimit = DEFAULT_USER_RATE
    guild_rate: RateLimit = DEFAULT_GUILD_RATE

    def apply(self, patch: ConfigPatch) -> ChannelConfig:
        changes = {f.name: getattr(patch, f.name) for f in fields(self) if getattr(patch, f.name) is not None}
        return replace(self, **changes)


class ConfigStore:
    def __init__(self, client: aioredis.Redis, defaults: ChannelConfig | None = None) -> None:
        self._redis = client
        self.defaults = defaults or ChannelConfig()

    async def resolve(self, guild_id: str | None, channel_id: str, parent_id: str | None = None) -> ChannelConfig:
        """The effective config of a channel (a thread when `parent_id` is given), in one round trip."""
        return self.merge(await self._redis.mget(self.levels(guild_id, channel_id, parent_id)))

    @staticmethod
    def levels(guild_id: str | None, channel_id: str, parent_id: str | None = None) -> list[str]:
        """The keys `resolve` reads, broadest first: pass what an `MGET` of them returns to `merge`."""
        levels = [keys.guild_config(guild_id) if guild_id else None,
                  keys.channel_config(parent_id) if parent_id else None, keys.channel_config(channel_id)]
        return [key for key in levels if key]

    def merge(self, raws: Sequence[str | bytes | None]) -> ChannelConfig:
        """The defaults with each stored patch of `levels` applied in order (None: the level sets nothing)."""
        config = self.defaults
        for raw in raws:
            if raw:
                config = config.apply(ConfigPatch.from_json(raw))
        return config

    async def update_guild(self, guild_id: str, patch: ConfigPatch) -> ConfigPatch:
        return await self._update(keys.guild_config(guild_id), patch)

    async def update_channel(self, channel_id: str, patch: ConfigPatch) -> ConfigPatch:
        return await self._update(keys.channel_config(channel_id), patch)

    async def _update(self, key: str, patch: ConfigPatch) -> ConfigPatch:
        """Merge `patch` into what the level stores (optimistic transaction: concurrent admins both land)."""
        async with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    merged = (ConfigPatch.from_json(raw) if raw else ConfigPatch()).merged(patch)
                    pipe.multi()
                    pipe.set(key, merged.to_json())
                    await pipe.execute()
                    return merged
                except aioredis.WatchError:
                    continue
