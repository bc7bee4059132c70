"""Public threads: a channel inside a guild text channel.

A :class:`Thread` is a :class:`~switchboard.emulator.models.Channel` of type
11 (PUBLIC_THREAD) whose payload carries what Discord sends for threads:
``parent_id``, ``owner_id``, ``thread_metadata``, ``member_count``,
``message_count`` and ``total_message_sent``. Messages posted in it update
those counters, so ``GET /channels/{thread_id}`` and later dispatches agree
with what was posted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import errors
from .models import PUBLIC_THREAD, Channel, User
from .snowflake import iso_timestamp

#: Minutes of inactivity after which Discord hides a thread; the values it accepts.
AUTO_ARCHIVE_DURATIONS = (60, 1440, 4320, 10080)
MAX_THREAD_NAME_LENGTH = 100


@dataclass
class Thread(Channel):
    """A public thread; ``guild_id`` and ``parent_id`` are always set."""

    parent_id: int = 0
    owner_id: int = 0
    auto_archive_duration: int = 1440
    message_count: int = 0
    total_message_sent: int = 0
    #: Users who joined the thread (its creator, and everyone who posted in it).
    member_ids: list[int] = field(default_factory=list)

    @property
    def is_thread(self) -> bool:
        return True

    def note_message(self, message_id: int) -> None:
        """Count a new message, as Discord's ``message_count`` and ``total_message_sent`` do."""
        super().note_message(message_id)
        self.message_count += 1
        self.total_message_sent += 1

    def join(self, user_id: int) -> None:
        if user_id not in self.member_ids:
            self.member_ids.append(user_id)

    def payload(self, users: Mapping[int, User]) -> dict[str, Any]:
        created = iso_timestamp(self.id)
        return {
            "id": str(self.id),
            "type": PUBLIC_THREAD,
            "guild_id": str(self.guild_id),
            "parent_id": str(self.parent_id),
            "owner_id": str(self.owner_id),
            "name": self.name,
            "last_message_id": str(self.last_message_id) if self.last_message_id else None,
            "rate_limit_per_user": 0,
            "flags": 0,
            "message_count": self.message_count,
            "member_count": len(self.member_ids),
            "total_message_sent": self.total_message_sent,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": self.auto_archive_duration,
                "archive_timestamp": created,
                "locked": False,
                "create_timestamp": created,
            },
        }


def new_thread(thread_id: int, parent: Channel, name: str, owner: User, auto_archive_duration: int) -> Thread:
    """A thread in ``parent`` after Discord's checks (text channel parent, name length, duration)."""
    if parent.is_dm or parent.is_thread:
        raise errors.DiscordError(400, 50024, "Cannot execute action on this channel type")
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_THREAD_NAME_LENGTH:
        raise errors.invalid_form_body(
            "name", "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {MAX_THREAD_NAME_LENGTH} in length."
        )
    if auto_archive_duration not in AUTO_ARCHIVE_DURATIONS:
        raise errors.invalid_form_body(
            "auto_archive_duration",
            "BASE_TYPE_CHOICES",
            f"Value must be one of {set(AUTO_ARCHIVE_DURATIONS)}.",
        )
    thread = Thread(
        thread_id,
        PUBLIC_THREAD,
        name,
        parent.guild_id,
        parent_id=parent.id,
        owner_id=owner.id,
        auto_archive_duration=auto_archive_duration,
    )
    thread.join(owner.id)
    return thread
