"""What Discord's message deletes and edits do to the copies Switchboard keeps.

A message deleted on Discord (one, a bulk delete, or one the gateway never cached: the raw events) leaves
the channel's history, and its text is blanked wherever an activation kept it: the activation it triggered
(its record's message, the attachments' blobs) and every history window a journal recorded after it was
written (which is what a replay or "Show context window" would show). The channel's record index
(`keys.channel_records`) says which activations to look at; only those that finished after the message was
created can hold it (a Discord id carries its creation time). An edit rewrites the history entry.

An activation still running when its message is deleted has no record yet: `Redactor.deleted` notes it in
`sb:redactions-pending`, and a planner's maintenance loop (`Redactor.finish_pending`) redacts it once its record
is written (or gives up after `pending_for_s`, longer than any activation runs). Noted in Redis, so the
redaction outlives the replica that saw the delete.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

import redis.asyncio as aioredis

from switchboard.core import keys
from switchboard.core.history import ChannelHistory
from switchboard.core.wire import ActivationRecord, HistoryMessage, HistoryWindow, StepResult

REDACTED = "[deleted]"
DISCORD_EPOCH_MS = 1_420_070_400_000
CLOCK_SLACK_S = 60.0  # Discord's clock and ours may differ; look this much further back
PENDING_FOR_S = 3600.0  # an activation running longer than this has been given up (turn and step timeouts)


@dataclass
class Redaction:
    """What one delete changed."""

    history_entries: int = 0
    records: int = 0
    journal_steps: int = 0
    blobs: int = 0
    pending: list[str] = field(default_factory=list)  # activations of the deleted messages not recorded yet


def created_at(message_id: str) -> float | None:
    """When a Discord message was created (epoch seconds), from its snowflake id; None for other ids."""
    return ((int(message_id) >> 22) + DISCORD_EPOCH_MS) / 1000 if message_id.isdigit() else None


class Redactor:
    def __init__(self, client: aioredis.Redis, blob_client: aioredis.Redis, history: ChannelHistory,
                 pending_for_s: float = PENDING_FOR_S) -> None:
        """`client` decodes responses; `blob_client` may not (blobs are bytes): only its `DELETE` is used."""
        self._redis = client
        self._blobs = blob_client
        self._history = history
        self._pending_for_s = pending_for_s

    async def deleted(self, channel_id: str, message_ids: Collection[str]) -> Redaction:
        """Take messages deleted on Discord out of the history, and blank them in records and journals."""
        ids = frozenset(message_ids)
        done = Redaction(history_entries=await self._history.remove(channel_id, ids))
        times = [t for t in map(created_at, ids) if t is not None]
        since = min(times) - CLOCK_SLACK_S if len(times) == len(ids) else "-inf"
        candidates = await self._redis.zrangebyscore(keys.channel_records(channel_id), since, "+inf")
        await self.redact_records(candidates, ids, done)
        recorded = set(candidates)
        accepted = await self._redis.mget([keys.accepted(i) for i in ids]) if ids else []
        done.pending = sorted(i for i, was in zip(ids, accepted, strict=True) if was and i not in recorded)
        if done.pending:
            give_up = time.time() + self._pending_for_s
            await self._redis.zadd(keys.REDACTIONS_PENDING, {
                json.dumps({"activation": i, "messages": sorted(ids)}): give_up for i in done.pending})
        return done

    async def finish_pending(self, now: float | None = None) -> Redaction:
        """Redact the activations noted pending whose records are written now; forget those given up."""
        now = now if now is not None else time.time()
        await self._redis.zremrangebyscore(keys.REDACTIONS_PENDING, "-inf", now)
        owed = {member: json.loads(member) for member in await self._redis.zrange(keys.REDACTIONS_PENDING, 0, -1)}
        ready = await self.recorded({entry["activation"] for entry in owed.values()})
        done = Redaction()
        for member, entry in owed.items():
            if entry["activation"] in ready:
                await self.redact_records([entry["activation"]], frozenset(entry["messages"]), done)
                await self._redis.zrem(keys.REDACTIONS_PENDING, member)
        return done

    async def edited(self, channel_id: str, message_id: str, content: str) -> int:
        """An edit on Discord: the history holds the new text; returns how many entries changed."""
        return await self._history.edit(channel_id, message_id, content)

    async def recorded(self, activation_ids: Collection[str]) -> set[str]:
        """Those of `activation_ids` whose record is written."""
        ids = sorted(activation_ids)
        found = await self._redis.mget([keys.record(i) for i in ids]) if ids else []
        return {i for i, raw in zip(ids, found, strict=True) if raw is not None}

    async def redact_records(self, activation_ids: Iterable[str], message_ids: Collection[str],
                             done: Redaction | None = None) -> Redaction:
        """Blank `message_ids` in these activations' records and journals; what changed is added to `done`."""
        done = done if done is not None else Redaction()
        for activation_id in activation_ids:
            await self._redact_record(activation_id, message_ids, done)
            await self._redact_journal(activation_id, message_ids, done)
        return done

    async def _redact_record(self, activation_id: str, message_ids: Collection[str], done: Redaction) -> None:
        raw = await self._redis.get(keys.record(activation_id))
        if raw is None:
            return
        record = ActivationRecord.from_json(raw)
        activation, changes = record.activation, {}
        if activation.message_id in message_ids:
            changes = {"content": REDACTED, "attachments": ()}
            if activation.attachments:
                done.blobs += await self._blobs.delete(*(keys.blob(a.sha256) for a in activation.attachments))
        if activation.replied_to is not None and activation.replied_to.message_id in message_ids:
            changes["replied_to"] = activation.replied_to.model_copy(update={"content": REDACTED})
        if changes:
            redacted = record.model_copy(update={"activation": activation.model_copy(update=changes)})
            await self._redis.set(keys.record(activation_id), redacted.to_json(), keepttl=True, xx=True)
            done.records += 1

    async def _redact_journal(self, activation_id: str, message_ids: Collection[str], done: Redaction) -> None:
        steps = await self._redis.hgetall(keys.journal(activation_id))
        rewritten = {}
        for step, raw in steps.items():
            if not step.startswith("history:") or not any(i in raw for i in message_ids):  # cheap test first
                continue
            result = StepResult.from_json(raw)
            if isinstance(result.output, HistoryWindow):
                window = HistoryWindow(messages=tuple(_blanked(m, message_ids) for m in result.output.messages))
                if window != result.output:
                    rewritten[step] = result.model_copy(update={"output": window}).to_json()
        if rewritten:
            await self._redis.hset(keys.journal(activation_id), mapping=rewritten)
            done.journal_steps += len(rewritten)


def _blanked(message: HistoryMessage, message_ids: Collection[str]) -> HistoryMessage:
    return message.model_copy(update={"content": REDACTED}) if message.message_id in message_ids else message
