"""The emulator server: REST API, gateway and control API on one aiohttp app.

Typical in-process use (pytest)::

    async with Emulator() as emulator:
        discord.http.Route.BASE = emulator.api_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(emulator.gateway_url)
        ...  # start a discord.py client with emulator.config.token
        emulator.inject_message("hello", mention_bot=True)
        reply = await emulator.wait_for_event(lambda e: e["type"] == "message_create")

All helpers must be called from the event loop the emulator runs on.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from . import errors
from .config import EmulatorConfig
from .control import ControlApi
from .errors import EmulatorTimeout
from .events import ActionLog, ActionPredicate
from .gateway import GatewayHub
from .operations import Operations
from .ratelimit import RateLimiter
from .rest import RestApi
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
        self.world = World(SnowflakeGenerator(), self.config.nonce_window_s)
        self.actions = ActionLog(self.config.max_recorded_events)
        self.hub = GatewayHub(self.world, self.config)
        self.operations = Operations(self.world, self.hub, self.actions)
        self._limiter = RateLimiter(self.config.rate_limits)
        self._runner: web.AppRunner | None = None
        self._url: str | None = None

    # -- lifecycle -------------------------------------------------------------------

    def build_app(self) -> web.Application:
        """The aiohttp application serving REST, gateway and control routes."""
        app = web.Application()
        RestApi(self.operations, self._limiter, self.config).install(app)
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
    ) -> dict[str, Any]:
        """Post ``content`` as a user (see ``Operations.inject_user_message``); returns the message view."""
        message = self.operations.inject_user_message(
            content, channel=channel_id, author=author, mention_bot=mention_bot, reply_to=reply_to, dm=dm
        )
        return message.view()

    def messages(self, channel_id: int | str | None = None, author: int | str | None = None) -> list[dict[str, Any]]:
        """Message views oldest first; ``author`` may be ``"bot"``, an id or a username."""
        return [m.view() for m in self.world.find_messages(channel_id, author)]

    def message(self, message_id: int) -> dict[str, Any]:
        found = self.world.messages.find(message_id)
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

    def create_channel(self, name: str, topic: str | None = None) -> dict[str, Any]:
        """Add a guild text channel (dispatched as CHANNEL_CREATE); returns its channel object."""
        return self.world.channel_payload(self.operations.create_channel(name, topic))

    def request_reconnect(self) -> int:
        """Ask every connected client to reconnect and resume (gateway op 7)."""
        return self.hub.request_reconnect()

    def reset(self) -> None:
        """Forget messages, recorded actions and rate limit windows; keep users, channels, sessions."""
        self.world.messages.clear()
        self.actions.clear()
        self._limiter.clear()

    def state(self) -> dict[str, Any]:
        """The world's ids and names plus live counters (what ``GET /_emulator/state`` returns)."""
        return {
            **self.world.summary(),
            "identified_sessions": self.hub.connected_sessions,
            "last_event_seq": self.actions.last_seq,
        }


def _url_host(host: str) -> str:
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


__all__ = ["Emulator", "EmulatorConfig", "EmulatorTimeout"]
