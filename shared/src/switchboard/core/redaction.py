"""What Discord's message deletes and edits do to the copies Switchboard keeps.

A message deleted on Discord (one, a bulk delete, or one the gateway never cached: the raw events) leaves
the channel's history, and its text is blanked wherever an activation kept it: the activation it triggered
(its record's message, the attachments' blobs) and every history window a journal recorded after it was
written (which is what a replay or "Show context window" would show). The channel's record index
(`keys.channel_records`) says which activations to look at; only those that finished after the message was
created can hold it (a Discord id carries its creation time). An edit rewrites the history entry.

An activation still running when its message is deleted has no record yet: `Redactor.deleted` reports it
(`pending`) so the caller can look again once it finishes (`Redactor.redact_records`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

import redis.asyncio as aioredis

from switchboard.core import keys
from switchboard.core.history import ChannelHistory
from switchboard.core.wire import ActivationRecord, HistoryMessage, HistoryWindow, StepResult

REDACTED = "[deleted]"
DISCORD_EPOCH_MS = 1_420_070_400_000
CLOCK_SLACK_S = 60.0  # Discord's clock and ours may differ; look this much further back


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
    def __init__(self, client: aioredis.Redis, blob_client: aioredis.Redis, history: ChannelHistory) -> None:
        """`client` decodes responses; `blob_client` may not (blobs are bytes): only its `DELETE` is used."""
        self._redis = client
        self._blobs = blob_client
        self._history = history

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
