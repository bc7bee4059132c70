"""What a replay reports: the original and replayed replies side by side, and how the replay used the journal.

A pydantic model, so the CLI's `--json` (and the admin API of a later slice) emit the same document.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

from switchboard.core.wire import ActivationRecord, ErrorInfo, Outcome, Reply

ReplayMode = Literal["recorded", "live"]


class Verdict(StrEnum):
    MATCHES = "matches"  # the replay answered exactly as the original (outcome, text, images)
    DIFFERS = "differs"  # it answered otherwise, or asked for a step the original never recorded
    UNKNOWN = "unknown"  # it answered, but the original's record predates kept replies
    FAILED = "failed"  # it could not run: no record, unknown callsystem, nobody finished it in time


class ReplyView(BaseModel):
    """A final reply, as far as matching goes."""

    model_config = ConfigDict(frozen=True)

    outcome: Outcome
    text: str | None  # None: the record was written before replies were kept
    images: tuple[str, ...] = ()  # sha256 of each attached image
    error: str | None = None  # the error code of a failed activation

    @classmethod
    def of_record(cls, record: ActivationRecord) -> ReplyView:
        return cls(outcome=record.outcome, text=record.reply_text, images=record.reply_images,
                   error=record.error.code if record.error else None)

    @classmethod
    def of_reply(cls, reply: Reply) -> ReplyView:
        return cls(outcome=reply.outcome, text=reply.text, images=tuple(image.sha256 for image in reply.images),
                   error=reply.error.code if reply.error else None)

    def same_as(self, other: ReplyView) -> bool | None:
        """Whether both say the same; None when this one's text is not known."""
        if self.text is None or other.text is None:
            return None
        return (self.outcome, self.text, self.images) == (other.outcome, other.text, other.images)


class ReplayReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    activation_id: str
    mode: ReplayMode
    operator: str
    replay_id: str | None = None  # the replay's own activation id
    callsystem: str | None = None  # the version the replay ran, `package_id@version`
    original_callsystem: str | None = None
    original: ReplyView | None = None
    replayed: ReplyView | None = None  # None when the replay did not finish
    matches: bool | None = None  # None when the original's reply is not known
    steps_used: tuple[str, ...] = ()  # recorded: read from the journal; live: run again
    not_recorded: tuple[str, ...] = ()  # steps asked for that the original never recorded (the run stopped)
    unused: tuple[str, ...] = ()  # steps the original recorded that the replay did not ask for
    original_stop: str | None = None  # the step at which the original ended in an error, and so did the replay
    notes: tuple[str, ...] = ()  # what the replayed callsystem noted (e.g. a fallback it took)
    error: ErrorInfo | None = None  # why the replay did not finish
    delivery: str = "off"  # off | queued | skipped: <why>
    started_at: float
    duration_s: float

    @property
    def verdict(self) -> Verdict:
        if self.not_recorded or self.matches is False:
            return Verdict.DIFFERS
        if self.error is not None or self.replayed is None:
            return Verdict.FAILED
        return Verdict.UNKNOWN if self.matches is None else Verdict.MATCHES

    def as_json(self) -> dict:
        return {**self.model_dump(mode="json"), "verdict": self.verdict.value}
