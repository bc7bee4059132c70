"""Settings of the admin service (`SWITCHBOARD_*` environment variables)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from switchboard.planner.settings import PlannerSettings


class AdminSettings(PlannerSettings):
    """A planner's settings (replays run callsystems as a planner does) plus where to listen and who may."""

    admin_host: str = "127.0.0.1"
    admin_port: int = Field(default=8080, ge=1, le=65535)
    # JSON: token -> roles, or token -> {"name": ..., "roles": [...]}; read from a secret, never logged.
    admin_tokens: SecretStr = SecretStr("{}")
    # How long a live replay waits for a planner to finish it, and how many replays run at once in a batch.
    replay_live_timeout_s: float = Field(default=300.0, gt=0)
    replay_concurrency: int = Field(default=4, ge=1, le=64)
    replay_batch_limit: int = Field(default=1000, ge=1)
    # How often the live feed says it is still there when nothing happens (proxies close silent streams).
    feed_keepalive_s: float = Field(default=15.0, gt=0)
