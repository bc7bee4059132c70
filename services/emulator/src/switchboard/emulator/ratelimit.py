"""Per-route rate limit buckets with Discord's headers and 429 responses.

A bucket is a fixed window: the first request opens it, ``limit`` requests
fit in it, and it resets ``window_s`` later. Every answer carries the
``X-RateLimit-*`` headers discord.py paces itself from; a rejected request
gets what Discord sends with a 429, including ``Via``, without which
discord.py takes the 429 for a Cloudflare ban and gives up instead of retrying.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

# Past this many tracked windows, expired ones are dropped when a new one opens.
_PRUNE_THRESHOLD = 4096
# What a disabled limiter reports for every bucket.
_UNLIMITED = 1_000_000
_INSTANT_RESET_S = 0.001


@dataclass(frozen=True)
class BucketSpec:
    """A kind of bucket: its limit, window and the hash Discord would report."""

    name: str
    limit: int
    window_s: float

    @property
    def hash(self) -> str:
        # Discord's bucket hashes are opaque hex strings shared by every major
        # parameter (channel) of a route; a stable digest of the name suffices.
        return hashlib.md5(self.name.encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class Decision:
    """The limiter's verdict on one request, and the headers describing the bucket."""

    allowed: bool
    spec: BucketSpec
    limit: int
    remaining: int
    reset_after: float
    reset_at: float

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": f"{self.reset_at:.3f}",
            "X-RateLimit-Reset-After": f"{self.reset_after:.3f}",
            "X-RateLimit-Bucket": self.spec.hash,
        }
        if not self.allowed:
            headers["X-RateLimit-Scope"] = "user"
            headers["Retry-After"] = str(math.ceil(self.reset_after))
            headers["Via"] = "1.1 google"
        return headers

    def body(self) -> dict[str, object]:
        """The JSON body of a 429."""
        return {"message": "You are being rate limited.", "retry_after": self.reset_after, "global": False, "code": 0}


@dataclass
class _Window:
    opened_at: float
    length_s: float
    used: int = 0


class RateLimiter:
    """Counts requests per (bucket kind, major parameter) and decides on each.

    When disabled it allows everything and reports a practically unlimited,
    instantly refilled bucket, so clients that pace themselves from the
    headers never wait.
    """

    def __init__(
        self,
        enabled: bool,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ):
        self.enabled = enabled
        self._monotonic = monotonic
        self._wall = wall
        self._windows: dict[tuple[str, str], _Window] = {}

    def hit(self, spec: BucketSpec, major: str) -> Decision:
        """Count one request against ``spec``'s bucket for ``major`` (a channel id, say)."""
        now = self._monotonic()
        if not self.enabled:
            # discord.py sleeps out Reset-After whenever its local count of
            # remaining requests runs dry, so report a huge bucket that refills at once.
            return Decision(True, spec, _UNLIMITED, _UNLIMITED, _INSTANT_RESET_S, self._wall() + _INSTANT_RESET_S)
        window = self._windows.get((spec.name, major))
        if window is None or now - window.opened_at >= spec.window_s:
            self._forget_expired(now)
            window = self._windows[(spec.name, major)] = _Window(opened_at=now, length_s=spec.window_s)
        # Round up to the millisecond so a client sleeping exactly this long
        # never arrives before the window has really closed.
        reset_after = math.ceil((window.opened_at + spec.window_s - now) * 1000) / 1000
        if window.used >= spec.limit:
            return self._decision(False, spec, 0, reset_after)
        window.used += 1
        return self._decision(True, spec, spec.limit - window.used, reset_after)

    def _decision(self, allowed: bool, spec: BucketSpec, remaining: int, reset_after: float) -> Decision:
        return Decision(allowed, spec, spec.limit, remaining, reset_after, self._wall() + reset_after)

    def _forget_expired(self, now: float) -> None:
        # Keeps memory bounded when a benchmark spreads load over many channels.
        if len(self._windows) < _PRUNE_THRESHOLD:
            return
        self._windows = {key: w for key, w in self._windows.items() if now - w.opened_at < w.length_s}

    def clear(self) -> None:
        self._windows.clear()
