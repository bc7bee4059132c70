"""The gateway's side of `sb:replies`: post each reply exactly once, then acknowledge it.

Any gateway replica may post any reply. Posted-once rests on three guards: `sb:posted:<id>` (set after
a successful post; present means never post again), a short `sb:posting:<id>` lease (two replicas do
not post at once), and Discord's nonce (a create retried after a crash returns the first message).
An entry is acknowledged only after its reply is posted, so a crashed gateway's entries are claimed
and finished by another.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import time

import discord
import redis.asyncio as aioredis
from opentelemetry.trace import Link, SpanKind
from redis.exceptions import ResponseError

from switchboard.core import keys
from switchboard.core.blobs import BlobStore
from switchboard.core.errors import InvalidPayload
from switchboard.core.history import ChannelHistory
from switchboard.core.keys import STREAM_FIELD, Group, Stream
from switchboard.core.metrics import Metrics
from switchboard.core.tracing import extract_context, span_context_of, tracer
from switchboard.core.wire import HistoryMessage, InteractionRef, Outcome, Reply
from switchboard.gateway.busy import ChannelWork
from switchboard.gateway.discord_api import DiscordApi, nonce_for
from switchboard.gateway.formatting import Outgoing, command_answer, compose, spoken
from switchboard.gateway.live import LiveReplies
from switchboard.gateway.settings import GatewaySettings

log = logging.getLogger(__name__)

POSTING_LEASE_MS = 30_000

CUT_SHORT = "↪️ (I stopped this answer: a newer message took its place.)"

OUTCOME_REACTIONS = {
    Outcome.MODEL_UNAVAILABLE: "⚠️",
    Outcome.BUDGET_EXCEEDED: "⌛",
    Outcome.TOOL_FAILED: "❌",
    Outcome.FAILED: "❌",
    Outcome.DEAD_LETTERED: "❌",
    Outcome.REJECTED_INPUT: "🛡️",
    Outcome.RATE_LIMITED: "⏳",
}


class ReplyPoster:
    def __init__(self, client: aioredis.Redis, api: DiscordApi, live: LiveReplies, history: ChannelHistory,
                 work: ChannelWork, blobs: BlobStore, metrics: Metrics, settings: GatewaySettings) -> None:
        self._redis = client
        self._work = work
        self._blobs = blobs
        self._api = api
        self._live = live
        self._history = history
        self._metrics = metrics
        self._settings = settings
        self._bot_id: str = ""
        self._bot_name: str = ""
        self._slots = asyncio.Semaphore(settings.max_concurrent_posts)
        self._inflight: set[str] = set()

    def set_identity(self, bot_id: str, bot_name: str) -> None:
        self._bot_id, self._bot_name = bot_id, bot_name

    async def run(self) -> None:
        """Consume replies until cancelled: new entries, and entries a dead replica left pending."""
        await self._ensure_group()
        last_claim = 0.0
        while True:
            entries = await self._redis.xreadgroup(
                Group.GATEWAYS, self._settings.gateway_id, {Stream.REPLIES: ">"}, count=16, block=1000)
            batch = [(eid, fields) for _, items in entries or [] for eid, fields in items]
            if time.monotonic() - last_claim > self._settings.claim_interval_s:
                last_claim = time.monotonic()
                _, claimed, _ = await self._redis.xautoclaim(
                    Stream.REPLIES, Group.GATEWAYS, self._settings.gateway_id,
                    self._settings.claim_idle_ms, "0-0", count=16)
                batch += [(eid, fields) for eid, fields in claimed if fields]
            for entry_id, fields in batch:
                await self._slots.acquire()
                asyncio.create_task(self._handle(entry_id, fields)).add_done_callback(
                    lambda _: self._slots.release())

    async def _ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(Stream.REPLIES, Group.GATEWAYS, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def _handle(self, entry_id: str, fields: dict[str, str]) -> None:
        if entry_id in self._inflight:
            return
        self._inflight.add(entry_id)
        try:
            reply = Reply.from_json(fields.get(STREAM_FIELD, ""))
            if await self.post(reply):
                await self._redis.xack(Stream.REPLIES, Group.GATEWAYS, entry_id)
        except InvalidPayload as exc:
            log.error("dropping unreadable reply entry %s to the dead-letter stream: %s", entry_id, exc)
            await self._redis.xadd(Stream.DEAD_LETTERS, {"reason": str(exc)[:500], "source": Stream.REPLIES.value,
                                                         "entry_id": entry_id})
            await self._redis.xack(Stream.REPLIES, Group.GATEWAYS, entry_id)
        except Exception:
            log.exception("posting reply entry %s failed; it stays pending for a retry", entry_id)
        finally:
            self._inflight.discard(entry_id)

    async def post(self, reply: Reply) -> bool:
        """Post `reply` unless it was posted before; True when it is now posted (or never will be).

        An agent group's turns (`reply.turn` set) are posted as they come; the channel's turn ends
        with the activation's final reply.
        """
        final = reply.turn is None
        if await self._redis.exists(keys.posted(reply.delivery_id)):
            if final:
                await self._live.finish(reply.activation_id)
            return True
        if not await self._redis.set(keys.posting(reply.delivery_id), self._settings.gateway_id,
                                     nx=True, px=POSTING_LEASE_MS):
            return False  # another replica is posting it right now
        producer = span_context_of(reply.trace_context)
        with tracer().start_as_current_span(
            f"process {Stream.REPLIES.value}", context=extract_context(reply.trace_context), kind=SpanKind.CONSUMER,
            links=[Link(producer)] if producer.is_valid else [],
            attributes={"messaging.system": "redis", "switchboard.activation_id": reply.activation_id,
                        "switchboard.outcome": reply.outcome.value},
        ):
            self._metrics.hop_duration.labels(hop="reply_queue").observe(max(0.0, time.time() - reply.created_at))
            try:
                message_ids = await self._deliver(reply)
            except (discord.Forbidden, discord.NotFound) as exc:  # retrying cannot help: do not hold the channel
                log.warning("reply %s cannot be posted in channel %s (%s); giving up",
                            reply.activation_id, reply.channel_id, exc)
                message_ids = []
        await self._mark_posted(reply, message_ids)
        if final:
            await self._work.done(reply.channel_id, reply.activation_id)
            self._metrics.replies_posted.labels(outcome=reply.outcome.value).inc()
        return True

    async def _mark_posted(self, reply: Reply, message_ids: list[int]) -> None:
        """Never post this reply again; remember which activation each message answers."""
        retention = self._settings.posted_retention_s
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(keys.posted(reply.delivery_id), ",".join(map(str, message_ids)) or "silent", ex=retention)
            for message_id in message_ids:
                pipe.set(keys.answered_by(str(message_id)), reply.activation_id, ex=retention)
            await pipe.execute()

    async def _deliver(self, reply: Reply) -> list[int]:
        if reply.interaction is not None:
            return [await self._answer_command(reply, reply.interaction)]
        if not reply.deliver:
            return []  # a replay without a command to answer: its result is in its record
        placeholder = await self._live.finish(reply.activation_id) if reply.turn is None else None
        if not reply.text and not reply.images:  # silence, or a group whose turns are already posted
            if placeholder is not None and reply.outcome == Outcome.SILENT:  # cut short (superseded)
                await self._api.edit(reply.channel_id, placeholder, CUT_SHORT)
            return []
        started = time.perf_counter()
        with tracer().start_as_current_span("POST reply", kind=SpanKind.CLIENT,
                                            attributes={"discord.channel_id": reply.channel_id}):
            ids = []
            parts = compose(spoken(reply), self._settings.attach_over_chars)
            for part, outgoing in enumerate(parts):
                ids.append(await self._post_part(reply, part, outgoing, placeholder if part == 0 else None))
            if reply.images:  # after the text, so a streamed placeholder needs no attachment edit
                message = await self._api.send(reply.channel_id, "", nonce_for(reply.delivery_id, len(parts)),
                                               await self._image_files(reply))
                ids.append(message.id)
            await self._mark_outcome(reply)
        self._metrics.hop_duration.labels(hop="post_reply").observe(time.perf_counter() - started)
        await self._remember(reply, ids[0])
        return ids

    async def _answer_command(self, reply: Reply, interaction: InteractionRef) -> int:
        message = await self._api.answer_interaction(interaction, command_answer(reply),
                                                     await self._image_files(reply))
        return message.id

    async def _image_files(self, reply: Reply) -> list[discord.File]:
        files = []
        for image in reply.images:
            data = await self._blobs.get(image.sha256)
            if data is None:  # expired before posting: send what is left rather than nothing
                log.warning("image %s of %s has expired; not attached", image.sha256[:12], reply.activation_id)
                continue
            files.append(discord.File(io.BytesIO(data), image.filename))
        return files

    async def _post_part(self, reply: Reply, part: int, outgoing: Outgoing, placeholder: int | None) -> int:
        if placeholder is not None:
            await self._api.edit(reply.channel_id, placeholder, outgoing.content)
            return placeholder
        nonce = nonce_for(reply.delivery_id, part)
        if part == 0:
            message = await self._api.send_reply(reply.channel_id, reply.reply_to_message_id, outgoing.content, nonce)
        else:
            file = discord.File(io.BytesIO(outgoing.attachment), outgoing.filename) if outgoing.attachment else None
            message = await self._api.send(reply.channel_id, outgoing.content, nonce, [file] if file else [])
        if message.content != outgoing.content:  # the nonce returned an earlier (streaming) message: finish it
            await self._api.edit(reply.channel_id, message.id, outgoing.content)
        return message.id

    async def _mark_outcome(self, reply: Reply) -> None:
        """A failure also shows as a reaction on the user's message, so it is seen at a glance."""
        emoji = OUTCOME_REACTIONS.get(reply.outcome)
        if emoji is None:
            return
        try:
            await self._api.react(reply.channel_id, reply.reply_to_message_id, emoji)
        except discord.HTTPException as exc:  # the message may be gone; the text reply is already posted
            log.info("reaction %s on %s failed: %s", emoji, reply.reply_to_message_id, exc)

    async def _remember(self, reply: Reply, message_id: int) -> None:
        """Our own reply joins the channel history as an assistant turn."""
        with contextlib.suppress(Exception):
            await self._history.append(reply.channel_id, HistoryMessage(
                message_id=str(message_id), author_id=self._bot_id, author_name=self._bot_name,
                from_self=True, speaker=reply.speaker, content=reply.text, created_at=time.time()))

