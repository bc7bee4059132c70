"""The dead-letter stream (`sb:dlq`) as operators see it: list, inspect, replay and purge.

An entry says where it came from (`source`: the activations or the replies stream, or `step:<hop>` for a
step whose task killed its worker N times), why (`reason`), and carries the original entry's JSON (`data`)
when there was one. An activation the planners could not finish
in N deliveries was answered with one error reply and has a record, so it can be replayed live once the
fault is fixed: its answer is then posted (the user saw only an error notice; still once), and the entry
leaves the stream. Every replay and purge is in the audit log.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict

from switchboard.core.errors import InvalidPayload, SwitchboardError
from switchboard.core.keys import STREAM_FIELD, Stream
from switchboard.core.wire import Activation, AuditEntry
from switchboard.planner.replay import Replayer, ReplayReport

PAGE = 100


class DeadLetter(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str  # its id in `sb:dlq`
    at: float  # when it was dead-lettered (epoch seconds)
    source: str  # the stream it left
    reason: str
    entry_id: str | None = None  # its id in the source stream
    activation_id: str | None = None
    deliveries: int | None = None  # how many times the planners were given it
    activation: Activation | None = None  # the activation, when the entry held a readable one

    @property
    def replayable(self) -> bool:
        """An activation, or a poison step of one (its activation's record says how it ended)."""
        return self.activation is not None or (self.source.startswith("step:") and self.activation_id is not None)


class DeadLetters:
    def __init__(self, client: aioredis.Redis) -> None:
        self._redis = client

    async def list(self, count: int = PAGE, before: str = "+") -> list[DeadLetter]:
        """Newest first; `before` pages back (an id, exclusive)."""
        high = "+"
        if before != "+":
            ms, seq = (int(part) for part in before.split("-"))
            if ms == seq == 0:
                return []  # nothing is older, and Redis refuses the exclusive range below its first id
            high = f"({ms}-{seq}"
        entries = await self._redis.xrevrange(Stream.DEAD_LETTERS, max=high, min="-", count=count)
        return [_dead_letter(entry_id, fields) for entry_id, fields in entries]

    async def get(self, dead_letter_id: str) -> DeadLetter | None:
        entries = await self._redis.xrange(Stream.DEAD_LETTERS, min=dead_letter_id, max=dead_letter_id)
        return _dead_letter(*entries[0]) if entries else None

    async def count(self) -> int:
        return await self._redis.xlen(Stream.DEAD_LETTERS)

    async def remove(self, ids: Sequence[str]) -> int:
        return await self._redis.xdel(Stream.DEAD_LETTERS, *ids) if ids else 0

    async def purge(self, before: float | None = None) -> int:
        """Remove every entry, or those dead-lettered before `before` (epoch seconds); returns how many."""
        if before is None:
            removed = await self._redis.xlen(Stream.DEAD_LETTERS)
            await self._redis.delete(Stream.DEAD_LETTERS)
            return removed
        return await self._redis.xtrim(Stream.DEAD_LETTERS, minid=f"{int(before * 1000)}-0", approximate=False)


def _dead_letter(entry_id: str, fields: dict[str, str]) -> DeadLetter:
    activation = None
    if fields.get("source") == Stream.ACTIVATIONS.value and fields.get(STREAM_FIELD):
        try:
            activation = Activation.from_json(fields[STREAM_FIELD]).without_secrets()  # operators see no token
        except InvalidPayload:
            activation = None  # what made it a dead letter in the first place
    deliveries = fields.get("deliveries")
    return DeadLetter(
        id=entry_id, at=int(entry_id.split("-")[0]) / 1000, source=fields.get("source", "?"),
        reason=fields.get("reason", ""), entry_id=fields.get("entry_id"),
        activation_id=activation.id if activation else fields.get("activation_id"),
        deliveries=int(deliveries) if deliveries and deliveries.isdigit() else None, activation=activation)


class DeadLetterNotFound(SwitchboardError):
    """No dead letter has that id (never, or purged, or replayed already)."""

    code = "dead_letter_not_found"


class NotReplayable(SwitchboardError):
    """The dead letter holds no readable activation, so there is nothing to run again."""

    code = "not_replayable"


async def replay_dead_letter(store: DeadLetters, replayer: Replayer, dead_letter_id: str,
                             operator: str) -> ReplayReport:
    """Run a dead-lettered activation again, live, posting its reply; the entry leaves the stream once it answered.

    The user saw only an error notice for it, so the replay's answer is posted (once: posted-once holds for
    the replay's own reply). Raises `DeadLetterNotFound` or `NotReplayable`.
    """
    found = await store.get(dead_letter_id)
    if found is None:
        raise DeadLetterNotFound(f"no dead letter {dead_letter_id}")
    if not found.replayable or found.activation_id is None:
        raise NotReplayable(f"dead letter {dead_letter_id} holds no readable activation: nothing to replay")
    await replayer.audit.append(AuditEntry(action="dead_letter_replay", operator=operator, target=dead_letter_id,
                                           mode="live", deliver=True))
    report = await replayer.replay(found.activation_id, operator=operator, mode="live", deliver=True)
    if report.replayed is not None:
        await store.remove([dead_letter_id])
    return report
