"""Wire contracts: everything that crosses a process boundary.

Each model is frozen, carries `kind` and `schema_version`, ignores unknown fields (so an older reader
accepts a newer writer's extra fields) and is serialized as JSON only.
"""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from switchboard.core.errors import InvalidPayload, SwitchboardError, error_from_wire

SCHEMA_VERSION = 1


class WireModel(BaseModel):
    """Base of every wire model: frozen, JSON in and out, typed error on bad input."""

    # NaN and infinities are refused: JSON cannot say them, so a stored record holding one could not be read.
    model_config = ConfigDict(frozen=True, extra="ignore", allow_inf_nan=False)

    schema_version: int = SCHEMA_VERSION

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, raw: str | bytes) -> Self:
        """Parse JSON; raises `InvalidPayload` naming the model on any mismatch."""
        try:
            return cls.model_validate_json(raw)
        except ValidationError as exc:
            raise InvalidPayload(cls.__name__, str(exc)) from exc


class Trigger(StrEnum):
    """Why a message activated the bot."""

    MENTION = "mention"
    REPLY = "reply"
    DM = "dm"
    KEYWORD = "keyword"
    CHANNEL = "channel"  # any message in a channel the config opens
    COMMAND = "command"  # a slash command that asks for work (`/imagine`, `/replay`)
    CHATTER = "chatter"  # an agent group's personas answering each other (queued by the planner)


class Outcome(StrEnum):
    """The one outcome every activation ends in."""

    REPLIED = "replied"
    SILENT = "silent"
    TOOL_FAILED = "tool_failed"
    MODEL_UNAVAILABLE = "model_unavailable"
    BUDGET_EXCEEDED = "budget_exceeded"
    RATE_LIMITED = "rate_limited"
    REJECTED_INPUT = "rejected_input"
    DEAD_LETTERED = "dead_lettered"
    FAILED = "failed"


class ErrorInfo(WireModel):
    """A typed error as it travels: the error class's `code`, a message, and whether a retry may help."""

    kind: Literal["error"] = "error"
    code: str
    message: str
    retryable: bool = False

    @classmethod
    def of(cls, error: BaseException) -> ErrorInfo:
        if isinstance(error, SwitchboardError):
            return cls(code=error.code, message=error.message, retryable=error.retryable)
        return cls(code=SwitchboardError.code, message=f"{type(error).__name__}: {error}")

    def to_exception(self) -> SwitchboardError:
        return error_from_wire(self.code, self.message)


class HistoryMessage(WireModel):
    """One message of a channel's history as the gateway saw it."""

    kind: Literal["history_message"] = "history_message"
    message_id: str
    author_id: str
    author_name: str
    from_self: bool = False  # written by this bot (an assistant turn)
    speaker: str | None = None  # for our own messages in an agent group: the persona that wrote it
    content: str
    created_at: float


class AttachmentRef(WireModel):
    """A file from the triggering message (or the message it replies to), stored as a blob."""

    kind: Literal["attachment"] = "attachment"
    filename: str
    content_type: str
    size: int
    sha256: str
    media: Literal["image", "text"]
    width: int | None = None
    height: int | None = None
    from_reply: bool = False  # attached to the replied-to message, not the trigger


class InteractionRef(WireModel):
    """The slash command an activation answers: its reply edits the command's deferred response.

    The token is a credential for that response (valid 15 minutes on Discord): never log it.
    """

    kind: Literal["interaction"] = "interaction"
    id: str
    application_id: str
    token: str = Field(repr=False)
    command: Literal["imagine", "replay"]


class Activation(WireModel):
    """A Discord message that met the activation policy, queued for a planner."""

    kind: Literal["activation"] = "activation"
    id: str
    trigger: Trigger
    guild_id: str | None = None
    channel_id: str
    thread_parent_id: str | None = None  # set when channel_id is a thread: config comes from the parent
    message_id: str
    author_id: str
    author_name: str
    content: str
    reply_to_message_id: str | None = None
    replied_to: HistoryMessage | None = None  # the message this one replies to, when Discord sent it
    attachments: tuple[AttachmentRef, ...] = ()
    interaction: InteractionRef | None = None  # set for slash-command work; the answer goes there
    replay_of: str | None = None  # a replay of this activation (an operator's); in the channel only with `deliver`
    deliver: bool = True  # False: answered and recorded but never posted (an operator's probe or replay)
    callsystem: str | None = None  # `package_id@version` to run instead of the channel's (an operator's replay)
    chatter_depth: int = Field(default=0, ge=0)  # 0: a person's message; n: the n-th AI-to-AI follow-up
    accepted_at: float = Field(default_factory=time.time)
    trace_context: dict[str, str] = Field(default_factory=dict)

    def without_secrets(self) -> Activation:
        """This activation as it may be kept or shown: the interaction's token (a credential) blanked."""
        if self.interaction is None or not self.interaction.token:
            return self
        return self.model_copy(update={"interaction": self.interaction.model_copy(update={"token": ""})})


class ToolSpec(WireModel):
    """A tool offered to a model: its name, what it does, and the JSON Schema of its arguments."""

    kind: Literal["tool_spec"] = "tool_spec"
    name: str
    description: str
    parameters: dict[str, Any]


class ModelToolCall(WireModel):
    """A tool call a model asked for; `id` pairs it with the `tool` message that answers it."""

    kind: Literal["model_tool_call"] = "model_tool_call"
    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class ChatMessage(WireModel):
    kind: Literal["chat_message"] = "chat_message"
    role: Literal["system", "user", "assistant", "tool"]
    content: str
    tool_calls: tuple[ModelToolCall, ...] = ()  # an assistant turn that asked for tools
    tool_call_id: str | None = None  # a `tool` message: the call it answers


MODEL_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}$"
ModelName = Annotated[str, Field(pattern=MODEL_NAME_PATTERN)]


class ModelRequirements(WireModel):
    """A requirement profile: what a model must be able to do for a request (see the inference resolver).

    `capabilities` name abilities such as `tools` (structured tool calls) or `vision_input` (images in
    the prompt); `min_context_tokens` is the context window the request needs.
    """

    kind: Literal["model_requirements"] = "model_requirements"
    capabilities: frozenset[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]] = Field(
        default=frozenset(), max_length=16)
    min_context_tokens: int = Field(default=0, ge=0, le=10_000_000)


TOOL_CHOICE_MODES = ("auto", "none", "required", "any")


class InferenceRequest(WireModel):
    """A model call. `stream_to` names the activation whose live channel receives token deltas.

    `model` is an alias (`default`, `swift`, `plan`) or a model's catalog name; with `requires`, the
    inference service picks a model that meets the profile (see the resolver) or fails the step with
    `no_qualified_model`.
    """

    kind: Literal["inference_request"] = "inference_request"
    role: Literal["chat"] = "chat"
    model: ModelName = "default"
    requires: ModelRequirements | None = None
    messages: tuple[ChatMessage, ...]
    max_tokens: int = Field(default=256, ge=1, le=8192)
    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    seed: int | None = None
    stream_to: str | None = None
    tools: tuple[ToolSpec, ...] = ()  # offered to the model; it may answer with `tool_calls` instead of text
    # With tools: "auto" (the model decides; the default), "none", "required" (some call), or a tool's name.
    tool_choice: str | None = Field(default=None, max_length=128)

    @model_validator(mode="after")
    def _choice_names_an_offered_tool(self) -> Self:
        choice = self.tool_choice
        if choice and choice not in TOOL_CHOICE_MODES and all(tool.name != choice for tool in self.tools):
            raise ValueError(f"tool_choice {choice!r} is neither {'/'.join(TOOL_CHOICE_MODES)} nor an offered tool")
        return self


class InferenceResult(WireModel):
    kind: Literal["inference_result"] = "inference_result"
    text: str
    finish_reason: str
    model: str
    tool_calls: tuple[ModelToolCall, ...] = ()
    prompt_tokens: int = 0
    completion_tokens: int = 0
    time_to_first_token_s: float | None = None


class ImageRequest(WireModel):
    """An image generation call (the `image` role); the worker stores the images as blobs."""

    kind: Literal["image_request"] = "image_request"
    model: ModelName = "image"
    prompt: str = Field(min_length=1, max_length=2000)
    width: int = Field(default=512, ge=64, le=2048, multiple_of=64)
    height: int = Field(default=512, ge=64, le=2048, multiple_of=64)
    count: int = Field(default=1, ge=1, le=4)
    seed: int | None = None


class ImageResult(WireModel):
    kind: Literal["image_result"] = "image_result"
    images: tuple[AttachmentRef, ...]
    model: str
    revised_prompt: str | None = None  # some providers rewrite the prompt; shown to the user when they do


class VisionRequest(WireModel):
    """Image recognition (the `vision` role): what an image (a stored blob) shows."""

    kind: Literal["vision_request"] = "vision_request"
    model: ModelName = "vision"
    image: AttachmentRef
    top_k: int = Field(default=3, ge=1, le=10)


class EmbedRequest(WireModel):
    """Text embeddings (the `embed` role): one vector per text, for search and memory."""

    kind: Literal["embed_request"] = "embed_request"
    model: ModelName = "embed"
    texts: tuple[Annotated[str, Field(max_length=20_000)], ...] = Field(min_length=1, max_length=64)


class EmbedResult(WireModel):
    """Unit-length vectors, one per text in request order; a text longer than `max_tokens` tokens was read
    only up to that limit."""

    kind: Literal["embed_result"] = "embed_result"
    vectors: tuple[tuple[float, ...], ...]
    model: str
    dimensions: int = Field(ge=1)
    max_tokens: int = Field(ge=1)


class VisionLabel(WireModel):
    kind: Literal["vision_label"] = "vision_label"
    label: str
    score: float = Field(ge=0, le=1)


class VisionResult(WireModel):
    """Labels from a classifier, best first, and/or a caption from a vision-language model."""

    kind: Literal["vision_result"] = "vision_result"
    labels: tuple[VisionLabel, ...] = ()
    caption: str | None = None
    model: str

    def describe(self) -> str:
        """One line a chat model can read: the caption, else the labels with their scores."""
        if self.caption:
            return self.caption
        return ", ".join(f"{label.label} ({label.score:.0%})" for label in self.labels) or "nothing recognised"


class ToolCallContext(WireModel):
    """Where a tool call comes from, for tools that act for a user or a channel (memory, search)."""

    kind: Literal["tool_call_context"] = "tool_call_context"
    activation_id: str
    guild_id: str | None = None
    channel_id: str
    user_id: str


class ToolCall(WireModel):
    kind: Literal["tool_call"] = "tool_call"
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    context: ToolCallContext | None = None


class ToolResult(WireModel):
    kind: Literal["tool_result"] = "tool_result"
    name: str
    output: Any = None


class HistoryWindow(WireModel):
    """The channel history a callsystem read, journaled so a replay sees the same window."""

    kind: Literal["history_window"] = "history_window"
    messages: tuple[HistoryMessage, ...] = ()


class MemoryValue(WireModel):
    """A value read from or written to memory, journaled so a replay sees the same value."""

    kind: Literal["memory_value"] = "memory_value"
    key: str
    value: Any = None


class LaneStats(WireModel):
    """What a model lane can take and how fast it has been: the inputs of a turn plan's prediction.

    `capacity` is how many generations run at once (local: replicas times concurrent requests per
    replica; cloud: the provider's cap). The rates are moving averages of recent requests.
    """

    kind: Literal["lane_stats"] = "lane_stats"
    lane: str  # `local:<deployment>` or `cloud:<provider>`
    local: bool
    capacity: int = Field(ge=1)
    time_to_first_token_s: float = Field(ge=0)
    tokens_per_s: float = Field(gt=0)
    samples: int = 0  # 0: configured guesses, nothing measured yet
    updated_at: float = Field(default_factory=time.time)


class PlanDrop(WireModel):
    kind: Literal["plan_drop"] = "plan_drop"
    persona: str
    reason: str  # a typed bucket, e.g. `all_response_budget_exceeded`


class TurnPlan(WireModel):
    """An agent group's plan for one message: who answers, in which waves, and what it should take.

    A pure function of its inputs (the message, the group, the lane's stats, the budgets), so the same
    input gives the same plan, and an operator can read why a persona did or did not answer.
    """

    kind: Literal["turn_plan"] = "turn_plan"
    speakers: tuple[str, ...]
    waves: tuple[tuple[str, ...], ...]
    lane: str
    max_tokens: int
    predicted_first_s: float
    predicted_all_s: float
    first_budget_s: float
    all_budget_s: float
    dropped: tuple[PlanDrop, ...] = ()
    # False when the lane's figures are old: they still size the answers, but cannot refuse the turn (a refused
    # turn generates nothing, so it would never bring the figures up to date).
    refusable: bool = True

    @property
    def fits(self) -> bool:
        return self.predicted_first_s <= self.first_budget_s and self.predicted_all_s <= self.all_budget_s


StepPayload = Annotated[ToolCall | InferenceRequest | ImageRequest | VisionRequest | EmbedRequest,
                        Field(discriminator="kind")]
StepOutput = Annotated[ToolResult | InferenceResult | ImageResult | VisionResult | EmbedResult | HistoryWindow
                       | MemoryValue | TurnPlan, Field(discriminator="kind")]


class StepRequest(WireModel):
    """A journaled step sent to a worker; `reply_to` is the planner's wake-up channel."""

    kind: Literal["step_request"] = "step_request"
    activation_id: str
    step: str
    reply_to: str
    payload: StepPayload
    queued_at: float = Field(default_factory=time.time)

    @property
    def task_id(self) -> str:
        """Deterministic Celery task id: the same step of the same activation is one task."""
        return f"{self.activation_id}:{self.step}"


class StepResult(WireModel):
    """What a step produced (or the typed error it ended with), as recorded in the journal."""

    kind: Literal["step_result"] = "step_result"
    activation_id: str
    step: str
    output: StepOutput | None = None
    error: ErrorInfo | None = None
    worker: str = ""
    lane: str | None = None  # the lane it waited in, when it waited in one
    attempt: int | None = None  # which delivery of its task ran it (1: the first)
    queued_at: float | None = None
    started_at: float | None = None
    finished_at: float = Field(default_factory=time.time)

    @property
    def ok(self) -> bool:
        return self.error is None


class ReplyDelta(WireModel):
    """The text generated so far for an activation; cumulative, so a lost delta costs nothing."""

    kind: Literal["reply_delta"] = "reply_delta"
    activation_id: str
    seq: int
    text: str


class Reply(WireModel):
    """The final answer (or typed error) for an activation, for the gateway to post."""

    kind: Literal["reply"] = "reply"
    activation_id: str
    guild_id: str | None = None
    channel_id: str
    reply_to_message_id: str
    outcome: Outcome
    text: str = ""
    images: tuple[AttachmentRef, ...] = ()  # blobs sent as attachments with the text
    error: ErrorInfo | None = None
    interaction: InteractionRef | None = None  # answer by editing this command's response
    deliver: bool = True  # False for probes and replays not asked to deliver: recorded, never posted
    replay_of: str | None = None  # the activation this reply replays
    speaker: str | None = None  # the persona that speaks (agent groups), shown with the text
    turn: int | None = None  # a group turn posted before the activation's final reply; None: the final reply
    created_at: float = Field(default_factory=time.time)
    trace_context: dict[str, str] = Field(default_factory=dict)

    @property
    def delivery_id(self) -> str:
        """What posted-once guards: the activation for its final reply, `<activation>.t<n>` for a turn."""
        return self.activation_id if self.turn is None else f"{self.activation_id}.t{self.turn}"


class StepTiming(WireModel):
    kind: Literal["step_timing"] = "step_timing"
    step: str
    queued_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    from_journal: bool = False
    error: ErrorInfo | None = None
    lane: str | None = None  # the lane it waited in: `local:chat`, `cloud:<provider>`, `tools:<name>`
    attempt: int | None = None  # which delivery of the step's task ran it (1: the first)
    result_bytes: int | None = None  # the size of its recorded output, as JSON


UNRESOLVED = "unresolved"  # a record's callsystem (and version, persona) when it failed before one was chosen


class ActivationRecord(WireModel):
    """What happened to an activation: callsystem, steps, outcome, timings and trace."""

    kind: Literal["activation_record"] = "activation_record"
    activation: Activation  # never with the interaction's token: a record is kept for days and served to operators
    callsystem: str
    callsystem_version: str
    persona: str
    planner_id: str
    outcome: Outcome
    error: ErrorInfo | None = None
    trace_id: str | None = None
    started_at: float
    finished_at: float
    steps: tuple[StepTiming, ...] = ()
    notes: tuple[str, ...] = ()  # what the callsystem chose to record, e.g. a fallback it took
    # The final reply, so a replay can tell whether it answers the same; None in records older than this field.
    reply_text: str | None = None
    reply_images: tuple[str, ...] = ()  # sha256 of each image attached to the final reply
    # What the channel allowed when it ran (before the callsystem's own list): a replay runs under the same.
    allowed_tools: tuple[str, ...] | None = None


    @field_validator("activation")
    @classmethod
    def _no_secrets(cls, activation: Activation) -> Activation:
        return activation.without_secrets()

class AuditEntry(WireModel):
    """One operator action on `sb:audit`: who did what to which activation, when, and how."""

    kind: Literal["audit_entry"] = "audit_entry"
    action: Literal["replay", "dead_letter_replay", "dead_letter_purge", "config_update", "persona_update",
                    "persona_delete", "persona_migrate", "quota_update", "guild_purge"]
    operator: str
    # What was acted on: an activation, a dead letter, `guild:<id>`, `channel:<id>`, `persona:<scope>:<name>`.
    target: str
    mode: str | None = None  # a replay's mode: `recorded` or `live`
    callsystem: str | None = None  # the callsystem it ran, `package_id@version`
    deliver: bool = False
    force: bool = False
    result_id: str | None = None  # what the action made: a replay's own activation id
    detail: str | None = None  # e.g. the configuration patch applied, or how many dead letters were purged
    at: float = Field(default_factory=time.time)
