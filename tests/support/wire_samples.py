"""One valid instance of every wire model, for tests that mutate real payloads (fuzzing, round trips).

`SAMPLES` holds a sample per `WireModel` subclass (a step request and a step result once per payload
kind); `wire_models()` lists every subclass there is, so a test can insist that a new model gets a sample.
"""

from __future__ import annotations

from switchboard.core.blobs import BlobRef
from switchboard.core.config import ConfigPatch, RateLimit
from switchboard.core.personas import PersonaRecord
from switchboard.core.usage import Quota, Usage
from switchboard.core.wire import (
    Activation,
    ActivationRecord,
    AttachmentRef,
    AuditEntry,
    ChatMessage,
    EmbedRequest,
    EmbedResult,
    ErrorInfo,
    HistoryMessage,
    HistoryWindow,
    ImageRequest,
    ImageResult,
    InferenceRequest,
    InferenceResult,
    InteractionRef,
    LaneStats,
    MemoryValue,
    ModelRequirements,
    ModelToolCall,
    Outcome,
    PlanDrop,
    Reply,
    ReplyDelta,
    StepRequest,
    StepResult,
    StepTiming,
    ToolCall,
    ToolCallContext,
    ToolResult,
    ToolSpec,
    Trigger,
    TurnPlan,
    VisionLabel,
    VisionRequest,
    VisionResult,
    WireModel,
)

PHOTO = AttachmentRef(filename="cat.png", content_type="image/png", size=1234, sha256="a" * 64, media="image",
                      width=64, height=48)
HISTORY = HistoryMessage(message_id="40", author_id="7", author_name="alice", content="hello", created_at=1.5e9)
ACTIVATION = Activation(id="42", trigger=Trigger.MENTION, guild_id="1", channel_id="2", message_id="42",
                        author_id="7", author_name="alice", content="@bot what is 6*7?", attachments=(PHOTO,),
                        replied_to=HISTORY, interaction=InteractionRef(id="9", application_id="8", token="tok",
                                                                       command="imagine"),
                        trace_context={"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"})
CALL = ModelToolCall(id="call_0", name="calculator", arguments={"expression": "6*7"})
SPEC = ToolSpec(name="calculator", description="arithmetic", parameters={"type": "object", "properties": {}})
INFERENCE = InferenceRequest(messages=(ChatMessage(role="system", content="be brief"),
                                       ChatMessage(role="assistant", content="", tool_calls=(CALL,)),
                                       ChatMessage(role="tool", content="42", tool_call_id="call_0")),
                             tools=(SPEC,), tool_choice="calculator",
                             requires=ModelRequirements(capabilities=frozenset({"tools"}), min_context_tokens=4096))
TOOL_CALL = ToolCall(name="calculator", arguments={"expression": "6*7"},
                     context=ToolCallContext(activation_id="42", guild_id="1", channel_id="2", user_id="7"))
IMAGE = ImageRequest(prompt="a red fox", width=768, height=512, count=2, seed=3)
VISION = VisionRequest(image=PHOTO, top_k=2)
EMBED = EmbedRequest(texts=("one", "two"))
ERROR = ErrorInfo(code="tool_failed", message="boom", retryable=False)
TIMING = StepTiming(step="infer:0", queued_at=1.7e9, error=ERROR, lane="local:chat", attempt=1, result_bytes=90)
PLAN = TurnPlan(speakers=("ada", "bo"), waves=(("ada",), ("bo",)), lane="local:chat", max_tokens=200,
                predicted_first_s=1.0, predicted_all_s=2.5, first_budget_s=5.0, all_budget_s=20.0,
                dropped=(PlanDrop(persona="cy", reason="all_response_budget_exceeded"),))
LABEL = VisionLabel(label="cat", score=0.9)
OUTPUTS = (
    ToolResult(name="calculator", output={"value": 42}),
    InferenceResult(text="42", finish_reason="tool_calls", model="m", tool_calls=(CALL,), prompt_tokens=3,
                    completion_tokens=1, time_to_first_token_s=0.2),
    ImageResult(images=(PHOTO,), model="img", revised_prompt="a fox"),
    VisionResult(labels=(LABEL,), caption="a cat", model="v"),
    EmbedResult(vectors=((0.6, 0.8),), model="e", dimensions=2, max_tokens=256),
    HistoryWindow(messages=(HISTORY,)),
    MemoryValue(key="k", value=[1, "two", None]),
    PLAN,
)

SAMPLES: tuple[WireModel, ...] = (
    ACTIVATION, PHOTO, HISTORY, CALL, SPEC, INFERENCE, TOOL_CALL, IMAGE, VISION, EMBED, ERROR, PLAN, *OUTPUTS,
    ACTIVATION.interaction, TOOL_CALL.context, INFERENCE.messages[1], INFERENCE.requires, PLAN.dropped[0],
    LABEL,
    *(StepRequest(activation_id="42", step=f"step:{n}", reply_to="sb:wake:p1", payload=payload, queued_at=1.7e9)
      for n, payload in enumerate((TOOL_CALL, INFERENCE, IMAGE, VISION, EMBED))),
    *(StepResult(activation_id="42", step=f"step:{n}", output=output, worker="w", lane="tools:calculator",
                 attempt=1, queued_at=1.7e9, started_at=1.7e9, finished_at=1.7e9 + 1)
      for n, output in enumerate(OUTPUTS)),
    StepResult(activation_id="42", step="tool:shell:0", error=ERROR, worker="planner"), TIMING,
    LaneStats(lane="local:chat", local=True, capacity=2, time_to_first_token_s=0.3, tokens_per_s=25.0, samples=4),
    ReplyDelta(activation_id="42", seq=3, text="The answer"),
    Reply(activation_id="42", guild_id="1", channel_id="2", reply_to_message_id="42", outcome=Outcome.TOOL_FAILED,
          text="❌", images=(PHOTO,), error=ERROR, speaker="ada", turn=1),
    ActivationRecord(activation=ACTIVATION, callsystem="cs.switchboard.legacy", callsystem_version="1.1.0",
                     persona="default", planner_id="p1", outcome=Outcome.REPLIED, started_at=1.7e9,
                     finished_at=1.7e9 + 2, steps=(TIMING,),
                     notes=("fell back",), reply_text="42", reply_images=("a" * 64,),
                     allowed_tools=("calculator",)),
    AuditEntry(action="replay", operator="op", target="42", mode="recorded", callsystem="cs.x@1.0.0"),
    BlobRef(sha256="a" * 64, size=10, content_type="image/png"),
    RateLimit(capacity=10, per_seconds=60),
    ConfigPatch(allowed_tools=("calculator",), user_rate=RateLimit(capacity=1, per_seconds=1), group_chatter=2),
    PersonaRecord(name="ada", instructions="You are Ada."),
    Usage(tokens_in=30, tokens_out=5, model_seconds=1.5, tool_calls=2, images=1),
    Quota(tokens_per_day=200_000, model_seconds_per_day=600.0, user_images_per_day=20),
)


def wire_models() -> set[type[WireModel]]:
    """Every subclass of `WireModel` in `switchboard.core` (the wire module and the stores built on it)."""
    found: set[type[WireModel]] = set()
    pending = [WireModel]
    while pending:
        for sub in pending.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                pending.append(sub)
    return {model for model in found if model.__module__.startswith("switchboard.core.")}
