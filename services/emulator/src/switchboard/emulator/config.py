"""Configuration of one emulator instance.

Every tunable lives here so that tests, the dev stack and benchmarks can
describe the Discord they want in one immutable value.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EmulatorConfig:
    """How an :class:`~switchboard.emulator.server.Emulator` listens and behaves.

    The defaults mirror real Discord where Discord documents a value
    (heartbeat interval, message rate limit, message length); the rest are
    chosen so that a test can run without touching anything.
    """

    host: str = "127.0.0.1"
    #: 0 asks the operating system for a free port; read ``Emulator.url`` after start.
    port: int = 0
    token: str = "emulator-token"
    heartbeat_interval_ms: int = 41250
    #: When False, requests are never rejected with 429 and the rate limit
    #: headers report a huge, instantly refilled bucket, so discord.py never slows down.
    rate_limits: bool = True
    #: Message creates and edits allowed per channel per window (Discord: 5 per 5 s).
    message_rate_limit: int = 5
    message_rate_window_s: float = 5.0
    #: Limit for every other route, per route and major parameter.
    default_rate_limit: int = 50
    default_rate_window_s: float = 1.0
    #: How long an ``enforce_nonce`` nonce keeps returning the first message.
    nonce_window_s: float = 300.0
    #: How long a disconnected gateway session can still be resumed.
    resume_window_s: float = 120.0
    #: Dispatches kept per session for replay on RESUME.
    resume_buffer_size: int = 2000
    #: Bot actions kept for the events feed (oldest dropped first).
    max_recorded_events: int = 100_000
    #: Value reported by ``GET /gateway/bot`` (AutoShardedClient obeys it).
    shard_count: int = 1
    #: ``session_start_limit.max_concurrency`` of ``GET /gateway/bot``.
    max_concurrency: int = 1
    #: Seed "Second Guild" (with its own channels) next to "Test Guild".
    second_guild: bool = True
    #: Time an interaction has to be answered or deferred (Discord: 3 s);
    #: a later callback gets 404 Unknown interaction (10062).
    interaction_response_deadline_s: float = 3.0
    #: How long an interaction token works for followups and edits, from its creation (Discord: 15 min).
    interaction_token_lifetime_s: float = 900.0
    #: ``attachment_size_limit`` of interactions, in bytes (Discord's default: 10 MiB).
    attachment_size_limit: int = 10 * 1024 * 1024

    def __post_init__(self) -> None:
        if self.message_rate_limit < 1 or self.default_rate_limit < 1:
            raise ValueError("rate limits must allow at least one request per window")
        if self.message_rate_window_s <= 0 or self.default_rate_window_s <= 0:
            raise ValueError("rate limit windows must be positive")
        if self.heartbeat_interval_ms <= 0:
            raise ValueError("heartbeat_interval_ms must be positive")
        if self.shard_count < 1:
            raise ValueError("shard_count must be at least 1")
        if self.max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        if self.interaction_response_deadline_s <= 0 or self.interaction_token_lifetime_s <= 0:
            raise ValueError("interaction deadlines must be positive")
