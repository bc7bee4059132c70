"""`/api/feed`: a live feed of activations as server-sent events.

Two event types: `accepted` when the gateway queues an activation (read from `sb:activations`), and
`finished` when its final reply is written (read from `sb:replies`), each with a small JSON summary. Both
streams are read with a plain `XREAD` from the moment the feed opens, never in a consumer group, so
watching changes nothing. A comment line goes out every `feed_keepalive_s` when nothing happens. The feed
ends after `max_s` seconds (the client reconnects), so no connection lives forever.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from switchboard.admin.auth import Operator
from switchboard.admin.deps import AdminDeps
from switchboard.core.errors import InvalidPayload
from switchboard.core.keys import STREAM_FIELD, Stream
from switchboard.core.wire import Activation, Reply

router = APIRouter(tags=["feed"])
EXCERPT = 120


@router.get("/feed", summary="Live activations as server-sent events (`accepted`, `finished`)",
            response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}})
async def feed(request: Request, _: Operator, max_s: Annotated[float, Query(gt=0, le=3600)] = 600) -> StreamingResponse:
    services: AdminDeps = request.app.state.deps
    return StreamingResponse(_events(request, services, max_s), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def _events(request: Request, services: AdminDeps, max_s: float) -> AsyncIterator[str]:
    cursors = {Stream.ACTIVATIONS.value: "$", Stream.REPLIES.value: "$"}
    keepalive_ms = int(services.settings.feed_keepalive_s * 1000)
    ends = time.monotonic() + max_s
    yield "retry: 2000\n\n"
    while time.monotonic() < ends and not await request.is_disconnected():
        block_ms = max(1, min(keepalive_ms, int((ends - time.monotonic()) * 1000)))
        answer = await services.client.xread(cursors, block=block_ms, count=100)
        if not answer:
            yield ": still here\n\n"
            continue
        for stream, entries in answer:
            for entry_id, fields in entries:
                cursors[stream] = entry_id
                event = _event(stream, fields.get(STREAM_FIELD, ""))
                if event is not None:
                    yield f"event: {event[0]}\nid: {entry_id}\ndata: {json.dumps(event[1])}\n\n"


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
