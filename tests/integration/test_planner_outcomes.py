"""Every failure of a callsystem ends in a typed reply and record, never in a stuck activation."""

from __future__ import annotations

from datetime import date

import pytest

from switchboard.core.errors import ModelUnavailable, StepTimeout
from switchboard.core.metrics import Metrics
from switchboard.core.plugins import Callsystem, CallsystemRegistry
from switchboard.core.redis_client import connect_async
from switchboard.core.wire import Activation, Outcome, Trigger
from switchboard.planner.__main__ import build_planner
from switchboard.planner.settings import PlannerSettings

ACTIVATION = Activation(id="77", trigger=Trigger.DM, channel_id="3", message_id="77", author_id="7",
                        author_name="alice", content="hi")


class Failing(Callsystem):
    package_id = "cs.test.failing"
    version = "1.0.0"
    release_date = date(2026, 11, 1)
    error: Exception = ModelUnavailable("no replica")

    async def activate(self, ctx):
        raise type(self).error


@pytest.mark.parametrize(("error", "outcome", "code"), [
    (ModelUnavailable("no replica"), Outcome.MODEL_UNAVAILABLE, "model_unavailable"),
    (StepTimeout("slow"), Outcome.BUDGET_EXCEEDED, "step_timeout"),
    (RuntimeError("bug"), Outcome.FAILED, "internal_error"),
])
async def test_callsystem_errors_become_typed_replies(redis_url: str, error: Exception, outcome: Outcome,
                                                     code: str) -> None:
    settings = PlannerSettings(redis_url=redis_url, default_callsystem="cs.test.failing@latest")
    client = connect_async(settings)
    registry = CallsystemRegistry()
    registry.register(type("Failing", (Failing,), {"error": error}))
    planner = build_planner(settings, client, Metrics(), registry)
    reply, record = await planner.process(ACTIVATION)
    assert reply.outcome == record.outcome == outcome
    assert reply.error is not None and reply.error.code == code
    assert f"`{code}`" in reply.text
    assert record.callsystem == "cs.test.failing"
    await client.aclose()


async def test_unknown_callsystem_is_a_typed_reply(redis_url: str) -> None:
    settings = PlannerSettings(redis_url=redis_url, default_callsystem="cs.test.missing@2.0.0")
    client = connect_async(settings)
    reply, record = await build_planner(settings, client, Metrics()).process(ACTIVATION)
    assert reply.outcome == Outcome.FAILED and reply.error.code == "unknown_callsystem"  # type: ignore[union-attr]
    assert (record.callsystem, record.callsystem_version) == ("cs.test.missing", "2.0.0")
    await client.aclose()
