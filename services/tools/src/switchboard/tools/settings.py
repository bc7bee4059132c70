"""Settings of the tools worker (`SWITCHBOARD_*` environment variables)."""

from __future__ import annotations

from pydantic import Field

from switchboard.core.settings import ServiceSettings


class ToolsSettings(ServiceSettings):
    concurrency: int = Field(default=4, ge=1)
    # Deny by default: only tools named here can run, whatever a model asks for.
    enabled_tools: tuple[str, ...] = ("calculator", "clock")
    # How long the `sleep` tool keeps a channel silent at most (a mention wakes it sooner).
    sleep_ttl_s: int = Field(default=6 * 3600, ge=60, le=7 * 24 * 3600)
