"""The agent group's turn plan: who answers, waves, budgets; the same input always gives the same plan."""

from __future__ import annotations

from switchboard.core.wire import LaneStats
from switchboard.planner.callsystems.turn_plan import (
    ALL_RESPONSE_BUDGET_EXCEEDED,
    Budgets,
    named_personas,
    plan_turns,
)

GROUP = ["ada", "bob", "cy"]
CPU = LaneStats(lane="local:chat", local=True, capacity=1, time_to_first_token_s=0.2, tokens_per_s=100.0)
GPU = CPU.model_copy(update={"lane": "local:chat-gpu", "capacity": 2})
CLOUD = LaneStats(lane="cloud:openai", local=False, capacity=4, time_to_first_token_s=0.5, tokens_per_s=60.0)


def test_named_personas_answer_in_the_order_named_else_everyone() -> None:
    assert named_personas("@cy what does ada think?", GROUP) == ["cy", "ada"]
    assert named_personas("Bob, hello", GROUP) == ["bob"]
    assert named_personas("bobby and cyan are not personas", GROUP) == []
    assert plan_turns("hello all", GROUP, CPU, Budgets(), 0).speakers == ("ada", "bob", "cy")
    assert plan_turns("cy?", GROUP, CPU, Budgets(), 0).speakers == ("cy",)


def test_local_generations_run_in_waves_of_the_lane_capacity_cloud_ones_at_once() -> None:
    assert plan_turns("hi", GROUP, CPU, Budgets(), 0).waves == (("ada",), ("bob",), ("cy",))
    assert plan_turns("hi", GROUP, GPU, Budgets(), 0).waves == (("ada", "bob"), ("cy",))
    assert plan_turns("hi", GROUP, CLOUD, Budgets(), 0).waves == (("ada", "bob", "cy"),)


def test_predictions_count_every_wave_and_the_time_already_waited() -> None:
    plan = plan_turns("hi", GROUP, CPU, Budgets(max_tokens=100), waited_s=0.5)
    one = 0.2 + 100 / 100.0
    assert plan.max_tokens == 100
    assert plan.predicted_first_s == round(0.5 + one, 3)
    assert plan.predicted_all_s == round(0.5 + 3 * one, 3)
    assert plan.fits and not plan.dropped


def test_answers_are_shortened_to_fit_the_all_replies_budget() -> None:
    slow = CPU.model_copy(update={"tokens_per_s": 10.0})  # 3 waves of 120 tokens would take ~37 s
    plan = plan_turns("hi", GROUP, slow, Budgets(all_s=30, max_tokens=120, min_tokens=32), 0)
    assert plan.speakers == ("ada", "bob", "cy")
    assert 32 <= plan.max_tokens < 120
    assert plan.predicted_all_s <= 30 and plan.fits


def test_speakers_are_dropped_with_a_typed_reason_when_short_answers_do_not_fit() -> None:
    crawl = CPU.model_copy(update={"tokens_per_s": 2.0, "time_to_first_token_s": 1.0})
    plan = plan_turns("hi", GROUP, crawl, Budgets(all_s=30, max_tokens=120, min_tokens=32), 0)
    assert plan.speakers == ("ada",)
    assert [(d.persona, d.reason) for d in plan.dropped] == [("bob", ALL_RESPONSE_BUDGET_EXCEEDED),
                                                             ("cy", ALL_RESPONSE_BUDGET_EXCEEDED)]
    assert plan.max_tokens >= 32


def test_a_plan_that_cannot_meet_the_first_reply_budget_says_so() -> None:
    plan = plan_turns("hi", GROUP, CPU, Budgets(first_s=10), waited_s=12)
    assert plan.predicted_first_s > plan.first_budget_s
    assert not plan.fits


def test_the_same_input_gives_the_same_plan() -> None:
    plans = {plan_turns("bob and ada, thoughts?", GROUP, lane, Budgets(), 1.25).to_json()
             for lane in (GPU, GPU.model_copy()) for _ in range(3)}
    assert len(plans) == 1
