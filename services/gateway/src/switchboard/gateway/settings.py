"""Settings of the gateway (`SWITCHBOARD_*` environment variables, plus the conventional `DISCORD_TOKEN`)."""

from __future__ import annotations

import os
import socket

from pydantic import AliasChoices, Field, SecretStr, field_validator

from switchboard.core.config import DEFAULT_GUILD_RATE, DEFAULT_USER_RATE, RateLimit
from switchboard.core.settings import ServiceSettings
from switchboard.gateway.rest_budget import DISCORD_GLOBAL_RATE


class GatewaySettings(ServiceSettings):
    # Set: connect to Discord. Unset: connect to the Discord emulator at `emulator_url`.
    discord_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("DISCORD_TOKEN", "SWITCHBOARD_DISCORD_TOKEN"))
    emulator_url: str | None = None
    emulator_token: SecretStr = SecretStr("emulator-token")
    # Sync slash commands to this guild only (instant; for development). Unset: sync globally.
    command_guild_id: str | None = None
    # Members with one of these roles (or Administrator) are operators: they may use `/replay`.
    operator_role_ids: frozenset[str] = frozenset()
    # Sharding: the total shard count and the shards this process runs (e.g. the pod ordinal).
    # Unset: Discord's recommended count, all shards in this process.
    shard_count: int | None = Field(default=None, ge=1)
    shard_ids: tuple[int, ...] | None = None
    gateway_id: str = Field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    history_limit: int = Field(default=50, ge=1, description="messages kept per channel")
    # Discord allows ~5 edits per 5 s per channel; one edit a second leaves room for other replies.
    edit_interval_s: float = Field(default=1.0, ge=0.2)
    # An answer posted within this time after it starts gets no typing indicator and no streaming
    # placeholder: one REST request instead of three.
    stream_grace_s: float = Field(default=0.3, ge=0)
    # Longer answers are sent as a markdown file instead of a run of messages.
    attach_over_chars: int = Field(default=6000, ge=2000)
    # Above this many activations waiting for a planner, a new one is told its place in line.
    queue_notice_over: int = Field(default=20, ge=0)
    max_concurrent_posts: int = Field(default=16, ge=1)
    claim_idle_ms: int = Field(default=30_000, ge=100)
    claim_interval_s: float = Field(default=5.0, gt=0)
    # A reply delivered more times than this without being posted (Discord failing with 5xx each time) is given up
    # and dead-lettered.
    reply_max_deliveries: int = Field(default=10, ge=1)
    posted_retention_s: int = Field(default=7 * 24 * 3600, ge=60)
    # A message that arrives while Redis is unreachable is decided again for this long before it is given up.
    outage_retry_s: float = Field(default=120.0, ge=0)
    # Discord allows 50 REST requests/s per bot; every replica takes from one budget in Redis.
    discord_rest_rate: RateLimit = DISCORD_GLOBAL_RATE
    # Activation rate limits where no guild or channel config sets them (JSON in the environment).
    user_rate: RateLimit = DEFAULT_USER_RATE
    guild_rate: RateLimit = DEFAULT_GUILD_RATE

    @field_validator("discord_token", mode="before")
    @classmethod
    def _empty_token_means_none(cls, value: object) -> object:
        return None if value in ("", None) else value
