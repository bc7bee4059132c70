"""Wire models: JSON round trips, unknown fields ignored, bad input refused with a typed error."""

from __future__ import annotations

import json

import pytest

from switchboard.core.errors import InvalidPayload, ModelUnavailable, SwitchboardError, ToolTimeout
from switchboard.core.wire import (
    Activation,
    ActivationRecord,
    ChatMessage,
    ErrorInfo,
    HistoryMessage,
    HistoryWindow,
    InferenceRequest,
    InferenceResult,
    Outcome,
    Reply,
    ReplyDelta,
    StepRequest,
    StepResult,
    StepTiming,
    ToolCall,
    ToolResult,
    Trigger,
)

ACTIVATION = Activation(id="42", trigger=Trigger.MENTION, guild_id="1", channel_id="2", message_id="42",
                        author_id="7", author_name="alice", content="@Switchboard hi",
                        trace_context={"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"})

SAMPLES = [
    ACTIVATION,
    StepRequest(activation_id="42", step="infer:0", reply_to="sb:wake:p1", payload=InferenceRequest(
        messages=(ChatMessage(role="user", content="hi"),), stream_to="42")),
    StepRequest(activation_id="42", step="tool:clock:0", reply_to="sb:wake:p1",
                payload=ToolCall(name="clock", arguments={"timezone": "UTC"})),
    StepResult(activation_id="42", step="infer:0", output=InferenceResult(text="hey", finish_reason="stop",
                                                                          model="m", completion_tokens=1)),
    StepResult(activation_id="42", step="tool:clock:0", output=ToolResult(name="clock", output={"iso": "x"})),
    StepResult(activation_id="42", step="history:0", output=HistoryWindow(messages=(HistoryMessage(
        message_id="41", author_id="7", author_name="alice", content="earlier", created_at=1.0),))),
    StepResult(activation_id="42", step="infer:0", error=ErrorInfo.of(ModelUnavailable("no replica"))),
    ReplyDelta(activation_id="42", seq=3, text="hel"),
    Reply(activation_id="42", channel_id="2", reply_to_message_id="42", outcome=Outcome.REPLIED, text="hello"),
    ActivationRecord(activation=ACTIVATION, callsystem="cs.switchboard.legacy", callsystem_version="1.0.0",
                     persona="switchboard", planner_id="p1", outcome=Outcome.REPLIED, started_at=1.0,
                     finished_at=2.0, steps=(StepTiming(step="infer:0", finished_at=2.0),)),
]


@pytest.mark.parametrize("model", SAMPLES, ids=lambda m: f"{m.kind}")
def test_round_trip(model) -> None:
    decoded = type(model).from_json(model.to_json())
    assert decoded == model
    assert json.loads(model.to_json())["kind"] == model.kind
    assert json.loads(model.to_json())["schema_version"] == 1


def test_unknown_fields_from_a_newer_writer_are_ignored() -> None:
    data = json.loads(ACTIVATION.to_json()) | {"added_in_v2": {"anything": 1}}
    assert Activation.from_json(json.dumps(data)) == ACTIVATION


@pytest.mark.parametrize("raw", ["not json", "{}", '{"id": 1}', json.dumps({"kind": "activation", "id": "1"})])
def test_bad_input_is_a_typed_error_naming_the_model(raw: str) -> None:
    with pytest.raises(InvalidPayload, match="Activation"):
        Activation.from_json(raw)


def test_models_are_frozen() -> None:
    with pytest.raises(ValueError, match="frozen"):
        ACTIVATION.content = "changed"  # type: ignore[misc]


def test_error_info_rebuilds_the_typed_error() -> None:
    error = ErrorInfo.of(ToolTimeout("clock ran longer than 1 s")).to_exception()
    assert isinstance(error, ToolTimeout)
    assert error.retryable and str(error) == "clock ran longer than 1 s"
    assert type(ErrorInfo(code="from_the_future", message="?").to_exception()) is SwitchboardError


def test_step_request_task_id_is_deterministic() -> None:
    request = SAMPLES[1]
    assert request.task_id == "42:infer:0"
