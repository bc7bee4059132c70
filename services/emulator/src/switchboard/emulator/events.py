"""The feed of recorded bot actions, with waiting for new ones.

Each action is a dict ``{"seq", "type", "time", "channel_id", "message_id",
"content", ...}``; ``seq`` increases by one per action for the life of the
emulator (also across ``clear``), so a reader can resume from the last
``seq`` it saw. Types (extra fields in the README): ``message_create``,
``message_edit``, ``message_delete``, ``typing``, ``reaction_add``,
``reaction_remove``, ``commands_registered``, ``interaction_callback``,
``followup_create``, ``followup_edit``, ``followup_delete``,
``original_edit``, ``original_delete``, ``interaction_rejected``,
``interaction_expired``, ``rate_limited`` (the rate limiter answered 429)
and ``fault_injected`` (an injected failure answered a request).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .errors import EmulatorTimeout

ActionPredicate = Callable[[dict[str, Any]], bool]


class ActionLog:
    """Bounded, append-only list of bot actions that readers can wait on."""

    def __init__(self, max_events: int):
        self._events: deque[dict[str, Any]] = deque(maxlen=max_events)
        self._last_seq = 0
        self._closed = False
        # Replaced on every append: waiters hold the old one and wake when it is set.
        self._appended = asyncio.Event()

    @property
    def last_seq(self) -> int:
        return self._last_seq

    @property
    def closed(self) -> bool:
        return self._closed

    def record(
        self, kind: str, channel_id: int | None, message_id: int | None = None, content: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        """Append an action and wake every waiter; returns the stored action."""
        self._last_seq += 1
        action = {
            "seq": self._last_seq,
            "type": kind,
            "time": datetime.now(UTC).isoformat(timespec="microseconds"),
            "channel_id": str(channel_id) if channel_id is not None else None,
            "message_id": str(message_id) if message_id is not None else None,
            "content": content,
            **extra,
        }
        self._events.append(action)
        self._appended.set()
        self._appended = asyncio.Event()
        return action

    def after(self, seq: int) -> list[dict[str, Any]]:
        """Actions with ``seq`` greater than ``seq``, oldest first."""
        return [dict(e) for e in self._events if e["seq"] > seq]

    async def wait_after(self, seq: int, timeout: float) -> list[dict[str, Any]]:
        """Actions after ``seq``, waiting up to ``timeout`` seconds for one; may be empty."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(timeout, 0.0)
        while True:
            found = self.after(seq)
            remaining = deadline - loop.time()
            if found or remaining <= 0 or self._closed:
                return found
            await self._wait_for_append(remaining)

    async def wait_for(self, predicate: ActionPredicate, timeout: float, after: int = 0) -> dict[str, Any]:
        """The first action after ``after`` that satisfies ``predicate``.

        Raises :class:`EmulatorTimeout` if none appears within ``timeout`` seconds.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        cursor = after
        while True:
            for action in self.after(cursor):
                if predicate(action):
                    return action
                cursor = action["seq"]
            remaining = deadline - loop.time()
            if self._closed:
                raise EmulatorTimeout("the emulator stopped before a matching event arrived")
            if remaining <= 0:
                raise EmulatorTimeout(f"no matching emulator event within {timeout} s")
            await self._wait_for_append(remaining)

    async def _wait_for_append(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._appended.wait(), timeout)
        except TimeoutError:
            pass

    def close(self) -> None:
        """Wake every waiter for good: long polls return, ``wait_for`` raises."""
        self._closed = True
        self._appended.set()

    def clear(self) -> None:
        """Forget recorded actions; numbering continues from the last seq."""
        self._events.clear()
