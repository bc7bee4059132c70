"""Reactions: which emoji a message carries and who put them there.

An emoji in a route is URL-encoded by the client: a unicode emoji itself
(``%E2%9A%A0%EF%B8%8F``) or a custom one as ``name:id``. The seeded guilds
have no custom emoji, so a custom emoji is unknown, as on Discord (10014).
Reaction objects follow Discord's shape; ``me`` is from the bot's point of view.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import errors

_CUSTOM_EMOJI_PARTS = 2  # "name:id"


@dataclass(frozen=True)
class Emoji:
    """A unicode emoji (``id`` None) as Discord identifies it in reaction routes and payloads."""

    name: str
    id: int | None = None

    @property
    def key(self) -> str:
        return self.name if self.id is None else f"{self.name}:{self.id}"

    def payload(self) -> dict[str, Any]:
        return {"id": str(self.id) if self.id is not None else None, "name": self.name}


def parse_emoji(raw: str, known_custom_ids: frozenset[int] = frozenset()) -> Emoji:
    """The emoji a (decoded) route segment names; raises 400 Unknown Emoji (10014) otherwise.

    A unicode emoji must contain a non-ASCII character (``thumbsup`` or
    ``:thumbsup:`` are not emoji to Discord); a custom one must be known.
    """
    text = raw.strip()
    parts = text.removeprefix("a:").split(":")
    if len(parts) == _CUSTOM_EMOJI_PARTS and parts[1].isdigit():
        emoji_id = int(parts[1])
        if emoji_id not in known_custom_ids:
            raise errors.unknown_emoji()
        return Emoji(parts[0], emoji_id)
    if not text or ":" in text or text.isascii():
        raise errors.unknown_emoji()
    return Emoji(text)


@dataclass
class ReactionSet:
    """The reactions on one message: for each emoji (in first-use order), who reacted."""

    _users: dict[Emoji, list[int]] = field(default_factory=dict)

    def add(self, emoji: Emoji, user_id: int) -> bool:
        """Add ``user_id``'s reaction; False when it was already there."""
        users = self._users.setdefault(emoji, [])
        if user_id in users:
            return False
        users.append(user_id)
        return True

    def remove(self, emoji: Emoji, user_id: int) -> bool:
        """Remove ``user_id``'s reaction; False when there was none."""
        users = self._users.get(emoji)
        if users is None or user_id not in users:
            return False
        users.remove(user_id)
        if not users:
            del self._users[emoji]
        return True

    def payload(self, me_id: int) -> list[dict[str, Any]]:
        """Discord's ``reactions`` array of a message, ``me`` meaning ``me_id`` reacted."""
        return [
            {
                "emoji": emoji.payload(),
                "count": len(users),
                "count_details": {"burst": 0, "normal": len(users)},
                "burst_colors": [],
                "me": me_id in users,
                "me_burst": False,
            }
            for emoji, users in self._users.items()
        ]

    def view(self, me_id: int) -> list[dict[str, Any]]:
        """The reactions for the control API: Discord's objects plus ``user_ids``."""
        return [
            {**reaction, "user_ids": [str(u) for u in users]}
            for reaction, users in zip(self.payload(me_id), self._users.values(), strict=True)
        ]

    def __bool__(self) -> bool:
        return bool(self._users)
