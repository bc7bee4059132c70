"""Finding activation records to replay: by id, or by time range, place, callsystem and outcome.

Records live at `sb:record:<id>` and expire with the retention; `sb:records` indexes them by the time
they were written, so a time range is one range read and the rest is filtering the records it names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import redis.asyncio as aioredis

from switchboard.core import keys
from switchboard.core.wire import ActivationRecord, Outcome

BATCH = 200  # records read per round trip


@dataclass(frozen=True)
class Selection:
    """Which records a replay takes; every field set must match. Replays themselves are left out unless asked."""

    ids: tuple[str, ...] = ()  # only these (else: every indexed record in the time range)
    since: float | None = None  # written at or after (epoch seconds)
    until: float | None = None  # written at or before
    guild_id: str | None = None
    channel_id: str | None = None
    callsystem: str | None = None  # the original's: `package_id` (any version) or `package_id@version`
    outcomes: frozenset[Outcome] = frozenset()
    include_replays: bool = False
    limit: int = 100
    newest_first: bool = False  # the most recent `limit` (else the oldest), in that order

    def admits(self, record: ActivationRecord) -> bool:
        activation = record.activation
        package_id, _, version = (self.callsystem or "").partition("@")
        checks = (
            self.since is None or record.finished_at >= self.since,
            self.until is None or record.finished_at <= self.until,
            self.guild_id is None or activation.guild_id == self.guild_id,
            self.channel_id is None or self.channel_id in (activation.channel_id, activation.thread_parent_id),
            not package_id or record.callsystem == package_id,
            not version or record.callsystem_version == version,
            not self.outcomes or record.outcome in self.outcomes,
            self.include_replays or activation.replay_of is None,
        )
        return all(checks)


class RecordStore:
    def __init__(self, client: aioredis.Redis) -> None:
        self._redis = client

    async def get(self, activation_id: str) -> ActivationRecord | None:
        raw = await self._redis.get(keys.record(activation_id))
        return None if raw is None else ActivationRecord.from_json(raw)

    async def get_many(self, activation_ids: Sequence[str]) -> list[ActivationRecord]:
        """The records that still exist among `activation_ids`, in that order."""
        found = await self.get_by_id(activation_ids)
        return [found[activation_id] for activation_id in activation_ids if activation_id in found]

    async def get_by_id(self, activation_ids: Sequence[str]) -> dict[str, ActivationRecord]:
        """The records that still exist among `activation_ids`, by id: one round trip per `BATCH` ids."""
        found: dict[str, ActivationRecord] = {}
        for start in range(0, len(activation_ids), BATCH):
            chunk = activation_ids[start:start + BATCH]
            raw = await self._redis.mget([keys.record(activation_id) for activation_id in chunk])
            found |= {activation_id: ActivationRecord.from_json(value)
                      for activation_id, value in zip(chunk, raw, strict=True) if value is not None}
        return found

    async def select(self, selection: Selection) -> list[ActivationRecord]:
        """The matching records, oldest first (or newest first), at most `selection.limit`."""
        if selection.ids:
            return [r for r in await self.get_many(selection.ids) if selection.admits(r)][:selection.limit]
        low = "-inf" if selection.since is None else repr(selection.since)
        high = "+inf" if selection.until is None else repr(selection.until)
        chosen: list[ActivationRecord] = []
        offset = 0
        while len(chosen) < selection.limit:
            if selection.newest_first:
                ids = await self._redis.zrevrangebyscore(keys.RECORDS, high, low, start=offset, num=BATCH)
            else:
                ids = await self._redis.zrangebyscore(keys.RECORDS, low, high, start=offset, num=BATCH)
            if not ids:
                break
            offset += len(ids)
            chosen += [r for r in await self.get_many(ids) if selection.admits(r)]
        return chosen[:selection.limit]
