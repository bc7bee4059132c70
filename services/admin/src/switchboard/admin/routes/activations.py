"""`/api/activations`: search records, open one in full, replay one or many."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field

from switchboard.admin.auth import Operator
from switchboard.admin.deps import of as deps
from switchboard.admin.views import ActivationDetail, ActivationSummary, detail
from switchboard.core import keys
from switchboard.core.wire import Outcome
from switchboard.planner.replay import Selection

router = APIRouter(prefix="/activations", tags=["activations"])

ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,100}$"
ActivationId = Annotated[str, Field(pattern=ID_PATTERN)]
ActivationPath = Annotated[str, Path(pattern=ID_PATTERN)]
CallsystemKey = Annotated[str, Field(pattern=r"^[a-z0-9_.-]{1,100}(@[A-Za-z0-9_.+-]{1,40})?$")]


class ActivationList(BaseModel):
    activations: list[ActivationSummary]


class SelectionBody(BaseModel):
    """Which records: every field set must match (as `GET /api/activations` filters)."""

    ids: list[ActivationId] = Field(default_factory=list, max_length=1000)
    since: float | None = None
    until: float | None = None
    guild_id: ActivationId | None = None
    channel_id: ActivationId | None = None
    callsystem: CallsystemKey | None = None
    outcomes: list[Outcome] = Field(default_factory=list)
    include_replays: bool = False
    limit: int = Field(default=100, ge=1, le=1000)

    def selection(self) -> Selection:
        return Selection(ids=tuple(self.ids), since=self.since, until=self.until, guild_id=self.guild_id,
                         channel_id=self.channel_id, callsystem=self.callsystem, outcomes=frozenset(self.outcomes),
                         include_replays=self.include_replays, limit=self.limit)


class ReplayOptions(BaseModel):
    mode: Literal["recorded", "live"] = "recorded"
    callsystem: CallsystemKey | None = None  # the version to run; default: the original's
    deliver: bool = False  # post the replay's reply through the normal path
    force: bool = False  # with deliver: post even though the original's reply was posted


class BatchReplay(ReplayOptions):
    selection: SelectionBody
    concurrency: int | None = Field(default=None, ge=1, le=64)


class ReplayResult(BaseModel):
    """A `ReplayReport` with its verdict: matches | differs | unknown | failed."""

    model_config = {"extra": "allow"}

    activation_id: str
    mode: str
    verdict: str


class BatchResult(BaseModel):
    total: int
    verdicts: dict[str, int]
    reports: list[ReplayResult]


@router.get("", summary="Search activation records, oldest first (or newest first with order=newest)")
async def search(request: Request, _: Operator,
                 since: float | None = None, until: float | None = None,
                 guild_id: Annotated[str | None, Query(pattern=r"^[0-9A-Za-z_-]{1,40}$")] = None,
                 channel_id: Annotated[str | None, Query(pattern=r"^[0-9A-Za-z_-]{1,40}$")] = None,
                 callsystem: Annotated[str | None, Query(pattern=r"^[a-z0-9_.-]{1,100}(@[A-Za-z0-9_.+-]{1,40})?$")]
                 = None,
                 outcome: Annotated[list[Outcome] | None, Query()] = None,
                 include_replays: bool = False,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                 order: Literal["oldest", "newest"] = "oldest") -> ActivationList:
    selection = Selection(since=since, until=until, guild_id=guild_id, channel_id=channel_id, callsystem=callsystem,
                          outcomes=frozenset(outcome or ()), include_replays=include_replays, limit=limit,
                          newest_first=order == "newest")
    records = await deps(request).replayer.records.select(selection)
    return ActivationList(activations=[ActivationSummary.of(record) for record in records])


@router.get("/{activation_id}", summary="One activation: record, journal, timeline and reply message ids")
async def get_one(request: Request, _: Operator, activation_id: ActivationPath) -> ActivationDetail:
    services = deps(request)
    record = await services.replayer.records.get(activation_id)
    if record is None:
        raise HTTPException(404, f"no record of activation {activation_id} (never finished, or expired)")
    journal = await services.journal.steps(activation_id)
    posted = await services.client.get(keys.posted(activation_id))
    return detail(record, journal, posted)


@router.post("/{activation_id}/replay", summary="Replay one activation (audited)")
async def replay_one(request: Request, caller: Operator, activation_id: ActivationPath,
                     options: ReplayOptions) -> ReplayResult:
    report = await deps(request).replayer.replay(activation_id, operator=caller.name, **options.model_dump())
    return ReplayResult.model_validate(report.as_json())


@router.post("/replay", summary="Replay every activation a selection finds, a bounded number at once (audited)")
async def replay_batch(request: Request, caller: Operator, batch: BatchReplay) -> BatchResult:
    services = deps(request)
    selection = batch.selection.selection()
    limit = min(selection.limit, services.settings.replay_batch_limit)
    records = await services.replayer.records.select(dataclasses.replace(selection, limit=limit))
    reports = await services.replayer.replay_many(
        [record.activation.id for record in records], operator=caller.name,
        concurrency=batch.concurrency or services.settings.replay_concurrency,
        known={record.activation.id: record for record in records},
        **batch.model_dump(include={"mode", "callsystem", "deliver", "force"}))
    verdicts: dict[str, int] = {}
    for report in reports:
        verdicts[report.verdict.value] = verdicts.get(report.verdict.value, 0) + 1
    return BatchResult(total=len(reports), verdicts=verdicts,
                       reports=[ReplayResult.model_validate(report.as_json()) for report in reports])
