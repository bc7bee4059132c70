"""`/api/feed`: a live feed of activations as server-sent events.

Two event types: `accepted` when the gateway queues an activation (read from `sb:activations`), and
`finished` when its final reply is written (read from `sb:replies`), each with a small JSON summary. Both
streams are read with a plain `XREAD`, never in a consumer group, so watching changes nothing.

Each event's id is the pair of stream positions after it (`<activations id> <replies id>`); a client that
reconnects with `Last-Event-ID` resumes from there and misses nothing still in the streams. A new feed starts
at both streams' current ends. Reads block for at most `BLOCK_MS` (under the Redis client's socket timeout);
a comment line goes out every `feed_keepalive_s` when nothing happens. The feed ends after `max_s` seconds
(the client reconnects), so no connection lives forever.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from switchboard.admin.auth import Operator
from switchboard.admin.deps import AdminDeps
from switchboard.admin.deps import of as deps
from switchboard.core.errors import InvalidPayload
from switchboard.core.keys import STREAM_FIELD, Stream
from switchboard.core.wire import Activation, Reply

router = APIRouter(tags=["feed"])
EXCERPT = 120
BLOCK_MS = 2000
STREAMS = (Stream.ACTIVATIONS.value, Stream.REPLIES.value)
POSITION = re.compile(r"^[0-9]{1,15}-[0-9]{1,18}$")


@router.get("/feed", summary="Live activations as server-sent events (`accepted`, `finished`)",
            response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}})
async def feed(request: Request, _: Operator, max_s: Annotated[float, Query(gt=0, le=3600)] = 600,
               last_event_id: Annotated[str | None, Header(max_length=80)] = None) -> StreamingResponse:
    services = deps(request)
    cursors = _resumed(last_event_id) or await _ends(services)
    return StreamingResponse(_events(request, services, cursors, max_s), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _resumed(last_event_id: str | None) -> dict[str, str] | None:
    positions = (last_event_id or "").split()
    if len(positions) != len(STREAMS) or not all(POSITION.match(p) for p in positions):
        return None
    return dict(zip(STREAMS, positions, strict=True))


async def _ends(services: AdminDeps) -> dict[str, str]:
    """Each stream's newest id now ("0-0" for one not made yet): the feed starts after them."""
    ends = {}
    for stream in STREAMS:
        newest = await services.client.xrevrange(stream, count=1)
        ends[stream] = newest[0][0] if newest else "0-0"
    return ends


async def _events(request: Request, services: AdminDeps, cursors: dict[str, str],
                  max_s: float) -> AsyncIterator[str]:
    keepalive_s = services.settings.feed_keepalive_s
    ends = time.monotonic() + max_s
    said = time.monotonic()
    yield "retry: 2000\n\n"
    while time.monotonic() < ends and not await request.is_disconnected():
        block_ms = max(1, min(BLOCK_MS, int((ends - time.monotonic()) * 1000)))
        answer = await services.client.xread(cursors, block=block_ms, count=100)
        if not answer:
            if time.monotonic() - said >= keepalive_s:
                said = time.monotonic()
                yield ": still here\n\n"
            continue
        said = time.monotonic()
        for stream, entries in answer:
            for entry_id, fields in entries:
                cursors[stream] = entry_id
                event = _event(stream, fields.get(STREAM_FIELD, ""))
                if event is not None:
                    position = " ".join(cursors[name] for name in STREAMS)
                    yield f"event: {event[0]}\nid: {position}\ndata: {json.dumps(event[1])}\n\n"


def _event(stream: str, raw: str) -> tuple[str, dict[str, Any]] | None:
    try:
        if stream == Stream.ACTIVATIONS.value:
            activation = Activation.from_json(raw)
            return "accepted", {"id": activation.id, "guild_id": activation.guild_id,
                                "channel_id": activation.channel_id, "author_name": activation.author_name,
                                "excerpt": activation.content[:EXCERPT], "at": activation.accepted_at,
                                "replay_of": activation.replay_of}
        reply = Reply.from_json(raw)
    except InvalidPayload:
        return None  # the planners and gateways dead-letter such entries; the feed only watches
    if reply.turn is not None:
        return None  # an agent group's turn: the activation is not finished yet
    return "finished", {"id": reply.activation_id, "outcome": reply.outcome.value,
                        "excerpt": (reply.text or "")[:EXCERPT], "at": reply.created_at}
