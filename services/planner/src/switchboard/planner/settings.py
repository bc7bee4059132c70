"""Settings of the planner (`SWITCHBOARD_*` environment variables)."""

from __future__ import annotations

import os
import socket

from pydantic import Field

from switchboard.core.settings import ServiceSettings


class PlannerSettings(ServiceSettings):
    planner_id: str = Field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    default_callsystem: str = "cs.switchboard.legacy@latest"
    max_concurrent_activations: int = Field(default=32, ge=1)
    # Activations waiting for their channel's turn hold no work; they are bounded apart from those running.
    max_waiting_activations: int = Field(default=256, ge=0)
    # An earlier activation that holds its channel longer than this is assumed lost (its reply never posted).
    channel_turn_timeout_s: float = Field(default=300.0, gt=0)
    history_window: int = Field(default=20, ge=0)
    max_reply_tokens: int = Field(default=200, ge=1)
    # An entry pending this long on a planner that stopped heartbeating is taken over.
    claim_idle_ms: int = Field(default=30_000, ge=100)
    claim_interval_s: float = Field(default=5.0, gt=0)
    # An entry delivered more times than this without finishing is answered with an error and dead-lettered.
    activation_max_deliveries: int = Field(default=5, ge=1)
    # How often a planner trims the streams past `record_retention_s` (see `core.retention`).
    retention_interval_s: float = Field(default=300.0, gt=0)
    read_block_ms: int = Field(default=1000, ge=1)
    wake_poll_s: float = Field(default=0.5, gt=0)
    # A step's task that no worker has started after this long is sent again (the first copy may have been
    # lost with a worker killed as it took it); copies are harmless, a worker skips a step run elsewhere.
    step_resend_after_s: float = Field(default=30.0, gt=0)
