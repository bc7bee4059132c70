"""What each guild (and each user within it) spends per UTC day, and the quotas that bound it.

The planner adds an activation's usage once it is finished (`UsageLedger.add`: the tokens, model seconds,
tool calls and images of the steps that ran, not of those read back from the journal); the gateway asks
`UsageLedger.exceeded` before queueing an activation, and an activation over quota is never queued. Counters
live in one hash per guild and day (`keys.usage`), kept `retention_days`. Quotas are set by operators only
(admin API, CLI): a guild's own, else the deployment's default. Prometheus carries no per-guild label; per-guild
figures come from here, through the admin API and `/usage`.

A planner that dies mid-activation counts nothing for the steps it ran; the one that takes over counts only
what it runs itself. Usage is a bound, not a bill.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Literal

import redis.asyncio as aioredis
from pydantic import Field

from switchboard.core import keys
from switchboard.core.wire import (
    EmbedResult,
    ImageResult,
    InferenceResult,
    StepResult,
    ToolResult,
    VisionResult,
    WireModel,
)

DEFAULT_RETENTION_DAYS = 35
DAY_S = 24 * 3600
USER_FIELD = "user:{user}:{field}"


class Usage(WireModel):
    kind: Literal["usage"] = "usage"
    tokens_in: int = 0
    tokens_out: int = 0
    model_seconds: float = 0.0
    tool_calls: int = 0
    images: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(**{name: getattr(self, name) + getattr(other, name) for name in COUNTERS})

    def __bool__(self) -> bool:
        return any(getattr(self, name) for name in COUNTERS)

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out


COUNTERS = ("tokens_in", "tokens_out", "model_seconds", "tool_calls", "images")


class Quota(WireModel):
    """Daily limits of one guild (None: no limit); `user_*` bound each of its users alone."""

    kind: Literal["quota"] = "quota"
    tokens_per_day: int | None = Field(default=None, ge=0)
    model_seconds_per_day: float | None = Field(default=None, ge=0)
    tool_calls_per_day: int | None = Field(default=None, ge=0)
    images_per_day: int | None = Field(default=None, ge=0)
    user_tokens_per_day: int | None = Field(default=None, ge=0)
    user_images_per_day: int | None = Field(default=None, ge=0)

    def exceeded(self, guild: Usage, user: Usage) -> str | None:
        """The first limit `guild` or `user` has reached (its name), or None."""
        checks = (("tokens_per_day", guild.tokens), ("model_seconds_per_day", guild.model_seconds),
                  ("tool_calls_per_day", guild.tool_calls), ("images_per_day", guild.images),
                  ("user_tokens_per_day", user.tokens), ("user_images_per_day", user.images))
        for name, used in checks:
            limit = getattr(self, name)
            if limit is not None and used >= limit:
                return name
        return None


def usage_of(result: StepResult) -> Usage:
    """What one step that ran cost: a model's tokens and seconds, a tool call, the images drawn."""
    output, seconds = result.output, max(0.0, result.finished_at - (result.started_at or result.finished_at))
    if result.error is not None or output is None:
        return Usage()
    if isinstance(output, InferenceResult):
        return Usage(tokens_in=output.prompt_tokens, tokens_out=output.completion_tokens, model_seconds=seconds)
    if isinstance(output, ImageResult):
        return Usage(images=len(output.images), model_seconds=seconds)
    if isinstance(output, VisionResult | EmbedResult):
        return Usage(model_seconds=seconds)
    if isinstance(output, ToolResult):
        return Usage(tool_calls=1)
    return Usage()


def today(now: float | None = None) -> str:
    return dt.datetime.fromtimestamp(now if now is not None else time.time(), dt.UTC).strftime("%Y-%m-%d")


class UsageLedger:
    def __init__(self, client: aioredis.Redis, default_quota: Quota | None = None,
                 retention_days: int = DEFAULT_RETENTION_DAYS) -> None:
        self._redis = client
        self.default_quota = default_quota or Quota()
        self._retention_s = retention_days * DAY_S

    async def add(self, guild_id: str | None, user_id: str, usage: Usage, now: float | None = None) -> None:
        """Count `usage` for the guild and for the user within it, today (one round trip)."""
        if not usage:
            return
        key = keys.usage(keys.tenant(guild_id), today(now))
        async with self._redis.pipeline(transaction=False) as pipe:
            for name in COUNTERS:
                if value := getattr(usage, name):
                    add = pipe.hincrbyfloat if isinstance(value, float) else pipe.hincrby
                    add(key, name, value)
                    add(key, USER_FIELD.format(user=user_id, field=name), value)
            pipe.expire(key, self._retention_s)
            await pipe.execute()

    async def day(self, guild_id: str | None, user_id: str | None = None,
                  day: str | None = None) -> tuple[Usage, Usage]:
        """(the guild's usage, the user's) on `day` (default today)."""
        return _split(await self._redis.hgetall(keys.usage(keys.tenant(guild_id), day or today())), user_id)

    async def days(self, guild_id: str, count: int, now: float | None = None) -> list[tuple[str, Usage]]:
        """The guild's usage on each of the last `count` days, newest first."""
        start = now if now is not None else time.time()
        dates = [today(start - n * DAY_S) for n in range(count)]
        async with self._redis.pipeline(transaction=False) as pipe:
            for date in dates:
                pipe.hgetall(keys.usage(guild_id, date))
            raws = await pipe.execute()
        return [(date, _split(raw, None)[0]) for date, raw in zip(dates, raws, strict=True)]

    async def quota(self, guild_id: str) -> Quota:
        """The quota in force: the guild's own, else the default."""
        return await self.own_quota(guild_id) or self.default_quota

    async def own_quota(self, guild_id: str) -> Quota | None:
        raw = await self._redis.get(keys.quota(guild_id))
        return Quota.from_json(raw) if raw else None

    async def set_quota(self, guild_id: str, quota: Quota | None) -> None:
        """Set the guild's quota (None: back to the default). Operators only: no command reaches this."""
        if quota is None:
            await self._redis.delete(keys.quota(guild_id))
        else:
            await self._redis.set(keys.quota(guild_id), quota.to_json())

    async def exceeded(self, guild_id: str | None, user_id: str) -> str | None:
        """The quota limit the guild or the user has reached today (its name), or None (one round trip)."""
        if guild_id is None:
            return None  # DMs have no guild to bound; the per-user rate limit still holds
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(keys.usage(guild_id, today()))
            pipe.get(keys.quota(guild_id))
            raw_usage, raw_quota = await pipe.execute()
        quota = Quota.from_json(raw_quota) if raw_quota else self.default_quota
        return quota.exceeded(*_split(raw_usage, user_id))


def _split(fields: dict[str, str], user_id: str | None) -> tuple[Usage, Usage]:
    guild = Usage(**{name: _number(fields.get(name)) for name in COUNTERS})
    user = Usage() if user_id is None else Usage(**{
        name: _number(fields.get(USER_FIELD.format(user=user_id, field=name))) for name in COUNTERS})
    return guild, user


def _number(raw: str | None) -> float:
    return float(raw) if raw else 0.0
