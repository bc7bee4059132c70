"""Errors: Discord-shaped API errors and the emulator's own timeout.

This module uses only the standard library because the synchronous control
client (which must not need aiohttp) imports it.
"""

from __future__ import annotations

from typing import Any


class EmulatorTimeout(TimeoutError):
    """A wait on the emulator passed its deadline before the condition held."""


class DiscordError(Exception):
    """An error the REST API reports the way Discord does.

    ``body()`` is the JSON document Discord would send:
    ``{"code": ..., "message": ...}`` plus ``errors`` for form validation.
    """

    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None):
        super().__init__(f"{status} {message} (code {code})")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


def unauthorized() -> DiscordError:
    return DiscordError(401, 0, "401: Unauthorized")


def not_found() -> DiscordError:
    return DiscordError(404, 0, "404: Not Found")


def method_not_allowed() -> DiscordError:
    return DiscordError(405, 0, "405: Method Not Allowed")


def unknown_channel() -> DiscordError:
    return DiscordError(404, 10003, "Unknown Channel")


def unknown_message() -> DiscordError:
    return DiscordError(404, 10008, "Unknown Message")


def unknown_user() -> DiscordError:
    return DiscordError(404, 10013, "Unknown User")


def unknown_guild() -> DiscordError:
    return DiscordError(404, 10004, "Unknown Guild")


def unknown_member() -> DiscordError:
    return DiscordError(404, 10007, "Unknown Member")


def unknown_application() -> DiscordError:
    return DiscordError(404, 10002, "Unknown Application")


def unknown_emoji() -> DiscordError:
    return DiscordError(400, 10014, "Unknown Emoji")


def unknown_webhook() -> DiscordError:
    return DiscordError(404, 10015, "Unknown Webhook")


def unknown_interaction() -> DiscordError:
    return DiscordError(404, 10062, "Unknown interaction")


def unknown_command() -> DiscordError:
    return DiscordError(404, 10063, "Unknown application command")


def missing_access() -> DiscordError:
    return DiscordError(403, 50001, "Missing Access")


def cannot_execute_on_dm() -> DiscordError:
    return DiscordError(403, 50003, "Cannot execute action on a DM channel")


def invalid_webhook_token() -> DiscordError:
    return DiscordError(401, 50027, "Invalid Webhook Token")


def already_acknowledged() -> DiscordError:
    return DiscordError(400, 40060, "Interaction has already been acknowledged.")


def empty_message() -> DiscordError:
    return DiscordError(400, 50006, "Cannot send an empty message")


def cannot_edit_others() -> DiscordError:
    return DiscordError(403, 50005, "Cannot edit a message authored by another user")


def missing_permissions() -> DiscordError:
    return DiscordError(403, 50013, "Missing Permissions")


def cannot_message_user() -> DiscordError:
    return DiscordError(400, 50007, "Cannot send messages to this user")


def invalid_json() -> DiscordError:
    return DiscordError(400, 50109, "The request body contains invalid JSON.")


def invalid_form_body(field_path: str, code: str, message: str) -> DiscordError:
    """A 50035 error whose ``errors`` tree points at ``field_path`` (dotted, e.g. ``embeds.0.title``)."""
    tree: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
    for part in reversed(field_path.split(".")):
        tree = {part: tree}
    return DiscordError(400, 50035, "Invalid Form Body", tree)
