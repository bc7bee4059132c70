"""Gateway connections and sessions.

A ``Connection`` is one websocket: it sends frames in order through its own
queue, so producers (REST handlers dispatching events) never wait on a slow
client. A ``GatewaySession`` is what IDENTIFY creates: it numbers its
dispatches, keeps the recent ones for RESUME, and outlives its connection so
a client can resume on a new one.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter, deque
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

# Gateway opcodes (https://discord.com/developers/docs/topics/opcodes-and-status-codes).
OP_DISPATCH = 0
OP_HEARTBEAT = 1
OP_IDENTIFY = 2
OP_PRESENCE_UPDATE = 3
OP_VOICE_STATE_UPDATE = 4
OP_RESUME = 6
OP_RECONNECT = 7
OP_REQUEST_GUILD_MEMBERS = 8
OP_INVALID_SESSION = 9
OP_HELLO = 10
OP_HEARTBEAT_ACK = 11


def frame(op: int, data: Any, seq: int | None = None, event: str | None = None) -> str:
    """One gateway payload as the JSON text Discord sends."""
    return json.dumps({"op": op, "d": data, "s": seq, "t": event}, separators=(",", ":"))


class Connection:
    """One client websocket with an ordered, non-blocking outbound queue."""

    def __init__(self, ws: web.WebSocketResponse):
        self.ws = ws
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._writer = asyncio.create_task(self._drain())

    def send(self, op: int, data: Any) -> None:
        """Queue a non-dispatch payload (HELLO, ACK, RECONNECT, INVALID_SESSION)."""
        self.send_raw(frame(op, data))

    def send_raw(self, text: str) -> None:
        self._queue.put_nowait(text)

    async def _drain(self) -> None:
        while (text := await self._queue.get()) is not None:
            try:
                await self.ws.send_str(text)
            except ConnectionError:
                # The peer went away; the read loop notices and cleans up.
                return

    async def close(self, code: int, reason: str) -> None:
        """Send everything already queued, then close with ``code``."""
        self._queue.put_nowait(None)
        await self._writer
        await self.ws.close(code=code, message=reason.encode())

    async def stop(self) -> None:
        """Stop the writer without flushing (the socket is already gone)."""
        self._writer.cancel()
        try:
            await self._writer
        except asyncio.CancelledError:
            pass


class GatewaySession:
    """An identified session: intents, shard, sequence numbers and replay buffer."""

    def __init__(self, session_id: str, intents: int, shard: tuple[int, int], buffer_size: int):
        self.session_id = session_id
        self.intents = intents
        self.shard = shard
        self.seq = 0
        self.connection: Connection | None = None
        #: Loop time at which the connection went away (None while connected).
        self.detached_at: float | None = None
        self._history: deque[tuple[int, str]] = deque(maxlen=buffer_size)
        #: Dispatches sent (or buffered for replay) per event name.
        self.dispatch_counts: Counter[str] = Counter()
        #: Guilds announced to this session with GUILD_CREATE, in order.
        self.guild_ids: list[int] = []

    def owns_guild(self, guild_id: int | None) -> bool:
        """Whether this session's shard receives events of ``guild_id`` (DMs go to shard 0)."""
        shard_id, shard_count = self.shard
        if guild_id is None:
            return shard_id == 0
        return (guild_id >> 22) % shard_count == shard_id

    def dispatch(self, event: str, data: Any) -> None:
        """Number, remember and (if connected) send one dispatch."""
        self.seq += 1
        self.dispatch_counts[event] += 1
        text = frame(OP_DISPATCH, data, self.seq, event)
        self._history.append((self.seq, text))
        if self.connection is not None:
            self.connection.send_raw(text)

    def summary(self) -> dict[str, Any]:
        """What the control API reports about this session."""
        return {
            "session_id": self.session_id,
            "shard": list(self.shard),
            "intents": self.intents,
            "connected": self.connection is not None,
            "seq": self.seq,
            "guild_ids": [str(g) for g in self.guild_ids],
            "dispatch_counts": dict(self.dispatch_counts),
        }

    def attach(self, connection: Connection) -> None:
        self.connection = connection
        self.detached_at = None

    def detach(self, now: float) -> None:
        self.connection = None
        self.detached_at = now

    def resume(self, connection: Connection, last_seen: int) -> bool:
        """Attach ``connection``, replay dispatches after ``last_seen`` and send RESUMED.

        Returns False (changing nothing) when dispatches the client missed
        have already left the replay buffer, so the session cannot resume.
        """
        oldest = self._history[0][0] if self._history else self.seq + 1
        if last_seen > self.seq or (last_seen < self.seq and last_seen + 1 < oldest):
            return False
        self.attach(connection)
        for seq, text in self._history:
            if seq > last_seen:
                connection.send_raw(text)
        self.dispatch("RESUMED", {"_trace": ["switchboard-emulator"]})
        return True
