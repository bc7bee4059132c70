"""The gateway websocket at ``/gateway``.

Speaks the subset of the Discord gateway a bot needs: HELLO, IDENTIFY
(token checked, close 4004 otherwise), READY followed by one GUILD_CREATE
per guild of the session's shard (``(guild_id >> 22) % shard_count``),
heartbeat ACKs, RESUME with replay (op 9 for an unknown or expired session),
RECONNECT on request, and GUILD_MEMBERS_CHUNK answers to member requests.

Frames are always plain JSON text: the ``compress`` query parameter is
ignored, which discord.py accepts. Close codes follow Discord's.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

from . import intents as intent_flags
from .config import EmulatorConfig
from .errors import EmulatorTimeout
from .gateway_session import (
    OP_HEARTBEAT,
    OP_HEARTBEAT_ACK,
    OP_HELLO,
    OP_IDENTIFY,
    OP_INVALID_SESSION,
    OP_PRESENCE_UPDATE,
    OP_RECONNECT,
    OP_REQUEST_GUILD_MEMBERS,
    OP_RESUME,
    OP_VOICE_STATE_UPDATE,
    Connection,
    GatewaySession,
)
from .models import Guild
from .state import World

log = logging.getLogger(__name__)

API_VERSION = 10
# Client close codes after which Discord forgets the session (no resume).
_FINAL_CLIENT_CLOSE_CODES = frozenset({1000, 1001})
# Guild events that reach the bot even while it is not a member: an app's commands stay in a guild
# its bot user was kicked from (the applications.commands scope is its own), and so do interactions.
_WITHOUT_MEMBERSHIP = frozenset({"INTERACTION_CREATE"})


@dataclass
class _Link:
    """Per-connection state of the read loop."""

    connection: Connection
    resume_url: str
    session: GatewaySession | None = None


# (close code, reason) to end a connection with.
_Close = tuple[int, str]


class GatewayHub:
    """Accepts gateway connections and fans dispatches out to identified sessions."""

    def __init__(self, world: World, config: EmulatorConfig):
        self._world = world
        self._config = config
        self._sessions: dict[str, GatewaySession] = {}
        self._connections: set[Connection] = set()
        self._sessions_changed = asyncio.Event()

    # -- public API ----------------------------------------------------------------

    @property
    def connected_sessions(self) -> int:
        """Identified (or resumed) sessions that currently have a live connection."""
        return sum(1 for s in self._sessions.values() if s.connection is not None)

    async def wait_for_sessions(self, count: int, timeout: float) -> None:
        """Return once ``count`` sessions are connected; raise :class:`EmulatorTimeout` otherwise."""
        try:
            async with asyncio.timeout(timeout):
                while self.connected_sessions < count:
                    await self._sessions_changed.wait()
        except TimeoutError:
            raise EmulatorTimeout(f"{count} gateway session(s) not connected within {timeout} s") from None

    def dispatch(self, event: str, data: dict[str, Any], guild_id: int | None) -> None:
        """Send ``event`` to every session that should see it (shard and intents permitting).

        Events of a guild the bot is not a member of (it was removed) go nowhere,
        interactions aside. Disconnected but resumable sessions record it for replay.
        """
        if guild_id is not None and event not in _WITHOUT_MEMBERSHIP and not self._world.bot_in_guild(guild_id):
            return
        for session in self._sessions_of(guild_id):
            self._send_to(session, event, data)

    def announce_guild(self, guild: Guild) -> int:
        """The bot joined ``guild``: send its GUILD_CREATE to the sessions whose shard owns it; returns how many.

        The payload has no ``unavailable`` field: that is how clients tell a join
        (discord.py's ``on_guild_join``) from a guild back from an outage.
        """
        told = 0
        for session in self._sessions_of(guild.id):
            all_members = bool(session.intents & intent_flags.GUILD_PRESENCES)
            data = self._world.guild_payload(guild, all_members=all_members)
            del data["unavailable"]
            if self._send_to(session, "GUILD_CREATE", data):
                session.guild_ids.append(guild.id)
                told += 1
        return told

    def withdraw_guild(self, guild: Guild) -> int:
        """The bot left ``guild``: send GUILD_DELETE ``{"id", "unavailable": false}`` to the sessions
        whose shard owns it (``unavailable`` false means removed, not an outage); returns how many."""
        told = 0
        for session in self._sessions_of(guild.id):
            if guild.id in session.guild_ids:
                session.guild_ids.remove(guild.id)
            if self._send_to(session, "GUILD_DELETE", {"id": str(guild.id), "unavailable": False}):
                told += 1
        return told

    def _sessions_of(self, guild_id: int | None) -> list[GatewaySession]:
        """Live and resumable sessions whose shard receives the events of ``guild_id``."""
        self._forget_expired_sessions()
        return [session for session in self._sessions.values() if session.owns_guild(guild_id)]

    def _send_to(self, session: GatewaySession, event: str, data: dict[str, Any]) -> bool:
        """Dispatch ``event`` to ``session`` as its intents shape it; False when they keep it out."""
        shaped = intent_flags.shape_for_session(event, data, session.intents, self._world.bot.id)
        if shaped is None:
            return False
        session.dispatch(event, shaped)
        return True

    def sessions_summary(self) -> list[dict[str, Any]]:
        """Every known session (connected or resumable), as the control API reports it."""
        return [session.summary() for session in self._sessions.values()]

    def request_reconnect(self) -> int:
        """Send op 7 RECONNECT to every connected session; returns how many got it."""
        sessions = [s for s in self._sessions.values() if s.connection is not None]
        for session in sessions:
            assert session.connection is not None
            session.connection.send(OP_RECONNECT, None)
        return len(sessions)

    async def close(self) -> None:
        """Close every connection (1001, going away) and forget all sessions."""
        await asyncio.gather(
            *(c.close(1001, "Emulator shutting down") for c in list(self._connections)), return_exceptions=True
        )
        self._sessions.clear()

    # -- websocket handler ---------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """aiohttp handler for ``GET /gateway`` (upgrades to a websocket)."""
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        connection = Connection(ws)
        self._connections.add(connection)
        scheme = "wss" if request.secure else "ws"
        link = _Link(connection, resume_url=f"{scheme}://{request.host}/gateway")
        try:
            if request.query.get("encoding", "json") != "json":
                await connection.close(4002, "Only JSON encoding is supported.")
                return ws
            connection.send(
                OP_HELLO, {"heartbeat_interval": self._config.heartbeat_interval_ms, "_trace": ["switchboard-emulator"]}
            )
            await self._read_loop(ws, link)
        finally:
            self._connections.discard(connection)
            await connection.stop()
            self._release(link, ws.close_code)
        return ws

    async def _read_loop(self, ws: web.WebSocketResponse, link: _Link) -> None:
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                await link.connection.close(4002, "Error while decoding payload.")
                return
            close = self._handle_payload(link, message.data)
            if close is not None:
                await link.connection.close(*close)
                return

    def _release(self, link: _Link, close_code: int | None) -> None:
        session = link.session
        if session is None or session.connection is not link.connection:
            return  # never identified, or already resumed on another connection
        if close_code in _FINAL_CLIENT_CLOSE_CODES:
            del self._sessions[session.session_id]
        else:
            session.detach(asyncio.get_running_loop().time())
        self._notify_sessions_changed()

    # -- opcodes -------------------------------------------------------------------

    def _handle_payload(self, link: _Link, text: str) -> _Close | None:
        try:
            payload = json.loads(text)
            op, data = payload["op"], payload.get("d")
        except (ValueError, TypeError, KeyError):
            return (4002, "Error while decoding payload.")
        if op == OP_HEARTBEAT:
            link.connection.send(OP_HEARTBEAT_ACK, None)
            return None
        if op == OP_IDENTIFY:
            return self._identify(link, data)
        if op == OP_RESUME:
            return self._resume(link, data)
        if link.session is None:
            return (4003, "Not authenticated.")
        if op == OP_REQUEST_GUILD_MEMBERS:
            return self._request_members(link.session, data)
        if op in (OP_PRESENCE_UPDATE, OP_VOICE_STATE_UPDATE):
            return None  # accepted; the emulator has no presences or voice
        return (4001, "Unknown opcode.")

    def _identify(self, link: _Link, data: Any) -> _Close | None:
        if link.session is not None:
            return (4005, "Already authenticated.")
        if not isinstance(data, dict) or data.get("token") != self._config.token:
            return (4004, "Authentication failed.")
        intents, shard = data.get("intents"), data.get("shard", [0, 1])
        if not isinstance(intents, int) or intents < 0:
            return (4013, "Invalid intent(s).")
        if not _valid_shard(shard):
            return (4010, "Invalid shard.")
        self._forget_expired_sessions()
        session = GatewaySession(uuid.uuid4().hex, intents, (shard[0], shard[1]), self._config.resume_buffer_size)
        self._sessions[session.session_id] = session
        session.attach(link.connection)
        link.session = session
        session.dispatch("READY", self._ready_payload(session, link.resume_url, "shard" in data))
        all_members = bool(intents & intent_flags.GUILD_PRESENCES)
        for guild in self._world.bot_guilds():
            if session.owns_guild(guild.id):
                session.dispatch("GUILD_CREATE", self._world.guild_payload(guild, all_members=all_members))
                session.guild_ids.append(guild.id)
        self._notify_sessions_changed()
        return None

    def _resume(self, link: _Link, data: Any) -> _Close | None:
        if link.session is not None:
            return (4005, "Already authenticated.")
        if not isinstance(data, dict) or data.get("token") != self._config.token:
            return (4004, "Authentication failed.")
        self._forget_expired_sessions()
        session = self._sessions.get(str(data.get("session_id")))
        seq = data.get("seq")
        last_seen = seq if isinstance(seq, int) else 0  # discord.py sends null before any dispatch
        previous = session.connection if session is not None else None
        if session is None or not session.resume(link.connection, last_seen):
            if session is not None:
                del self._sessions[session.session_id]
            link.connection.send(OP_INVALID_SESSION, False)
            return None
        link.session = session
        if previous is not None and previous is not link.connection:
            # A client resuming while its old socket lingers: Discord drops the old one.
            asyncio.get_running_loop().create_task(previous.close(4000, "Session resumed elsewhere."))
        self._notify_sessions_changed()
        return None

    def _request_members(self, session: GatewaySession, data: Any) -> _Close | None:
        guild_id = str(data.get("guild_id")) if isinstance(data, dict) else ""
        guild = self._world.guilds.get(int(guild_id)) if guild_id.isdigit() else None
        if guild is None or not session.owns_guild(guild.id) or not self._world.bot_in_guild(guild.id):
            return None  # Discord silently ignores requests for guilds it does not know
        wanted = _user_ids(data.get("user_ids"))
        members = self._world.members_payload(wanted, str(data.get("query") or ""), guild_id=guild.id)
        limit = data.get("limit") or 0
        chunk: dict[str, Any] = {
            "guild_id": str(guild.id),
            "members": members[:limit] if limit else members,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [str(u) for u in wanted or [] if u not in guild.members],
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        session.dispatch("GUILD_MEMBERS_CHUNK", chunk)
        return None

    # -- helpers -------------------------------------------------------------------

    def _ready_payload(self, session: GatewaySession, resume_url: str, with_shard: bool) -> dict[str, Any]:
        ready: dict[str, Any] = {
            "v": API_VERSION,
            "user": self._world.bot.private_payload(),
            "guilds": [
                {"id": str(guild.id), "unavailable": True}
                for guild in self._world.bot_guilds()
                if session.owns_guild(guild.id)
            ],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": resume_url,
            "application": {"id": str(self._world.bot.id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "user_settings": {},
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "_trace": ["switchboard-emulator"],
        }
        if with_shard:
            ready["shard"] = list(session.shard)
        return ready

    def _forget_expired_sessions(self) -> None:
        now = asyncio.get_running_loop().time()
        window = self._config.resume_window_s
        expired = [
            sid for sid, s in self._sessions.items() if s.detached_at is not None and now - s.detached_at > window
        ]
        for session_id in expired:
            del self._sessions[session_id]

    def _notify_sessions_changed(self) -> None:
        self._sessions_changed.set()
        self._sessions_changed = asyncio.Event()


def _valid_shard(shard: Any) -> bool:
    return (
        isinstance(shard, list)
        and len(shard) == 2
        and all(isinstance(n, int) for n in shard)
        and shard[1] >= 1
        and 0 <= shard[0] < shard[1]
    )


def _user_ids(value: Any) -> list[int] | None:
    """The ``user_ids`` of a member request (one id or a list); None when absent."""
    if value is None:
        return None
    values = value if isinstance(value, list) else [value]
    return [int(v) for v in values if isinstance(v, int) or (isinstance(v, str) and v.isdigit())]
