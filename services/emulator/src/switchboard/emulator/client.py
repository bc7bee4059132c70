"""A synchronous client of the control API, using only the standard library.

For tests and tools in other processes (the terminal chat, load generators)
that talk to a running emulator::

    client = EmulatorClient.from_ready_file(".run/emulator.url")
    client.wait_until_connected()
    cursor = client.cursor()
    client.inject_message("hi", mention_bot=True)
    reply = client.wait_for_bot_message("general", after=cursor)

Deadlines raise :class:`EmulatorTimeout`; control API errors raise
:class:`EmulatorRequestError`.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import EmulatorTimeout

EventPredicate = Callable[[dict[str, Any]], bool]
MessagePredicate = Callable[[dict[str, Any]], bool]

# Long polls are split into slices no longer than this, so each HTTP
# request stays well inside the server's cap and the caller's deadline.
_POLL_SLICE_S = 10.0


class EmulatorRequestError(RuntimeError):
    """The control API answered with an error status."""

    def __init__(self, status: int, body: Any):
        message = body.get("error") if isinstance(body, dict) else body
        super().__init__(f"emulator control API returned {status}: {message}")
        self.status = status
        self.body = body


class EmulatorClient:
    """Talks to the control API at ``url`` (``http://host:port``)."""

    def __init__(self, url: str, *, request_timeout: float = 10.0):
        self.url = url.rstrip("/")
        self.request_timeout = request_timeout

    @classmethod
    def from_ready_file(cls, path: str | Path, timeout: float = 30.0) -> EmulatorClient:
        """Wait for ``python -m switchboard.emulator --ready-file PATH`` to be listening."""
        ready = Path(path)
        deadline = time.monotonic() + timeout
        while not ready.exists():
            if time.monotonic() >= deadline:
                raise EmulatorTimeout(f"{ready} did not appear within {timeout} s")
            time.sleep(0.05)
        return cls(ready.read_text().strip())

    # -- HTTP -------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> Any:
        params = {k: v for k, v in (query or {}).items() if v is not None}
        url = f"{self.url}/_emulator{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.request_timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                detail = json.loads(raw)
            except ValueError:
                detail = raw.decode(errors="replace")
            raise EmulatorRequestError(exc.code, detail) from None

    # -- queries ------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Bot user, guild, channels, users, ``identified_sessions``, ``last_event_seq``."""
        return self._request("GET", "/state")

    def cursor(self) -> int:
        """The newest event's ``seq``; pass it as ``after`` to wait only for what follows."""
        return int(self.state()["last_event_seq"])

    def messages(self, channel_id: int | str | None = None, author: int | str | None = None) -> list[dict[str, Any]]:
        """Messages oldest first, with ``edits`` and ``request``; ``author`` may be ``"bot"``."""
        return self._request("GET", "/messages", query={"channel_id": channel_id, "author": author})["messages"]

    def redeliver(self, message_id: int | str) -> dict[str, Any]:
        """Dispatch a user message's MESSAGE_CREATE to the bot again (Discord's delivery is at least once)."""
        return self._request("POST", f"/messages/{message_id}/redeliver")

    def message(self, message_id: int | str) -> dict[str, Any]:
        return self._request("GET", f"/messages/{message_id}")

    def events(self, after: int = 0, timeout: float = 0.0) -> dict[str, Any]:
        """``{"events": [...], "last_seq": n}``: bot actions with ``seq > after``.

        Waits up to ``timeout`` seconds for at least one; ``last_seq`` is the
        cursor to pass as ``after`` next time (even when no event came).
        """
        query = {"after": after, "timeout": timeout}
        return self._request("GET", "/events", query=query, timeout=timeout + self.request_timeout)

    # -- actions -----------------------------------------------------------------------

    def inject_message(
        self,
        content: str,
        *,
        channel_id: int | str | None = None,
        author: int | str = "alice",
        mention_bot: bool = False,
        reply_to: int | str | None = None,
        dm: bool = False,
        attachments: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Post as a user (default alice in #general); returns the created message.

        ``attachments``: ``[{"filename", "data", "content_type"?, "width"?, "height"?}]``
        with ``data`` as bytes or base64 text; the emulator serves each file at its ``url``.
        """
        body: dict[str, Any] = {"content": content, "author": author, "mention_bot": mention_bot, "dm": dm}
        if channel_id is not None:
            body["channel_id"] = str(channel_id)
        if reply_to is not None:
            body["reply_to"] = str(reply_to)
        if attachments is not None:
            body["attachments"] = [_encoded_file(spec) for spec in attachments]
        return self._request("POST", "/messages", body)

    def inject_messages(
        self,
        content: str,
        count: int,
        *,
        channel_ids: list[int | str] | None = None,
        author: int | str = "alice",
        mention_bot: bool = False,
    ) -> list[str]:
        """Post ``count`` messages as a user in one request, round robin over ``channel_ids`` (default
        #general), each dispatched to the bot in order; returns their ids. Bad input (a count outside
        1..50000, an unknown channel) raises :class:`EmulatorRequestError` before anything is posted.
        """
        body: dict[str, Any] = {"content": content, "count": count, "author": author, "mention_bot": mention_bot}
        if channel_ids is not None:
            body["channel_ids"] = [str(channel) for channel in channel_ids]
        return self._request("POST", "/messages/bulk", body)["ids"]

    def edit_message(self, message_id: int | str, content: str) -> dict[str, Any]:
        """The (user) author of a message changes its content; the bot gets MESSAGE_UPDATE with the whole
        message. Returns the edited message."""
        return self._request("PATCH", f"/messages/{message_id}", {"content": content})

    def delete_message(self, message_id: int | str) -> dict[str, Any]:
        """Its author or a moderator deletes a message (the bot's too, outside DMs); the bot gets
        MESSAGE_DELETE. Returns the deleted message."""
        return self._request("DELETE", f"/messages/{message_id}")

    def bulk_delete(self, channel: int | str, ids: list[int | str]) -> list[str]:
        """A moderator deletes 1..100 messages of a guild channel (id or name) at once; the bot gets one
        MESSAGE_DELETE_BULK. Nothing is deleted if any id is not a message of that channel. Returns the ids."""
        body = {"ids": [str(message_id) for message_id in ids]}
        return self._request("POST", f"/channels/{_segment(channel)}/bulk-delete", body)["ids"]

    def remove_bot_from_guild(self, guild: int | str) -> dict[str, Any]:
        """Kick the bot from ``guild`` (id or name): GUILD_DELETE, then none of its events until
        ``add_bot_to_guild``. Returns ``{"id", "name", "owner_id", "bot_member", "sessions"}``."""
        return self._request("POST", f"/guilds/{_segment(guild)}/remove-bot")

    def add_bot_to_guild(self, guild: int | str) -> dict[str, Any]:
        """Add the bot back to ``guild`` (id or name): GUILD_CREATE as a join. Returns what
        ``remove_bot_from_guild`` does."""
        return self._request("POST", f"/guilds/{_segment(guild)}/add-bot")

    def create_channel(self, name: str, topic: str | None = None, guild: int | str | None = None) -> dict[str, Any]:
        """Add a text channel to ``guild`` (id or name; default "Test Guild")."""
        return self._request("POST", "/channels", {"name": name, "topic": topic, "guild": guild})

    def create_thread(
        self, channel_id: int | str, name: str, *, author: int | str = "alice", auto_archive_duration: int = 1440
    ) -> dict[str, Any]:
        """``author`` starts a public thread in a text channel; returns the thread channel object."""
        body = {
            "channel_id": str(channel_id),
            "name": name,
            "author": author,
            "auto_archive_duration": auto_archive_duration,
        }
        return self._request("POST", "/threads", body)

    # -- application commands and interactions ----------------------------------------

    def registered_commands(self) -> dict[str, Any]:
        """``{"global": [command, ...], "guilds": {guild_id: [command, ...]}}``."""
        return self._request("GET", "/commands")

    def invoke_command(
        self,
        command: str,
        *,
        options: dict[str, Any] | None = None,
        subcommand_group: str | None = None,
        subcommand: str | None = None,
        command_type: int | str = 1,
        target_id: int | str | None = None,
        user: int | str = "alice",
        channel_id: int | str | None = None,
        dm: bool = False,
        permissions: int | None = None,
        locale: str | None = None,
    ) -> str:
        """A user invokes a registered command; returns the interaction id.

        ``command_type``: 1 (chat input), 2 (user; ``target_id`` a user) or 3
        (message; ``target_id`` a message). ``options`` maps option names to
        plain values (users, channels and roles by id or name; attachments as
        file dicts like ``inject_message``'s). ``permissions`` overrides the
        member's permission bitfield.
        """
        body: dict[str, Any] = {
            "command": command,
            "subcommand_group": subcommand_group,
            "subcommand": subcommand,
            "type": command_type,
            "target_id": str(target_id) if target_id is not None else None,
            "user": user,
            "channel_id": str(channel_id) if channel_id is not None else None,
            "dm": dm,
            "permissions": permissions,
            "locale": locale,
            "options": {k: _encoded_file(v) if isinstance(v, dict) else v for k, v in (options or {}).items()},
        }
        return self._request("POST", "/interactions", body)["id"]

    def click_component(
        self,
        message_id: int | str,
        custom_id: str,
        *,
        values: list[str] | None = None,
        user: int | str = "alice",
        permissions: int | None = None,
    ) -> str:
        """A user clicks a button (or picks ``values`` of a string select); returns the interaction id."""
        body = {
            "message_id": str(message_id),
            "custom_id": custom_id,
            "values": values,
            "user": user,
            "permissions": permissions,
        }
        return self._request("POST", "/components", body)["id"]

    def submit_modal(self, interaction_id: int | str, values: dict[str, Any], *, user: int | str | None = None) -> str:
        """Submit the modal the bot answered ``interaction_id`` with; returns the new interaction id."""
        return self._request("POST", f"/interactions/{interaction_id}/modal", {"values": values, "user": user})["id"]

    def interaction(self, interaction_id: int | str) -> dict[str, Any]:
        """Callbacks, original response, followups and timing of one interaction."""
        return self._request("GET", f"/interactions/{interaction_id}")

    def wait_for_interaction_response(self, interaction_id: int | str, *, timeout: float = 10.0) -> dict[str, Any]:
        """Wait until the bot answered ``interaction_id`` (or let it expire); returns the interaction."""
        wanted = str(interaction_id)
        self.wait_for_event(
            lambda e: e["type"] in ("interaction_callback", "interaction_expired") and e["interaction_id"] == wanted,
            timeout=timeout,
        )
        return self.interaction(wanted)

    # -- injected failures ----------------------------------------------------------------

    def add_fault(
        self,
        status: int,
        path_pattern: str,
        *,
        method: str | None = None,
        count: int = 1,
        retry_after: float | None = None,
        is_global: bool = False,
    ) -> dict[str, Any]:
        """The next ``count`` REST requests matching ``path_pattern`` (a regex) get ``status``."""
        body: dict[str, Any] = {
            "status": status,
            "path_pattern": path_pattern,
            "method": method,
            "count": count,
            "global": is_global,
        }
        if retry_after is not None:
            body["retry_after"] = retry_after
        return self._request("POST", "/faults", body)

    def faults(self) -> dict[str, Any]:
        """``{"faults": [pending fault, ...], "injected": n}``."""
        return self._request("GET", "/faults")

    def clear_faults(self) -> int:
        return int(self._request("DELETE", "/faults")["cleared"])

    def request_reconnect(self) -> int:
        return int(self._request("POST", "/gateway/reconnect")["sessions"])

    def reset(self) -> None:
        self._request("POST", "/reset")

    # -- waiting ----------------------------------------------------------------------

    def wait_for_event(self, predicate: EventPredicate, *, after: int = 0, timeout: float = 10.0) -> dict[str, Any]:
        """The first event after ``after`` that matches ``predicate``."""
        deadline = time.monotonic() + timeout
        cursor = after
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise EmulatorTimeout(f"no matching emulator event within {timeout} s")
            for event in self.events(after=cursor, timeout=min(remaining, _POLL_SLICE_S))["events"]:
                if predicate(event):
                    return event
                cursor = event["seq"]

    def wait_for_bot_message(
        self,
        channel_id: int | str,
        predicate: MessagePredicate | None = None,
        *,
        after: int = 0,
        timeout: float = 10.0,
    ) -> dict[str, Any]:
        """The first message the bot creates in ``channel_id`` (id or name) after event ``after``.

        ``predicate`` sees the full message (as ``messages()`` returns it).
        """
        wanted = str(self._channel_id(channel_id))
        found: dict[str, Any] = {}

        def matches(event: dict[str, Any]) -> bool:
            if event["type"] != "message_create" or event["channel_id"] != wanted:
                return False
            try:
                message = self.message(event["message_id"])
            except EmulatorRequestError as exc:
                if exc.status == 404:
                    return False  # deleted since; not the message we wait for
                raise
            if predicate is not None and not predicate(message):
                return False
            found["message"] = message
            return True

        self.wait_for_event(matches, after=after, timeout=timeout)
        return found["message"]

    def wait_until_connected(self, sessions: int = 1, timeout: float = 10.0) -> dict[str, Any]:
        """Wait until ``sessions`` bot gateway sessions are identified; returns the state."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.state()
            if state["identified_sessions"] >= sessions:
                return state
            if time.monotonic() >= deadline:
                raise EmulatorTimeout(f"no identified gateway session within {timeout} s")
            time.sleep(0.05)

    def _channel_id(self, ref: int | str) -> str:
        if isinstance(ref, int) or ref.isdigit():
            return str(ref)
        for channel in self.state()["channels"]:
            if channel.get("name") == ref:
                return channel["id"]
        raise EmulatorRequestError(404, {"error": f"no channel named {ref!r}"})


def _segment(ref: int | str) -> str:
    """An id or name as one URL path segment (names may hold spaces)."""
    return urllib.parse.quote(str(ref), safe="")


def _encoded_file(spec: dict[str, Any]) -> dict[str, Any]:
    """A file spec with bytes ``data`` turned into base64 text for JSON."""
    data = spec.get("data")
    if isinstance(data, bytes | bytearray):
        return {**spec, "data": base64.b64encode(data).decode()}
    return spec
