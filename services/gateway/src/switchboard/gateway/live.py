"""Streaming replies: show the answer as it is generated, editing one placeholder at most once a second.

Token deltas arrive on `sb:live:<activation>` (pub/sub, lossy; each delta carries the whole text so
far, so a lost one costs nothing). Only activations this gateway enqueued are streamed. The first
delta posts the placeholder (with the activation's nonce, so the final post finds the same message);
later ones edit it no more often than `interval_s`. `finish()` hands the placeholder to the final post.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import redis.asyncio as aioredis

from switchboard.core import keys
from switchboard.core.errors import InvalidPayload
from switchboard.core.wire import Activation, ReplyDelta
from switchboard.gateway.discord_api import DiscordApi, nonce_for

log = logging.getLogger(__name__)

CURSOR = " ▌"
MAX_PREVIEW = 1900  # the preview stays one message; the final post splits long answers
PRUNE_OVER = 1000  # tracked activations before old ones are looked at
FORGET_AFTER_S = 600.0


@dataclass
class LiveReply:
    activation: Activation
    text: str = ""
    seq: int = -1
    shown: str | None = None
    message_id: int | None = None
    finished: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    flusher: asyncio.Task[None] | None = None
    tracked_at: float = field(default_factory=time.monotonic)


class LiveReplies:
    def __init__(self, client: aioredis.Redis, api: DiscordApi, interval_s: float, retention_s: int,
                 grace_s: float = 0.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._redis = client
        self._clock = clock
        self._api = api
        self._interval_s = interval_s
        self._grace_s = grace_s
        self._retention_s = retention_s
        self._tracked: dict[str, LiveReply] = {}

    def track(self, activation: Activation) -> None:
        if len(self._tracked) >= PRUNE_OVER:
            self._prune()
        self._tracked.pop(activation.id, None)  # tracked again: it moves to the end, keeping the order by age
        self._tracked[activation.id] = LiveReply(activation, tracked_at=self._clock())

    def _prune(self) -> None:
        """Forget activations whose reply another replica posted (this one never sees it finish).

        `_tracked` is in the order activations were tracked, oldest first, so the scan stops at the first
        one young enough to keep: with more than `PRUNE_OVER` waiting (a backlog), tracking one more costs
        no pass over all of them.
        """
        cutoff = self._clock() - FORGET_AFTER_S
        expired = list(itertools.takewhile(lambda item: item[1].tracked_at < cutoff, self._tracked.items()))
        for activation_id, live in expired:
            del self._tracked[activation_id]
            if live.flusher is not None:
                live.flusher.cancel()

    async def listen(self) -> None:
        """Apply deltas to tracked activations until cancelled."""
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.psubscribe(keys.LIVE_PATTERN)
        try:
            while True:
                message = await pubsub.get_message(timeout=1.0)
                if message is not None:
                    self._apply(message["data"])
        finally:
            await pubsub.aclose()

    def _apply(self, raw: bytes | str) -> None:
        try:
            delta = ReplyDelta.from_json(raw)
        except InvalidPayload as exc:
            log.warning("ignoring a bad live delta: %s", exc)
            return
        live = self._tracked.get(delta.activation_id)
        if live is None or live.finished or delta.seq <= live.seq:
            return
        live.text, live.seq = delta.text, delta.seq
        if live.flusher is None or live.flusher.done():
            live.flusher = asyncio.create_task(self._flush(live))

    async def _flush(self, live: LiveReply) -> None:
        """Show the latest text, then wait out the edit interval; stop when nothing changed.

        The first preview waits `grace_s`: an answer finished by then is posted once, whole, which
        spares Discord a create and an edit (the bot's REST budget is 50 requests/s in all).
        """
        if live.message_id is None and self._grace_s:
            await asyncio.sleep(self._grace_s)
        while True:
            async with live.lock:
                if live.finished or live.text == live.shown:
                    return
                preview = live.text[:MAX_PREVIEW] + CURSOR
                try:
                    await self._show(live, preview)
                except Exception:  # a failed preview is cosmetic: the final post still happens
                    log.warning("live update of %s failed", live.activation.id, exc_info=True)
                    return
            await asyncio.sleep(self._interval_s)

    async def _show(self, live: LiveReply, preview: str) -> None:
        a = live.activation
        text = live.text
        if live.message_id is None:
            message = await self._api.send_reply(a.channel_id, a.message_id, preview, nonce_for(a.id))
            live.message_id = message.id
            await self._redis.set(keys.placeholder(a.id), message.id, ex=self._retention_s)
        else:
            await self._api.edit(a.channel_id, live.message_id, preview)
        live.shown = text

    def pending(self, activation_id: str) -> bool:
        """True while this gateway streams the activation and its final reply has not been posted."""
        live = self._tracked.get(activation_id)
        return live is not None and not live.finished

    async def finish(self, activation_id: str) -> int | None:
        """Stop streaming an activation; returns its placeholder message id, if one was posted."""
        live = self._tracked.pop(activation_id, None)
        if live is not None:
            async with live.lock:
                live.finished = True
                if live.flusher is not None:
                    live.flusher.cancel()
            if live.message_id is not None:
                return live.message_id
        raw = await self._redis.get(keys.placeholder(activation_id))
        return int(raw) if raw is not None else None

    async def close(self) -> None:
        for live in self._tracked.values():
            if live.flusher is not None:
                live.flusher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await live.flusher
