"""`cs.switchboard.group`: an agent group, several personas sharing one channel.

For each message it plans a turn batch (`turn_plan.plan_turns`: who answers, in which waves, how
long each answer may be, and whether the 10 s first-reply and 30 s all-replies budgets hold) and
journals the plan, so a resumed or replayed activation follows the same plan. Each wave's answers are
generated together; each is posted as soon as it is ready, headed by its persona's name, and later
waves read the earlier answers. A plan that cannot meet the first-reply budget is refused with a typed
`first_response_budget_exceeded` before any model work starts. A persona whose model call fails is
skipped (and noted); only when every one fails does the activation fail.

Chatter: where the channel allows it (`group_chatter` rounds), the last persona's answer is queued as
a follow-up activation of the channel, and the next persona in the group answers it. Chatter yields to
people: when its turn comes and anything newer waits in the channel, it is dropped (`superseded`), and
chatter that waited past `chatter_stale_s` is dropped too (`stale`); both end silently.

Answers to a slash command or an operator's replay come back as one message, since those are answered
in one place.

Every persona's prompt opens the same way: a scene that names the group, then the channel's history and the
message, each headed by who wrote it; the persona's own instructions come last. A local model reads a
prompt's shared opening once (llama.cpp keeps the longest common prefix of the previous prompt), so the
second and third personas read only their instructions and the earlier answers, not the whole history
again. The price: the history reads the same for every persona (one template, no persona sees its own
earlier words as its own), and a persona's `history_template` does not apply in a group.
"""

from __future__ import annotations

import re
import time
from datetime import date

from switchboard.core.errors import FirstResponseBudgetExceeded, InferenceError, Stale, Superseded
from switchboard.core.lanes import CHAT_ROLE
from switchboard.core.plugins import DEFAULT_HISTORY_TEMPLATE, CallContext, Callsystem, Persona
from switchboard.core.wire import Activation, ChatMessage, HistoryMessage, LaneStats, Outcome, Reply, Trigger, TurnPlan
from switchboard.planner.callsystems.legacy import Legacy, current_time
from switchboard.planner.callsystems.turn_plan import Budgets, plan_turns

# How long a lane's figures may refuse a turn: past this, the model has not answered anything lately (perhaps
# because every turn was refused on a slow spell's figures), so the turn is tried and measures it again.
LANE_TRUSTED_FOR_S = 60.0
# Until the inference service reports its chat lane: one generation at a time, at a slow CPU's pace.
UNMEASURED_LANE = LaneStats(lane="local:chat", local=True, capacity=1, time_to_first_token_s=1.0, tokens_per_s=20.0)
GROUP_SCENE = ("A Discord channel where people talk with a group of personas: {names}. The conversation so far "
               "follows, each message headed by who wrote it.")
GROUP_RULES = ("You are {name}, one of several personas in this Discord channel (the others: {others}). "
               "Answer as {name} only, in one short message; do not write the others' lines.")


class Group(Callsystem):
    package_id = "cs.switchboard.group"
    version = "1.1.0"
    release_date = date(2026, 11, 21)
    capabilities = frozenset({"text"})
    tools = frozenset({"clock"})

    history_limit = 20
    budgets = Budgets()
    chatter_stale_s = 60.0

    async def activate(self, ctx: CallContext) -> Reply:
        if not ctx.group:
            ctx.note(f"no agent group is configured here; answered as {Legacy.key()}")
            return await Legacy().activate(ctx)
        history, now = await ctx.gather(ctx.history(limit=self.history_limit), current_time(ctx))
        if ctx.activation.trigger == Trigger.CHATTER and ctx.activation.replay_of is None:
            await self.still_wanted(ctx, history)
        plan = await ctx.decide("plan", lambda: self.plan(ctx))
        ctx.note(f"turn plan: {plan.model_dump_json(exclude={'kind', 'schema_version'})}")
        if plan.predicted_first_s > plan.first_budget_s and plan.refusable:
            raise FirstResponseBudgetExceeded(
                f"the first reply would take {plan.predicted_first_s:.1f} s (budget {plan.first_budget_s:g} s)")
        batch = Batch(ctx, plan, history, now)
        reply = await batch.run()
        activation = ctx.activation
        if batch.said and activation.chatter_depth < ctx.group_chatter and activation.deliver and not batch.collect:
            await ctx.follow_up(chatter_after(activation, *batch.said[-1]))
        return reply

    async def still_wanted(self, ctx: CallContext, history: list[HistoryMessage]) -> None:
        """Chatter goes only when no person spoke since the message it follows, nobody waits, and it is fresh."""
        if newer := await ctx.newer_in_channel():
            raise Superseded(f"{newer} came in after this chatter, and people go first")
        people = [message for message in history if not message.from_self]
        if people and people[-1].message_id != ctx.activation.message_id:
            raise Superseded(f"{people[-1].author_name} spoke since the message this chatter follows")
        if (waited := time.time() - ctx.activation.accepted_at) > self.chatter_stale_s:
            raise Stale(f"this chatter waited {waited:.0f} s (over {self.chatter_stale_s:g} s)")

    async def plan(self, ctx: CallContext) -> TurnPlan:
        lane = await ctx.lane(CHAT_ROLE) or UNMEASURED_LANE
        waited_s = max(0.0, time.time() - ctx.activation.accepted_at)
        names = [p.name for p in ctx.group]
        if ctx.activation.trigger == Trigger.CHATTER:  # the next persona answers the one that spoke
            after = names.index(ctx.activation.author_name) + 1 if ctx.activation.author_name in names else 0
            names = [names[after % len(names)]]
        plan = plan_turns(ctx.activation.content, names, lane, self.budgets, waited_s)
        return plan.model_copy(update={"refusable": time.time() - lane.updated_at <= LANE_TRUSTED_FOR_S})


def chatter_after(activation: Activation, speaker: str, text: str) -> Activation:
    """The follow-up activation in which the group answers what `speaker` just said."""
    depth = activation.chatter_depth + 1
    return Activation(id=f"{activation.id}.c{depth}", trigger=Trigger.CHATTER, guild_id=activation.guild_id,
                      channel_id=activation.channel_id, thread_parent_id=activation.thread_parent_id,
                      message_id=activation.message_id, author_id=f"persona:{speaker}", author_name=speaker,
                      content=text, chatter_depth=depth, trace_context=activation.trace_context)


class Batch:
    """One message's turns: waves of generations, each answer posted as it is ready."""

    def __init__(self, ctx: CallContext, plan: TurnPlan, history: list[HistoryMessage], now: str) -> None:
        self.ctx, self.plan, self.history, self.now = ctx, plan, history, now
        self.personas = {persona.name: persona for persona in ctx.group}
        # A command or a replay is answered in one place: collect the turns into the final reply.
        self.collect = ctx.activation.interaction is not None or ctx.activation.replay_of is not None
        self.said: list[tuple[str, str]] = []  # (persona, answer) in the order they were ready
        self.failures: list[InferenceError] = []

    async def run(self) -> Reply:
        for wave in self.plan.waves:
            earlier = list(self.said)  # a wave reads the waves before it, not its own members
            await self.ctx.gather(*(self.speak(self.personas[name], earlier) for name in wave))
        if not self.said and self.failures:
            raise self.failures[0]
        if self.collect:
            return self.ctx.reply("\n\n".join(f"**{name}**: {text}" for name, text in self.said),
                                  Outcome.REPLIED if self.said else Outcome.SILENT)
        # Every turn is posted already; the final reply only closes the activation.
        return self.ctx.reply("", Outcome.REPLIED if self.said else Outcome.SILENT)

    async def speak(self, persona: Persona, earlier: list[tuple[str, str]]) -> None:
        try:
            result = await self.ctx.infer(self.prompt(persona, earlier), max_tokens=self.plan.max_tokens, stream=False)
        except InferenceError as exc:
            self.ctx.note(f"{persona.name} did not answer: {exc.code}")
            self.failures.append(exc)
            return
        text = own_words(result.text, persona.name, self.personas)
        if not text:
            self.ctx.note(f"{persona.name} had nothing to say")
            return
        self.said.append((persona.name, text))
        if not self.collect:
            await self.ctx.post(text, speaker=persona.name, turn=self.plan.speakers.index(persona.name))

    def prompt(self, persona: Persona, earlier: list[tuple[str, str]]) -> list[ChatMessage]:
        """The shared opening (scene, history, the message, the earlier waves' answers), then `persona`'s
        instructions."""
        others = ", ".join(name for name in self.personas if name != persona.name) or "none"
        rules = GROUP_RULES.replace("{name}", persona.name).replace("{others}", others)
        instructions = f"{persona.system_prompt(time=self.now, others=others)}\n\n{rules}"
        return [*self.shared_opening(earlier), ChatMessage(role="system", content=instructions)]

    def shared_opening(self, earlier: list[tuple[str, str]]) -> list[ChatMessage]:
        activation = self.ctx.activation
        trigger = HistoryMessage(message_id=activation.message_id, author_id=activation.author_id,
                                 author_name=activation.author_name, content=activation.content,
                                 created_at=activation.accepted_at)
        if activation.trigger == Trigger.CHATTER:  # the persona's words, posted already or about to be
            trigger = trigger.model_copy(update={"from_self": True, "speaker": activation.author_name})
            window = [m for m in self.history if not (m.from_self and m.content == activation.content)]
        else:
            window = [message for message in self.history if message.message_id != activation.message_id]
        window.append(trigger)
        window += [HistoryMessage(message_id=f"{activation.id}.{name}", author_id="", author_name=name, from_self=True,
                                  speaker=name, content=text, created_at=activation.accepted_at)
                   for name, text in earlier]
        scene = GROUP_SCENE.replace("{names}", ", ".join(self.personas))
        return [ChatMessage(role="system", content=scene), *(heard(message) for message in window)]


def heard(message: HistoryMessage) -> ChatMessage:
    """A message as every persona of the group reads it: who wrote it, then what they wrote."""
    author = message.speaker or message.author_name
    return ChatMessage(role="user", content=DEFAULT_HISTORY_TEMPLATE.replace("{author}", author)
                       .replace("{content}", message.content))


def own_words(text: str, name: str, personas: dict[str, Persona]) -> str:
    """The persona's answer without a `Name:` head (its own, or another persona's that a small model copies
    from the history's headings), and cut where it starts writing another's line."""
    names = "|".join(re.escape(persona) for persona in {name, *personas})
    text = re.sub(rf"^\s*\**(?:{names})\**\s*:\s*", "", text.strip(), flags=re.IGNORECASE)
    others = [re.escape(other) for other in personas if other != name]
    if others:
        text = re.split(rf"\n\s*\**(?:{'|'.join(others)})\**\s*:", text, maxsplit=1, flags=re.IGNORECASE)[0]
    return text.strip()
