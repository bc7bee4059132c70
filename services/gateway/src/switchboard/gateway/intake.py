"""What every message costs in Redis before it is decided: its history entry written and its channel's config
read, in one round trip shared with the other messages being decided at the same moment.

A message the bot ignores costs exactly this, so under a flood these round trips are most of the gateway's
work: sent one by one, each pays redis-py's and the socket's fixed cost. Here the requests made while the
event loop runs one batch of ready tasks are queued, and the first one schedules a flush that sends them all
in one pipeline (not a transaction: nothing here needs atomicity). A quiet gateway still sends each alone,
as soon as the loop comes round; a busy one (one message per channel in flight: `ordering`) sends one
pipeline for many messages. Each caller gets its own result or its own error: a connection error reaches
every caller of that pipeline, which tries again as it would have alone (the history is read once per
message id, so a repeated append is harmless).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from switchboard.core.config import ChannelConfig, ConfigStore
from switchboard.core.history import ChannelHistory
from switchboard.core.wire import HistoryMessage


@dataclass
class _Request:
    channel_id: str
    entry: HistoryMessage | None
    config_keys: list[str]
    future: asyncio.Future[ChannelConfig] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class MessageIntake:
    def __init__(self, client: aioredis.Redis, history: ChannelHistory, config: ConfigStore) -> None:
        self._redis = client
        self._history = history
        self._config = config
        self._pending: list[_Request] = []
        self._flushes: set[asyncio.Task[None]] = set()  # referenced until done, as asyncio asks

    async def record(self, entry: HistoryMessage | None, guild_id: str | None, channel_id: str,
                     parent_id: str | None = None) -> ChannelConfig:
        """Append `entry` (None: nothing to record) to the channel's history and return the channel's
        effective config (`ConfigStore.resolve`). Raises what Redis raised for this message's commands."""
        request = _Request(channel_id, entry, self._config.levels(guild_id, channel_id, parent_id))
        self._pending.append(request)
        if len(self._pending) == 1:
            flush = asyncio.create_task(self._flush())
            self._flushes.add(flush)
            flush.add_done_callback(self._flushes.discard)
        return await request.future

    async def _flush(self) -> None:
        batch, self._pending = self._pending, []
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                spans = [self._queue(pipe, request) for request in batch]
                results = await pipe.execute(raise_on_error=False)
        except asyncio.CancelledError:
            for request in batch:
                request.future.cancel()
            raise
        except Exception as exc:  # the whole pipeline failed: every caller hears of it
            for request in batch:
                if not request.future.done():
                    request.future.set_exception(exc)
            return
        start = 0
        for request, span in zip(batch, spans, strict=True):
            self._answer(request, results[start:start + span])
            start += span

    def _queue(self, pipe: Pipeline, request: _Request) -> int:
        """Add one message's commands to `pipe`; returns how many (the last is the config `MGET`)."""
        added = self._history.queue_append(pipe, request.channel_id, request.entry) if request.entry else 0
        pipe.mget(request.config_keys)
        return added + 1

    def _answer(self, request: _Request, results: list[object]) -> None:
        if request.future.done():  # its caller was cancelled meanwhile
            return
        failed = next((r for r in results if isinstance(r, Exception)), None)
        if failed is not None:
            request.future.set_exception(failed)
            return
        try:
            request.future.set_result(self._config.merge(results[-1]))  # type: ignore[arg-type]
        except Exception as exc:  # a stored patch that does not parse is this message's error alone
            request.future.set_exception(exc)
