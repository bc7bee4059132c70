"""`StepContext`: the planner's implementation of the callsystem standard library (`CallContext`).

Every effect is a step with a deterministic key (`history:0`, `tool:clock:0`, `infer:0`). Before doing
anything the context looks in the journal: a recorded result is returned as it is (how a planner that
took over an activation resumes, and how replay works); otherwise the step runs (locally, or as a
Celery task with id `<activation>:<step>`) and its result is journaled first-writer-wins.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import redis.asyncio as aioredis

from switchboard.core import keys
from switchboard.core.activation_queue import ActivationQueue
from switchboard.core.blobs import BlobStore
from switchboard.core.errors import StepTimeout, Superseded, SwitchboardError, ToolFanoutExceeded, ToolNotAllowed
from switchboard.core.history import ChannelHistory
from switchboard.core.journal import Journal
from switchboard.core.lanes import LaneBoard
from switchboard.core.memory import MemoryScope, MemoryStore
from switchboard.core.metrics import Metrics
from switchboard.core.plugins import DEFAULT_MAX_TOOL_CALLS_PER_ROUND, Persona
from switchboard.core.role_tools import ROLE_TOOLS, RoleTool, offered, role_request
from switchboard.core.tool_catalog import ToolCatalog
from switchboard.core.tracing import tracer
from switchboard.core.usage import Usage, usage_of
from switchboard.core.wire import (
    Activation,
    AttachmentRef,
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
    LaneStats,
    MemoryValue,
    ModelRequirements,
    Outcome,
    Reply,
    StepOutput,
    StepPayload,
    StepRequest,
    StepResult,
    StepTiming,
    ToolCall,
    ToolCallContext,
    ToolResult,
    ToolSpec,
    TurnPlan,
    VisionRequest,
    VisionResult,
)
from switchboard.planner.dispatch import StepDispatcher
from switchboard.planner.replies import ReplyWriter
from switchboard.planner.turns import ChannelTurns
from switchboard.planner.waiter import StepWaiter

T = TypeVar("T")
MAX_RESENDS = 2  # copies of one step's task the planner sends when no worker starts it
log = logging.getLogger("switchboard.callsystem")


class Supersession:
    """Whether a newer message replaced an activation (the gateway's interrupt and merge policies)."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._redis = client

    async def check(self, activation_id: str) -> None:
        """Raise `Superseded` when the activation was replaced."""
        if by := await self._redis.get(keys.superseded(activation_id)):
            raise Superseded(f"activation {activation_id} was replaced by {by}")


@dataclass(frozen=True)
class ContextServices:
    """What every StepContext of one planner shares."""

    journal: Journal
    waiter: StepWaiter
    dispatcher: StepDispatcher
    history: ChannelHistory
    metrics: Metrics
    step_timeout_s: float
    supersession: Supersession
    blobs: BlobStore
    memory: MemoryStore
    tools: ToolCatalog
    replies: ReplyWriter
    lanes: LaneBoard
    queue: ActivationQueue
    turns: ChannelTurns
    step_resend_after_s: float = 30.0  # see `StepContext._send_and_wait`


class StepContext:
    def __init__(self, activation: Activation, persona: Persona, services: ContextServices,
                 allowed_tools: frozenset[str] = frozenset(), group: tuple[Persona, ...] = (),
                 group_chatter: int = 0) -> None:
        """`allowed_tools`: what both the callsystem and the channel's config allow (deny by default);
        `group`: the personas of the channel's agent group, if it has one, and `group_chatter` how many
        follow-up rounds they may answer each other."""
        self.activation = activation
        self.persona = persona
        self.group = group
        self.group_chatter = group_chatter
        self.allowed_tools = allowed_tools
        self.max_tool_calls_per_round = DEFAULT_MAX_TOOL_CALLS_PER_ROUND  # the callsystem's own, once resolved
        self._round_tool_calls = 0  # tool calls since the last model call
        self._services = services
        self.blobs = services.blobs  # content-addressed, so reads need no journaling
        self.log = logging.LoggerAdapter(log, {"activation_id": activation.id})
        self.tracer = tracer()
        self._counters: Counter[str] = Counter()
        self.timings: list[StepTiming] = []
        self.notes: list[str] = []
        self.usage = Usage()  # what the steps this context ran cost (not those read back from the journal)

    async def history(self, limit: int = 20) -> list[HistoryMessage]:
        channel = self.activation.channel_id

        async def read() -> HistoryWindow:
            return HistoryWindow(messages=tuple(await self._services.history.recent(channel, limit)))

        result = await self._local_step(self._next_key("history"), read)
        return list(_output(result, HistoryWindow).messages)

    async def infer(self, messages: list[ChatMessage], *, max_tokens: int = 256, temperature: float = 0.7,
                    stream: bool = True, tools: Sequence[ToolSpec] = (), model: str = "default",
                    requires: ModelRequirements | None = None, tool_choice: str | None = None) -> InferenceResult:
        """A chat completion on `model` (an alias such as `default`, `swift`, `plan`, or a catalog name); with
        `requires`, on a model that meets the profile (the inference service fails it `no_qualified_model`
        when none does). With `tools`, `tool_choice` is "auto" (default), "none", "required" or a tool's name.
        Token deltas stream to the activation's live channel unless `stream` is off."""
        request = InferenceRequest(messages=tuple(messages), max_tokens=max_tokens, temperature=temperature,
                                   stream_to=self.activation.id if stream else None, tools=tuple(tools),
                                   model=model, requires=requires, tool_choice=tool_choice)
        self._round_tool_calls = 0
        result = await self._remote_step(self._next_key("infer"), request)
        return _output(result, InferenceResult)

    async def imagine(self, prompt: str, *, width: int = 512, height: int = 512) -> ImageResult:
        """Generate images (the `image` role); they come back as blobs, ready to attach to the reply."""
        request = ImageRequest(prompt=prompt[:2000], width=width, height=height)
        return _output(await self._remote_step(self._next_key("image"), request), ImageResult)

    async def describe_image(self, image: AttachmentRef, *, top_k: int = 3) -> VisionResult:
        """What an image shows (the `vision` role): labels and/or a caption."""
        return _output(await self._remote_step(self._next_key("vision"), VisionRequest(image=image, top_k=top_k)),
                       VisionResult)

    async def embed(self, texts: Sequence[str], *, model: str = "embed") -> EmbedResult:
        """Unit-length vectors for `texts`, in order (the `embed` role)."""
        return _output(await self._remote_step(self._next_key("embed"), EmbedRequest(model=model, texts=tuple(texts))),
                       EmbedResult)

    async def tool_specs(self) -> list[ToolSpec]:
        """The tools this activation may call (callsystem ∩ channel config), as a model is shown them."""
        return await self._services.tools.specs(frozenset(n for n in self.allowed_tools if offered(n, self.activation)))

    async def lane(self, role: str = "chat") -> LaneStats | None:
        """The role's lane as the inference service last reported it (None before it reports).

        A live reading: use it inside `decide`, so a resumed or replayed activation decides the same.
        """
        return await self._services.lanes.get(role)

    async def decide(self, name: str, compute: Callable[[], Awaitable[TurnPlan]]) -> TurnPlan:
        """A decision that depends on the moment (a turn plan from the lanes' load), made once and journaled."""
        return _output(await self._local_step(self._next_key(name), compute), TurnPlan)

    async def post(self, text: str, *, speaker: str, turn: int) -> None:
        """Post one turn of an agent group now, before the activation's final reply (posted once)."""
        turn_reply = self.reply(text).model_copy(update={"speaker": speaker, "turn": turn})

        async def write() -> MemoryValue:
            await self._services.replies.write_turn(turn_reply)
            return MemoryValue(key="post", value=turn_reply.delivery_id)

        await self._local_step(f"post:{turn}", write)  # keyed by turn: waves finish in any order

    async def newer_in_channel(self) -> str | None:
        """An activation of this channel that arrived after this one and is still in flight, if any."""
        return await self._services.turns.later(self.activation)

    async def follow_up(self, activation: Activation) -> None:
        """Queue an activation of our own (an agent group's chatter), in the channel's order, once."""
        async def enqueue() -> MemoryValue:
            await self._services.queue.enqueue(activation)
            return MemoryValue(key="follow_up", value=activation.id)

        await self._local_step(self._next_key("follow_up"), enqueue)

    def note(self, text: str) -> None:
        """Keep a remark on the activation record (e.g. "fell back to legacy: ...")."""
        self.notes.append(text)

    async def tool(self, name: str, arguments: dict[str, Any]) -> Any:
        """Run a tool; a call that is not allowed or has bad arguments is refused before any task exists.

        Tools backed by a model role (`imagine`, `describe_image`) run here as role steps (`image:N`,
        `vision:N`) and return their typed result (`ImageResult`, `VisionResult`). Calls past
        `max_tool_calls_per_round` since the last model call are refused (`ToolFanoutExceeded`, journaled);
        counted before the first await, so which calls of a wave are refused follows argument order.
        """
        self._round_tool_calls += 1
        call_number = self._round_tool_calls

        async def check() -> None:
            if call_number > self.max_tool_calls_per_round:
                raise ToolFanoutExceeded(f"{name!r} refused: at most {self.max_tool_calls_per_round} tool calls "
                                         "per model round")
            if name not in self.allowed_tools:
                raise ToolNotAllowed(f"{name!r} is not allowed here (allowed: {', '.join(sorted(self.allowed_tools))})")
            await self._services.tools.check(name, arguments)

        if (role_tool := ROLE_TOOLS.get(name)) is not None:
            return await self._role_tool(role_tool, arguments, check)
        step = self._next_key(f"tool:{name}")
        a = self.activation
        where = ToolCallContext(activation_id=a.id, guild_id=a.guild_id, channel_id=a.channel_id, user_id=a.author_id)
        result = await self._remote_step(step, ToolCall(name=name, arguments=arguments, context=where), check)
        return _output(result, ToolResult).output

    async def _role_tool(self, tool: RoleTool, arguments: dict[str, Any],
                         check: Callable[[], Awaitable[None]]) -> ImageResult | VisionResult:
        async def check_all() -> None:
            await check()
            role_request(tool, arguments, self.activation)  # the image asked for is attached

        step = self._next_key(tool.role)
        result = await self._remote_step(step, lambda: role_request(tool, arguments, self.activation), check_all)
        return _output(result, ImageResult if tool.role == "image" else VisionResult)

    async def gather(self, *steps: Awaitable[T]) -> list[T]:
        """Run steps as one parallel wave. Step keys are taken in argument order, so they stay deterministic."""
        return list(await asyncio.gather(*steps))

    async def recall(self, key: str, *, scope: MemoryScope = "user") -> Any:
        """What was remembered under `key` for the author (or the channel); None if nothing."""
        owner = self._owner(scope)

        async def read() -> MemoryValue:
            return MemoryValue(key=key, value=await self._services.memory.get(self.activation.guild_id, scope, owner,
                                                                              key))

        return _output(await self._local_step(self._next_key(f"recall:{scope}"), read), MemoryValue).value

    async def remember(self, key: str, value: Any, *, scope: MemoryScope = "user") -> None:
        """Keep a JSON value for the author (or the channel), for later activations."""
        owner = self._owner(scope)

        async def write() -> MemoryValue:
            await self._services.memory.set(self.activation.guild_id, scope, owner, key, value)
            return MemoryValue(key=key, value=value)

        await self._local_step(self._next_key(f"remember:{scope}"), write)

    async def forget_history(self) -> None:
        """Clear the channel's history (journaled: done once even if the activation is resumed)."""
        async def clear() -> MemoryValue:
            await self._services.history.clear(self.activation.channel_id)
            return MemoryValue(key="history", value=None)

        await self._local_step(self._next_key("forget"), clear)

    def _owner(self, scope: MemoryScope) -> str:
        return self.activation.author_id if scope == "user" else self.activation.channel_id

    def reply(self, text: str, outcome: Outcome = Outcome.REPLIED, images: tuple[AttachmentRef, ...] = ()) -> Reply:
        """The reply to this activation: in its channel, or to the command or operator that asked for it."""
        a = self.activation
        return Reply(activation_id=a.id, guild_id=a.guild_id, channel_id=a.channel_id,
                     reply_to_message_id=a.message_id, outcome=outcome, text=text, images=images,
                     interaction=a.interaction, deliver=a.deliver, replay_of=a.replay_of)

    def _next_key(self, kind: str) -> str:
        key = f"{kind}:{self._counters[kind]}"
        self._counters[kind] += 1
        return key

    async def _local_step(self, step: str, compute: Callable[[], Awaitable[StepOutput]]) -> StepResult:
        with tracer().start_as_current_span(f"step {step}"):
            if (recorded := await self._recorded(step)) is not None:
                return recorded
            started = time.time()
            result = StepResult(activation_id=self.activation.id, step=step, output=await compute(),
                                worker="planner", started_at=started)
            if not await self._services.journal.record(result):
                result = await self._services.journal.get(self.activation.id, step) or result
            return self._finish(result, from_journal=False)

    async def _remote_step(self, step: str, payload: StepPayload | Callable[[], StepPayload],
                           check: Callable[[], Awaitable[None]] | None = None) -> StepResult:
        """`payload` may be a function, built only once `check` passed (its arguments may be invalid)."""
        with tracer().start_as_current_span(f"step {step}"):
            if (recorded := await self._recorded(step)) is not None:
                return recorded
            await self._services.supersession.check(self.activation.id)  # no new work for a replaced activation
            if check is not None:
                await self._refuse_unless(step, check)
            request = StepRequest(activation_id=self.activation.id, step=step,
                                  reply_to=self._services.waiter.channel,
                                  payload=payload() if callable(payload) else payload)
            return self._finish(await self._send_and_wait(request), from_journal=False)

    async def _send_and_wait(self, request: StepRequest) -> StepResult:
        """Send the step's task and wait for its result; send it again while no worker has started it.

        A copy is sent at most `MAX_RESENDS` times, each after `step_resend_after_s` with no delivery begun:
        a task can vanish with a worker killed between taking it and noting it unacknowledged, and nothing
        but the sender knows it was ever sent. A copy of a task that did arrive is skipped by the workers.
        """
        services, loop = self._services, asyncio.get_running_loop()
        deadline = loop.time() + services.step_timeout_s
        await services.dispatcher.send(request)
        resends = 0
        while True:
            window = min(services.step_resend_after_s, deadline - loop.time())
            with contextlib.suppress(StepTimeout):
                return await services.waiter.wait(request.activation_id, request.step, max(0.0, window))
            if loop.time() >= deadline:
                raise StepTimeout(f"step {request.step} of {request.activation_id} not done after "
                                  f"{services.step_timeout_s:g} s")
            if resends < MAX_RESENDS and not await services.journal.started(request.activation_id, request.step):
                self.log.warning("step %s not started after %g s; sending it again", request.step, window)
                services.metrics.steps.labels(kind=request.step.split(":", 1)[0], result="resent").inc()
                await services.dispatcher.send(request)
                resends += 1

    async def _refuse_unless(self, step: str, check: Callable[[], Awaitable[None]]) -> None:
        """Run `check`; a refusal is journaled like any result (a replay sees the same refusal), then raised."""
        try:
            await check()
        except SwitchboardError as exc:
            refusal = StepResult(activation_id=self.activation.id, step=step, error=ErrorInfo.of(exc), worker="planner")
            await self._services.journal.record(refusal)
            self._finish(refusal, from_journal=False)

    async def _recorded(self, step: str) -> StepResult | None:
        recorded = await self._services.journal.get(self.activation.id, step)
        return None if recorded is None else self._finish(recorded, from_journal=True)

    def _finish(self, result: StepResult, from_journal: bool) -> StepResult:
        kind = result.step.split(":", 1)[0]
        self.timings.append(StepTiming(
            step=result.step, queued_at=result.queued_at, started_at=result.started_at,
            finished_at=result.finished_at, from_journal=from_journal, error=result.error, lane=result.lane,
            attempt=result.attempt, result_bytes=len(result.output.to_json()) if result.output is not None else None))
        self._services.metrics.steps.labels(kind=kind, result="journal" if from_journal else "ran").inc()
        if not from_journal:
            self.usage += usage_of(result)
        if not from_journal and result.queued_at is not None:
            self._services.metrics.hop_duration.labels(hop=f"step_{kind}").observe(
                result.finished_at - result.queued_at)
        if result.error is not None:
            raise result.error.to_exception()
        return result


def _output(result: StepResult, expected: type[T]) -> T:
    if not isinstance(result.output, expected):
        raise TypeError(f"step {result.step} recorded {type(result.output).__name__}, expected {expected.__name__}")
    return result.output
