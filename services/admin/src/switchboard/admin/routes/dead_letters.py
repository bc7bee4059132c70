"""`/api/dead-letters`: what could not be processed, and why; replay (live, delivered) or purge it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel

from switchboard.admin.auth import Operator
from switchboard.admin.dead_letters import DeadLetter, DeadLetterNotFound, NotReplayable, replay_dead_letter
from switchboard.admin.deps import of as deps
from switchboard.admin.routes.activations import ReplayResult
from switchboard.core.wire import AuditEntry

router = APIRouter(prefix="/dead-letters", tags=["dead letters"])

StreamId = Annotated[str, Path(pattern=r"^[0-9]{1,15}-[0-9]{1,18}$")]


class DeadLetterList(BaseModel):
    total: int
    dead_letters: list[DeadLetter]


class Purged(BaseModel):
    purged: int


@router.get("", summary="Dead letters, newest first")
async def list_dead_letters(request: Request, _: Operator, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                            before: Annotated[str | None, Query(pattern=r"^[0-9]{1,15}-[0-9]{1,18}$")] = None,
                            ) -> DeadLetterList:
    store = deps(request).dead_letters
    return DeadLetterList(total=await store.count(), dead_letters=await store.list(limit, before or "+"))


@router.get("/{dead_letter_id}", summary="One dead letter")
async def get_dead_letter(request: Request, _: Operator, dead_letter_id: StreamId) -> DeadLetter:
    found = await deps(request).dead_letters.get(dead_letter_id)
    if found is None:
        raise HTTPException(404, f"no dead letter {dead_letter_id}")
    return found


@router.post("/{dead_letter_id}/replay", summary="Run a dead-lettered activation again, live, and post its reply")
async def replay_one_dead_letter(request: Request, caller: Operator, dead_letter_id: StreamId) -> ReplayResult:
    services = deps(request)
    try:
        report = await replay_dead_letter(services.dead_letters, services.replayer, dead_letter_id, caller.name)
    except DeadLetterNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except NotReplayable as exc:
        raise HTTPException(409, str(exc)) from None
    return ReplayResult.model_validate(report.as_json())


@router.delete("/{dead_letter_id}", status_code=204, summary="Remove one dead letter", response_class=Response)
async def delete_dead_letter(request: Request, caller: Operator, dead_letter_id: StreamId) -> Response:
    services = deps(request)
    await services.replayer.audit.append(AuditEntry(action="dead_letter_purge", operator=caller.name,
                                                    target=dead_letter_id))
    if not await services.dead_letters.remove([dead_letter_id]):
        raise HTTPException(404, f"no dead letter {dead_letter_id}")
    return Response(status_code=204)


@router.post("/purge", summary="Remove every dead letter, or those older than `before` (epoch seconds)")
async def purge_dead_letters(request: Request, caller: Operator,
                             before: Annotated[float | None, Query(ge=0, le=1e11)] = None) -> Purged:
    services = deps(request)
    purged = await services.dead_letters.purge(before)
    await services.replayer.audit.append(AuditEntry(
        action="dead_letter_purge", operator=caller.name, target="*" if before is None else f"before:{before}",
        detail=f"{purged} removed"))
    return Purged(purged=purged)
