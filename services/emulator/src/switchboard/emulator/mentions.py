"""Who a message mentions, following Discord's ``allowed_mentions`` rules.

Discord fills ``mentions``/``mention_roles``/``mention_everyone`` from the
content, but only with the mentions the sender allowed: a suppressed ping
does not appear in those arrays.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

_USER = re.compile(r"<@!?(\d{15,21})>")
_ROLE = re.compile(r"<@&(\d{15,21})>")
_EVERYONE = re.compile(r"@(?:everyone|here)\b")


@dataclass(frozen=True)
class Mentions:
    """The resolved mentions of one message, in order of first appearance."""

    user_ids: tuple[int, ...]
    role_ids: tuple[int, ...]
    everyone: bool


def resolve(
    content: str,
    allowed: Mapping[str, Any] | None,
    known_users: Collection[int],
    known_roles: Collection[int],
) -> Mentions:
    """Mentions in ``content`` that name known users/roles and that ``allowed`` permits.

    ``allowed`` is the request's ``allowed_mentions`` object; ``None`` means
    the field was absent, which Discord treats as "everything allowed".
    """
    users = _allowed_ids(_ordered_ids(_USER, content, known_users), allowed, "users")
    roles = _allowed_ids(_ordered_ids(_ROLE, content, known_roles), allowed, "roles")
    everyone = bool(_EVERYONE.search(content)) and (allowed is None or "everyone" in allowed.get("parse", []))
    return Mentions(tuple(users), tuple(roles), everyone)


def pings_replied_user(allowed: Mapping[str, Any] | None) -> bool:
    """Whether a reply mentions the author it replies to.

    Without ``allowed_mentions`` Discord pings them; with it, only when
    ``replied_user`` is true.
    """
    return allowed is None or bool(allowed.get("replied_user", False))


def _ordered_ids(pattern: re.Pattern[str], content: str, known: Collection[int]) -> list[int]:
    found: list[int] = []
    for match in pattern.finditer(content):
        snowflake = int(match.group(1))
        if snowflake in known and snowflake not in found:
            found.append(snowflake)
    return found


def _allowed_ids(ids: list[int], allowed: Mapping[str, Any] | None, kind: str) -> list[int]:
    if allowed is None or kind in allowed.get("parse", []):
        return ids
    explicit = {int(x) for x in allowed.get(kind, [])}
    return [snowflake for snowflake in ids if snowflake in explicit]
