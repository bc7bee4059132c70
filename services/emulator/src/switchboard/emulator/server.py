"""The emulator server: REST API, gateway and control API on one aiohttp app.

Typical in-process use (pytest)::

    async with Emulator() as emulator:
        discord.http.Route.BASE = emulator.api_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(emulator.gateway_url)
        ...  # start a discord.py client with emulator.config.token
        emulator.inject_message("hello", mention_bot=True)
        reply = await emulator.wait_for_event(lambda e: e["type"] == "message_create")

        # after the bot synced its CommandTree:
        interaction_id = emulator.invoke_command("ask", options={"question": "why?"})
        await emulator.wait_for_event(lambda e: e["type"] == "interaction_callback")
        emulator.interaction(interaction_id)["original"]["content"]

All helpers must be called from the event loop the emulator runs on.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from . import errors
from .attachments import uploads_from_specs
from .commands import CommandRegistry
from .config import EmulatorConfig
from .control import ControlApi
from .errors import DiscordError, EmulatorTimeout
from .events import ActionLog, ActionPredicate
from .faults import FaultInjector
from .gateway import GatewayHub
from .interactions import Interactions
from .invocation import InteractionFactory, Invocation
from .operations import Operations
from .ratelimit import RateLimiter
from .rest import RestApi
from .rest_interactions import InteractionRoutes
from .snowflake import SnowflakeGenerator
from .state import World

log = logging.getLogger(__name__)

# In-flight requests (long polls) get this long to finish when the server stops.
_SHUTDOWN_TIMEOUT_S = 2.0


class Emulator:
    """A local Discord for one bot: start it, point discord.py at it, drive it.

    An instance runs once: ``start()``, then ``stop()`` (or use ``async with``).
    """

    def __init__(self, config: EmulatorConfig | None = None):
        self.config = config or EmulatorConfig()
        self.world = World(SnowflakeGenerator(), self.config.nonce_window_s, second_guild=self.config.second_guild)
        self.actions = ActionLog(self.config.max_recorded_events)
        self.hub = GatewayHub(self.world, self.config)
        self.operations = Operations(self.world, self.hub, self.actions)
        self.commands = CommandRegistry(self.world.bot.id, self.world.snowflakes)
        self.interactions = Interactions(self.world, self.hub, self.actions, self.config)
        self.factory = InteractionFactory(self.world, self.commands, self.config)
        self.faults = FaultInjector()
        self._limiter = RateLimiter(self.config.rate_limits)
        self._runner: web.AppRunner | None = None
        self._url: str | None = None

    # -- lifecycle -------------------------------------------------------------------

    def build_app(self) -> web.Application:
        """The aiohttp application serving REST, gateway and control routes."""
        app = web.Application()
        interaction_routes = InteractionRoutes(self.world, self.commands, self.interactions, self.actions)
        RestApi(self.operations, self._limiter, self.config, self.faults, interaction_routes.routes()).install(app)
        ControlApi(self).install(app)
        app.router.add_get("/gateway", self.hub.handle)
        return app

    async def start(self) -> None:
        """Listen on the configured host and port; sets :attr:`url`."""
        if self._runner is not None or self.actions.closed:
            raise RuntimeError("an Emulator can only be started once")
        runner = web.AppRunner(self.build_app(), access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT_S)
        await runner.setup()
        site = web.TCPSite(runner, self.config.host, self.config.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        port = runner.addresses[0][1]
        self._url = f"http://{_url_host(self.config.host)}:{port}"
        log.info("Discord emulator listening on %s", self._url)

    async def stop(self) -> None:
        """Close gateway connections, end pending long polls and stop listening."""
        if self._runner is None:
            return
        self.actions.close()
        self.interactions.close()
        await self.hub.close()
        await self._runner.cleanup()
        self._runner = None

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- addresses -------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://host:port`` once started."""
        if self._url is None:
            raise RuntimeError("the emulator is not started")
        return self._url

    @property
    def api_base(self) -> str:
        """What ``discord.http.Route.BASE`` must be set to."""
        return f"{self.url}/api/v10"

    @property
    def gateway_url(self) -> str:
        """What ``DiscordWebSocket.DEFAULT_GATEWAY`` must be set to (as a ``yarl.URL``)."""
        return "ws" + self.url.removeprefix("http") + "/gateway"

    # -- driving and inspecting ------------------------------------------------------

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
        served_from: str | None = None,
    ) -> dict[str, Any]:
        """Post ``content`` as a user (see ``Operations.inject_user_message``); returns the message view.

        ``attachments``: ``[{"filename", "data" (base64), "content_type"?, "width"?, "height"?}]``,
        served at ``served_from`` (default: :attr:`url`).
        """
        uploads = uploads_from_specs(attachments, served_from or self._url or "")
        message = self.operations.inject_user_message(
            content,
            channel=channel_id,
            author=author,
            mention_bot=mention_bot,
            reply_to=reply_to,
            dm=dm,
            attachments=uploads,
        )
        return message.view()

    def inject_messages(
        self,
        content: str,
        count: int,
        *,
        channel_ids: Sequence[int | str] = ("general",),
        author: int | str = "alice",
        mention_bot: bool = False,
    ) -> list[str]:
        """Post ``count`` messages of ``content`` as a user, round robin over ``channel_ids``, dispatched in
        order; returns their ids. A flood for load tests: see ``Operations.inject_user_messages`` for what
        is checked (before anything is posted) and raised.
        """
        messages = self.operations.inject_user_messages(
            content, count, channels=channel_ids, author=author, mention_bot=mention_bot
        )
        return [str(message.id) for message in messages]

    def redeliver(self, message_id: int) -> dict[str, Any]:
        """Dispatch a message's MESSAGE_CREATE again (see ``Operations.redeliver``); returns the message view."""
        return self.operations.redeliver(message_id).view()

    def edit_message(self, message_id: int | str, content: str) -> dict[str, Any]:
        """A user message's author changes its content (MESSAGE_UPDATE with the whole message; see
        ``Operations.user_edit_message``); returns the message view."""
        return self.operations.user_edit_message(_message_id(message_id), content).view()

    def delete_message(self, message_id: int | str) -> dict[str, Any]:
        """Its author or a moderator deletes a message (MESSAGE_DELETE; see ``Operations.user_delete_message``);
        returns the view of the deleted message."""
        return self.operations.user_delete_message(_message_id(message_id)).view()

    def bulk_delete(self, channel: int | str, ids: Sequence[int | str]) -> list[str]:
        """A moderator deletes up to 100 messages of a guild channel at once (one MESSAGE_DELETE_BULK; see
        ``Operations.user_bulk_delete``); returns the deleted ids."""
        messages = self.operations.user_bulk_delete(channel, [_message_id(i, "ids") for i in ids])
        return [str(message.id) for message in messages]

    def remove_bot_from_guild(self, guild: int | str) -> dict[str, Any]:
        """The bot is kicked from ``guild`` (id or name; GUILD_DELETE, then silence; see
        ``Operations.remove_bot_from_guild``); returns the guild summary with ``bot_member`` and ``sessions``
        (how many gateway sessions were told)."""
        removed, told = self.operations.remove_bot_from_guild(guild)
        return {**removed.summary(), "bot_member": False, "sessions": told}

    def add_bot_to_guild(self, guild: int | str) -> dict[str, Any]:
        """The bot is added back to ``guild`` (GUILD_CREATE as a join); returns what ``remove_bot_from_guild`` does."""
        added, told = self.operations.add_bot_to_guild(guild)
        return {**added.summary(), "bot_member": True, "sessions": told}

    def messages(self, channel_id: int | str | None = None, author: int | str | None = None) -> list[dict[str, Any]]:
        """Message views oldest first; ``author`` may be ``"bot"``, an id or a username."""
        return [m.view() for m in self.world.find_messages(channel_id, author)]

    def message(self, message_id: int) -> dict[str, Any]:
        """A message view by id, ephemeral interaction messages included."""
        found = self.world.messages.find(message_id) or self.interactions.find_message(message_id)
        if found is None:
            raise errors.unknown_message()
        return found.view()

    def events(self, after: int = 0) -> list[dict[str, Any]]:
        """Recorded bot actions with ``seq`` greater than ``after``."""
        return self.actions.after(after)

    @property
    def last_event_seq(self) -> int:
        """The newest action's ``seq``: pass it as ``after`` to wait only for what comes next."""
        return self.actions.last_seq

    async def wait_for_event(
        self, predicate: ActionPredicate, timeout: float = 10.0, *, after: int = 0
    ) -> dict[str, Any]:
        """The first action after ``after`` matching ``predicate``; raises :class:`EmulatorTimeout`."""
        return await self.actions.wait_for(predicate, timeout, after)

    async def wait_until_connected(self, sessions: int = 1, timeout: float = 10.0) -> None:
        """Wait until ``sessions`` gateway sessions are identified and connected."""
        await self.hub.wait_for_sessions(sessions, timeout)

    @property
    def connected_sessions(self) -> int:
        return self.hub.connected_sessions

    def create_channel(self, name: str, topic: str | None = None, guild: int | str | None = None) -> dict[str, Any]:
        """Add a text channel to ``guild`` (default: the primary one; dispatched as CHANNEL_CREATE)."""
        return self.world.channel_payload(self.operations.create_channel(name, topic, guild))

    def create_thread(
        self, channel_id: int | str, name: str, *, author: int | str = "alice", auto_archive_duration: int = 1440
    ) -> dict[str, Any]:
        """``author`` starts a public thread in a text channel (dispatched as THREAD_CREATE); returns it."""
        thread = self.operations.create_thread(channel_id, name, author, auto_archive_duration)
        return self.world.channel_payload(thread)

    # -- interactions ------------------------------------------------------------------

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
        served_from: str | None = None,
    ) -> str:
        """A user invokes a registered command (dispatched as INTERACTION_CREATE); returns the interaction id.

        See ``InteractionFactory.command`` for the fields; ``command_type`` is
        the spec's ``type`` (1 chat input, 2 user, 3 message).
        """
        spec = {
            "command": command,
            "options": options,
            "subcommand_group": subcommand_group,
            "subcommand": subcommand,
            "type": command_type,
            "target_id": target_id,
            "user": user,
            "channel_id": channel_id,
            "dm": dm,
            "permissions": permissions,
            "locale": locale,
        }
        return self.invoke(spec, served_from or self._url or "")

    def invoke(self, spec: dict[str, Any], served_from: str) -> str:
        """``invoke_command`` taking the control API's body as is."""
        return self._open(self.factory.command(spec, served_from))

    def click_component(
        self,
        message_id: int | str,
        custom_id: str,
        *,
        values: list[str] | None = None,
        user: int | str = "alice",
        permissions: int | None = None,
    ) -> str:
        """A user clicks a button (or picks ``values`` of a string select) on a message; returns the interaction id."""
        message = self.world.messages.find(int(message_id)) or self.interactions.find_message(int(message_id))
        if message is None:
            raise errors.unknown_message()
        spec = {"custom_id": custom_id, "values": values, "user": user, "permissions": permissions}
        return self._open(self.factory.component(message, spec))

    def submit_modal(self, interaction_id: int | str, values: dict[str, Any], *, user: int | str | None = None) -> str:
        """Submit the modal the bot answered ``interaction_id`` with; returns the new interaction's id."""
        shown = self.interactions.get(int(interaction_id))
        if shown.modal is None:
            raise DiscordError(400, 0, "That interaction was not answered with a modal")
        if shown.modal_submission is not None:
            raise DiscordError(400, 0, "That modal was already submitted")
        spec = {"values": values, "user": user if user is not None else shown.user.id}
        submission = self._open(self.factory.modal_submit(shown.modal, shown.channel, spec, shown.source_message))
        shown.modal_submission = int(submission)
        return submission

    def _open(self, invocation: Invocation) -> str:
        opened = self.interactions.open(
            invocation.payload,
            invocation.channel,
            invocation.user,
            command=invocation.command,
            custom_id=invocation.custom_id,
            source_message=invocation.source_message,
        )
        return str(opened.id)

    def interaction(self, interaction_id: int | str) -> dict[str, Any]:
        """What happened to an interaction: callbacks, original response, followups, timing (see the README)."""
        return self.interactions.view(int(interaction_id))

    async def wait_for_interaction_response(self, interaction_id: int | str, timeout: float = 10.0) -> dict[str, Any]:
        """Wait until the bot answered ``interaction_id`` or let it expire; returns ``interaction(id)``."""
        wanted = str(interaction_id)
        await self.wait_for_event(
            lambda e: (
                e["type"] in ("interaction_callback", "interaction_expired") and e.get("interaction_id") == wanted
            ),
            timeout,
        )
        return self.interaction(wanted)

    def registered_commands(self) -> dict[str, Any]:
        """``{"global": [command, ...], "guilds": {guild_id: [command, ...]}}``."""
        return self.commands.view()

    # -- injected failures -----------------------------------------------------------

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
        """Make the next ``count`` REST requests matching ``path_pattern`` (and ``method``) fail with ``status``."""
        spec: dict[str, Any] = {
            "status": status,
            "path_pattern": path_pattern,
            "method": method,
            "count": count,
            "global": is_global,
        }
        if retry_after is not None:
            spec["retry_after"] = retry_after
        return self.faults.arm(spec).view()

    def clear_faults(self) -> int:
        """Disarm every pending fault; returns how many there were."""
        return self.faults.clear()

    def request_reconnect(self) -> int:
        """Ask every connected client to reconnect and resume (gateway op 7)."""
        return self.hub.request_reconnect()

    def reset(self) -> None:
        """Forget messages, interactions, recorded actions, armed faults and rate limit windows.

        Users, guilds, channels, threads, registered commands and gateway sessions stay.
        """
        self.world.messages.clear()
        self.interactions.clear()
        self.actions.clear()
        self.faults.clear()
        self._limiter.clear()

    def state(self) -> dict[str, Any]:
        """The world's ids and names plus live counters (what ``GET /_emulator/state`` returns)."""
        return {
            **self.world.summary(),
            "identified_sessions": self.hub.connected_sessions,
            "last_event_seq": self.actions.last_seq,
            "sessions": self.hub.sessions_summary(),
            "faults": {"pending": self.faults.pending(), "injected": self.faults.injected},
        }


def _message_id(value: int | str, field: str = "message_id") -> int:
    """A message id given as an int or digit string; 400 (50035) otherwise."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise errors.invalid_form_body(field, "NUMBER_TYPE_COERCE", f'Value "{value}" is not snowflake.')


def _url_host(host: str) -> str:
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


__all__ = ["Emulator", "EmulatorConfig", "EmulatorTimeout"]
