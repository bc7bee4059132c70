"""`/api/queues`, `/api/lanes`, `/api/callsystems`, `/api/audit`: what the system is doing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from switchboard.admin import operations
from switchboard.admin.auth import Operator
from switchboard.admin.deps import of as deps
from switchboard.core.wire import AuditEntry

router = APIRouter(tags=["system"])


class LaneList(BaseModel):
    lanes: list[operations.Lane]


class CallsystemList(BaseModel):
    default: str
    callsystems: list[operations.CallsystemInfo]


class AuditList(BaseModel):
    entries: list[AuditEntry]


@router.get("/queues", summary="Depths and ages of the activation and reply streams and the Celery queues")
async def get_queues(request: Request, _: Operator) -> operations.Queues:
    return await operations.queues(deps(request).client)


@router.get("/lanes", summary="Slots in use, waiters and capacity of every model and tool lane")
async def get_lanes(request: Request, _: Operator) -> LaneList:
    return LaneList(lanes=await operations.lanes(deps(request).client))


@router.get("/callsystems", summary="The callsystems (and versions) a channel or replay can run")
async def get_callsystems(request: Request, _: Operator) -> CallsystemList:
    services = deps(request)
    return CallsystemList(default=services.settings.default_callsystem,
                          callsystems=operations.callsystems(services.registry))


@router.get("/audit", summary="Operators' actions, newest first")
async def get_audit(request: Request, _: Operator, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> AuditList:
    return AuditList(entries=await deps(request).replayer.audit.latest(limit))
