"""Settings common to every service, read from `SWITCHBOARD_*` environment variables.

Each service subclasses `ServiceSettings` with its own fields. `extra="forbid"` makes a misspelled
keyword fail at boot instead of being ignored. Only settings modules read the environment.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from switchboard.core.usage import Quota


class ServiceSettings(BaseSettings):
    """What every service needs: where Redis is, how to expose metrics, how long tasks may run."""

    model_config = SettingsConfigDict(env_prefix="SWITCHBOARD_", extra="forbid", frozen=True)

    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_max_connections: int = Field(default=64, ge=4)
    redis_pool_timeout_s: float = Field(default=20.0, gt=0)
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(default=None, description="None or 0 picks a free port")
    log_level: str = "INFO"
    # Off by default: prompts, replies and tool arguments are user data and stay out of spans.
    trace_content: bool = False
    # The one number Celery's hard time limit and the broker's visibility timeout derive from
    # (visibility = limit + margin), so a task is never redelivered while still running.
    task_time_limit_s: int = Field(default=120, ge=5)
    # How much longer than the time limit a task stays invisible to other workers before kombu restores it.
    visibility_margin_s: int = Field(default=30, ge=5)
    step_timeout_s: float = Field(default=150.0, gt=0)
    # A step task delivered more times than this (its worker died each time) is not run again: it is
    # journaled as `dead_lettered` and copied to the dead-letter stream (`core.steps`).
    step_max_deliveries: int = Field(default=3, ge=1)
    # How long activation records, step journals and stream entries are kept (trimmed by age, see `retention`).
    record_retention_s: int = Field(default=7 * 24 * 3600, ge=60)
    # What one tenant may store (see README, "Data and privacy"): writing past a cap is refused, naming it.
    max_personas_per_guild: int = Field(default=25, ge=1)
    memory_max_fields: int = Field(default=50, ge=1, description="remembered notes per user per guild")
    memory_ttl_s: int = Field(default=90 * 24 * 3600, ge=60, description="a user's notes outlive their last write by")
    history_ttl_s: int = Field(default=7 * 24 * 3600, ge=60, description="a quiet channel's history goes after")
    # How long after the bot leaves a guild its data is purged (adding the bot back within it keeps the data).
    guild_purge_grace_s: float = Field(default=24 * 3600, ge=0)
    # Per-guild usage counters are kept this many days; the quota of a guild without its own (JSON, None: no limit).
    usage_retention_days: int = Field(default=35, ge=1)
    default_guild_quota: Quota = Quota()

    @property
    def visibility_timeout_s(self) -> int:
        return self.task_time_limit_s + self.visibility_margin_s
