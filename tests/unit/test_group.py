"""The group callsystem's logic against an in-memory context: waves, posting, failures, the plan's verdict."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from switchboard.core.errors import FirstResponseBudgetExceeded, ModelUnavailable, Stale, Superseded
from switchboard.core.plugins import Persona
from switchboard.core.wire import (
    Activation,
    HistoryMessage,
    InteractionRef,
    LaneStats,
    Outcome,
    Reply,
    Trigger,
    TurnPlan,
)
from switchboard.planner.callsystems.group import LANE_TRUSTED_FOR_S, Group, own_words
from tests.support.memory_context import MemoryContext

PERSONAS = (Persona("ada", "You are Ada, a mathematician. Time: {time}."),
            Persona("bob", "You are Bob, a sailor.", history_template="[{author}] {content}"),
            Persona("cy", "You are Cy, a poet."))
CPU = LaneStats(lane="local:chat", local=True, capacity=2, time_to_first_token_s=0.1, tokens_per_s=100.0)


class GroupContext(MemoryContext):
    """MemoryContext plus what an agent group uses: the group, a lane, journaled decisions, posted turns."""

    def __init__(self, *args: Any, lane: LaneStats | None = CPU, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.group = PERSONAS
        self.lane_stats = lane
        self.posted: list[tuple[int, str, str]] = []
        self.decisions: list[TurnPlan] = []
        self.group_chatter = 0
        self.newer: str | None = None
        self.followed: list[Activation] = []

    async def lane(self, role: str = "chat") -> LaneStats | None:
        return self.lane_stats

    async def decide(self, name: str, compute: Callable[[], Awaitable[TurnPlan]]) -> TurnPlan:
        self.decisions.append(await compute())
        return self.decisions[-1]

    async def post(self, text: str, *, speaker: str, turn: int) -> None:
        self.posted.append((turn, speaker, text))

    async def newer_in_channel(self) -> str | None:
        return self.newer

    async def follow_up(self, activation: Activation) -> None:
        self.followed.append(activation)


def activation(content: str = "hello everyone", **extra: Any) -> Activation:
    fields = {"trigger": Trigger.CHANNEL, "author_name": "alice", **extra}
    return Activation(id="20", channel_id="c", message_id="20", author_id="u", content=content, **fields)


async def test_every_persona_answers_in_waves_each_posted_as_ready_and_later_waves_read_earlier_ones() -> None:
    history = [HistoryMessage(message_id="1", author_id="b", author_name="bot", from_self=True, speaker="ada",
                              content="Numbers are fun.", created_at=1.0)]
    ctx = GroupContext(activation(), history, ["Ada: Hi alice!", "Ahoy!", "Roses are red."])
    reply = await Group().activate(ctx)
    assert [wave for wave in ctx.decisions[0].waves] == [("ada", "bob"), ("cy",)]
    assert sorted(ctx.posted) == [(0, "ada", "Hi alice!"), (1, "bob", "Ahoy!"), (2, "cy", "Roses are red.")]
    assert reply.outcome == Outcome.REPLIED and reply.text == ""  # the turns carry the words
    ada, bob, cy = ctx.prompts
    assert ada[-1].content.startswith("You are Ada") and "the others: bob, cy" in ada[-1].content
    assert ada[:-1] == bob[:-1] == cy[:-3]  # one opening for all, so a local model reads it once
    assert ada[0].role == "system" and "ada, bob, cy" in ada[0].content and "You are" not in ada[0].content
    assert [(m.role, m.content) for m in ada[1:-1]] == [("user", "ada: Numbers are fun."),
                                                          ("user", "alice: hello everyone")]
    assert not any("Hi alice" in m.content for m in bob)  # same wave: bob does not see ada's answer
    assert [m.content for m in cy[-3:-1]] == ["ada: Hi alice!", "bob: Ahoy!"]  # the next wave does
    assert cy[-1].content.startswith("You are Cy")
    assert any(note.startswith("turn plan:") for note in ctx.notes)


async def test_a_named_persona_answers_alone() -> None:
    ctx = GroupContext(activation("bob, where are we?"), [], ["At sea."])
    await Group().activate(ctx)
    assert ctx.posted == [(0, "bob", "At sea.")]


async def test_a_failing_persona_is_skipped_and_noted_all_failing_fails_the_activation() -> None:
    ctx = GroupContext(activation(), [], ["Hi!", ModelUnavailable("busy"), "A poem."])
    reply = await Group().activate(ctx)
    assert [speaker for _, speaker, _ in sorted(ctx.posted)] == ["ada", "cy"]
    assert reply.outcome == Outcome.REPLIED and "bob did not answer: model_unavailable" in ctx.notes
    failing = GroupContext(activation(), [], [ModelUnavailable("x"), ModelUnavailable("y"), ModelUnavailable("z")])
    with pytest.raises(ModelUnavailable):
        await Group().activate(failing)


async def test_a_plan_that_misses_the_first_reply_budget_is_refused_before_any_model_call() -> None:
    crawling = LaneStats(lane="local:chat", local=True, capacity=1, time_to_first_token_s=30.0, tokens_per_s=1.0)
    ctx = GroupContext(activation(), [], [], lane=crawling)
    with pytest.raises(FirstResponseBudgetExceeded):
        await Group().activate(ctx)
    assert ctx.prompts == [] and ctx.posted == []


async def test_figures_too_old_to_trust_size_the_turn_but_do_not_refuse_it() -> None:
    slow_spell = LaneStats(lane="local:chat", local=True, capacity=1, time_to_first_token_s=30.0, tokens_per_s=1.0,
                           updated_at=time.time() - LANE_TRUSTED_FOR_S - 1)
    ctx = GroupContext(activation(), [], ["One.", "Two.", "Three."], lane=slow_spell)
    await Group().activate(ctx)
    (plan,) = ctx.decisions
    assert not plan.refusable and plan.predicted_first_s > plan.first_budget_s
    assert ctx.posted  # tried anyway: its answers bring the lane's figures up to date


async def test_a_command_or_replay_gets_every_turn_in_one_reply() -> None:
    command = InteractionRef(id="1", application_id="2", token="t", command="replay")
    ctx = GroupContext(activation(interaction=command), [], ["One.", "Two.", "Three."])
    reply: Reply = await Group().activate(ctx)
    assert ctx.posted == []
    assert reply.text == "**ada**: One.\n\n**bob**: Two.\n\n**cy**: Three."


async def test_without_a_group_it_answers_as_legacy() -> None:
    ctx = GroupContext(activation(), [], ["Plain answer."])
    ctx.group = ()
    reply = await Group().activate(ctx)
    assert reply.text == "Plain answer." and ctx.notes[0].startswith("no agent group")


def test_own_words_drops_an_echoed_name_and_lines_written_for_others() -> None:
    personas = {p.name: p for p in PERSONAS}
    assert own_words("**Ada**: Hello there.\nbob: Ahoy!", "ada", personas) == "Hello there."
    assert own_words("  Ahoy, ada!  ", "bob", personas) == "Ahoy, ada!"
    assert own_words("bob: Ahoy!", "ada", personas) == "Ahoy!"  # a head copied from the history's headings


async def test_chatter_queues_one_follow_up_per_round_answered_by_the_next_persona() -> None:
    ctx = GroupContext(activation("bob, ahoy?"), [], ["Ahoy!"])
    ctx.group_chatter = 2
    await Group().activate(ctx)
    (follow,) = ctx.followed
    assert (follow.trigger, follow.chatter_depth, follow.author_name, follow.content) == (
        Trigger.CHATTER, 1, "bob", "Ahoy!")
    assert follow.id == "20.c1" and follow.channel_id == "c"

    chatter = GroupContext(follow, [], ["Bob: a ship!\nada: no", "unused"])
    chatter.group_chatter = 2
    await Group().activate(chatter)
    assert chatter.posted == [(0, "cy", "a ship!")]  # cy follows bob; ada's line is not cy's to write
    assert chatter.prompts[0][-2].content == "bob: Ahoy!"  # bob's words, as cy reads them
    assert [a.id for a in chatter.followed] == ["20.c1.c2"]

    last = GroupContext(chatter.followed[0], [], ["Done."])
    last.group_chatter = 2
    await Group().activate(last)
    assert last.followed == []  # the rounds are spent


async def test_chatter_yields_to_newer_messages_and_is_dropped_when_stale() -> None:
    follow = activation("Ahoy!", trigger=Trigger.CHATTER, author_name="bob", chatter_depth=1)
    waiting = GroupContext(follow, [], ["unused"])
    waiting.newer = "21"
    with pytest.raises(Superseded):
        await Group().activate(waiting)
    old = GroupContext(follow.model_copy(update={"accepted_at": follow.accepted_at - 120}), [], ["unused"])
    with pytest.raises(Stale):
        await Group().activate(old)
    moved_on = GroupContext(follow, [HistoryMessage(message_id="22", author_id="u", author_name="alice",
                                                    content="new topic", created_at=2.0)], ["unused"])
    with pytest.raises(Superseded):
        await Group().activate(moved_on)
    assert waiting.prompts == old.prompts == moved_on.prompts == []
