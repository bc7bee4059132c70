"""The gateway's side of `sb:replies`: post each reply exactly once, then acknowledge it.

Any gateway replica may post any reply. Posted-once rests on three guards: `sb:posted:<id>` (set after
a successful post; present means never post again), a short `sb:posting:<id>` lease (two replicas do
not post at once), and Discord's nonce (a create retried after a crash returns the first message).
An entry is acknowledged only after its reply is posted, so a crashed gateway's entries are claimed
and finished by another (the shared `StreamConsumer`, group `gateways`).

A reply Discord refuses for good (any 4xx but 429: a 400, an interaction token past its 15 minutes, a 413, a
channel gone) is never retried: it is marked posted as `undeliverable`, its channel's turn is freed, and the
entry moves to the dead-letter stream with the status. So does an entry delivered more than
`reply_max_deliveries` times without being posted (5xx over and over). Either way the stream can be trimmed
past it.
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

from switchboard.core import keys
from switchboard.core.blobs import BlobStore
from switchboard.core.errors import InvalidPayload, SwitchboardError
from switchboard.core.history import ChannelHistory
from switchboard.core.keys import Group, Stream
from switchboard.core.metrics import Metrics
from switchboard.core.stream_consumer import Entry, StreamConsumer
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


UNDELIVERABLE = "undeliverable"


class Undeliverable(SwitchboardError):
    """Discord refused a reply for good, or it was delivered too many times without being posted."""

    code = "undeliverable"

    def __init__(self, message: str, activation_id: str | None = None) -> None:
        super().__init__(message)
        self.args = (message, activation_id)
        self.activation_id = activation_id


def refused_for_good(exc: discord.HTTPException) -> bool:
    """A 4xx other than 429: the same request will be refused again (bad body, expired token, too large, gone)."""
    return 400 <= exc.status < 500 and exc.status != 429


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
        self._stream = StreamConsumer(client, Stream.REPLIES, Group.GATEWAYS, settings.gateway_id,
                                      settings.claim_idle_ms)
        self._inflight: set[str] = set()

    def set_identity(self, bot_id: str, bot_name: str) -> None:
        self._bot_id, self._bot_name = bot_id, bot_name

    async def run(self) -> None:
        """Consume replies until cancelled: new entries, and entries a dead replica left pending."""
        await self._stream.ensure_group()
        last_claim = 0.0
        while True:
            batch = await self._stream.read(count=16, block_ms=1000)
            if time.monotonic() - last_claim > self._settings.claim_interval_s:
                last_claim = time.monotonic()
                batch += await self._stream.claim_idle(count=16)
            for entry in batch:
                await self._slots.acquire()
                asyncio.create_task(self.handle(entry)).add_done_callback(lambda _: self._slots.release())

    async def handle(self, entry: Entry) -> None:
        """Post one stream entry's reply and acknowledge it; give it up (dead letter) when it can never be posted."""
        if entry.id in self._inflight:
            return
        self._inflight.add(entry.id)
        try:
            reply = Reply.from_json(entry.raw or "")
            over_limit = entry.deliveries > self._settings.reply_max_deliveries
            if over_limit and not await self._redis.exists(keys.posted(reply.delivery_id)):
                await self._give_up(reply, Undeliverable(f"delivered {entry.deliveries} times without being posted "
                                                         f"(limit {self._settings.reply_max_deliveries})"))
                await self._stream.dead_letter(entry, "too_many_deliveries", reply.activation_id)
            elif await self.post(reply):
                await self._stream.ack(entry.id)
        except InvalidPayload as exc:
            log.error("dropping unreadable reply entry %s to the dead-letter stream: %s", entry.id, exc)
            await self._stream.dead_letter(entry, f"{exc.code}: {exc.detail[:500]}")
        except Undeliverable as exc:
            await self._stream.dead_letter(entry, f"{exc.code}: {exc}", exc.activation_id)
        except Exception:
            log.exception("posting reply entry %s failed; it stays pending for a retry", entry.id)
        finally:
            self._inflight.discard(entry.id)

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
            except discord.HTTPException as exc:
                if not refused_for_good(exc):
                    raise  # a 429 or a 5xx: the entry stays pending and is tried again
                refusal = Undeliverable(f"Discord answered {exc.status}: {exc.text[:200]}", reply.activation_id)
                await self._give_up(reply, refusal)
                raise refusal from exc
        await self._mark_posted(reply, message_ids)
        if final:
            await self._work.done(reply.channel_id, reply.activation_id)
            self._metrics.replies_posted.labels(outcome=reply.outcome.value).inc()
        return True

    async def _give_up(self, reply: Reply, why: Undeliverable) -> None:
        """Never try `reply` again: marked posted as undeliverable, its channel's turn freed (retrying cannot
        help, and the channel must not wait for it)."""
        log.warning("reply %s in channel %s is undeliverable: %s", reply.activation_id, reply.channel_id, why)
        await self._mark_posted(reply, [], UNDELIVERABLE)
        if reply.turn is None:
            await self._live.finish(reply.activation_id)
            await self._work.done(reply.channel_id, reply.activation_id)
        self._metrics.replies_posted.labels(outcome=UNDELIVERABLE).inc()

    async def _mark_posted(self, reply: Reply, message_ids: list[int], nothing: str = "silent") -> None:
        """Never post this reply again; remember which activation each message answers."""
        retention = self._settings.posted_retention_s
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(keys.posted(reply.delivery_id), ",".join(map(str, message_ids)) or nothing, ex=retention)
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

