"""Guild permissions: the bits the emulator uses and a member's effective set.

Discord computes a member's base permissions as the union of @everyone and
their roles; the guild owner and anyone with ADMINISTRATOR have every
permission. The emulator has no channel overwrites, so a member's
permissions are the same in every channel of a guild, and that is what
interactions report as ``member.permissions`` and ``app_permissions``.
"""

from __future__ import annotations

from .models import Guild

ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
SEND_MESSAGES = 1 << 11
USE_APPLICATION_COMMANDS = 1 << 31

#: Every permission Discord defines (the value it reports for a guild owner);
#: equal to discord.py 2.7's ``Permissions.all()``.
ALL_PERMISSIONS = 8_866_461_766_385_663


def member_permissions(guild: Guild, user_id: int) -> int:
    """The permission bitfield ``user_id`` has in ``guild`` (0 for non-members)."""
    if user_id == guild.owner_id:
        return ALL_PERMISSIONS
    member = guild.members.get(user_id)
    if member is None:
        return 0
    roles = {role.id: role for role in guild.roles}
    value = roles[guild.id].permissions if guild.id in roles else 0
    for role_id in member.roles:
        role = roles.get(role_id)
        if role is not None:
            value |= role.permissions
    return ALL_PERMISSIONS if value & ADMINISTRATOR else value


def has_all(granted: int, required: int) -> bool:
    """Whether ``granted`` includes every bit of ``required`` (ADMINISTRATOR implies all)."""
    return bool(granted & ADMINISTRATOR) or granted & required == required
