"""An agent group's turn plan for one message: a pure function, so the same input gives the same plan.

Who answers: the personas the message names (in the order it names them), else the whole group.
How: on a local lane, generations run in waves of the lane's capacity; a cloud lane takes them all at
once. What it should take: one generation is predicted as time to first token + tokens ÷ tokens per
second (the lane's moving averages); the first reply lands after the first wave, the last after every
wave, both counted from when the message arrived. When the batch would miss the all-replies budget,
answers are shortened (down to a floor), then the last speakers are dropped, each with the typed
reason why.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from switchboard.core.wire import LaneStats, PlanDrop, TurnPlan

ALL_RESPONSE_BUDGET_EXCEEDED = "all_response_budget_exceeded"


@dataclass(frozen=True)
class Budgets:
    first_s: float = 10.0  # message → first persona's reply
    all_s: float = 30.0  # message → every persona's reply
    max_tokens: int = 120  # per reply, when there is time
    min_tokens: int = 32  # shorter answers are not worth sending


def named_personas(content: str, group: Sequence[str]) -> list[str]:
    """The group's personas the message names (`ada`, `@ada`, `Ada,`), in the order it names them."""
    found = []
    for name in group:
        match = re.search(rf"(?<![\w-])@?{re.escape(name)}(?![\w-])", content, re.IGNORECASE)
        if match:
            found.append((match.start(), name))
    return [name for _, name in sorted(found)]


def plan_turns(content: str, group: Sequence[str], lane: LaneStats, budgets: Budgets, waited_s: float) -> TurnPlan:
    """Plan who answers `content`, in which waves, with how many tokens each; `waited_s` is time already spent."""
    speakers = named_personas(content, group) or list(group)
    dropped: list[PlanDrop] = []
    while True:
        waves = _waves(speakers, lane)
        max_tokens = _tokens_that_fit(lane, budgets, waited_s, len(waves))
        if max_tokens >= budgets.min_tokens or len(speakers) <= 1:
            break
        dropped.insert(0, PlanDrop(persona=speakers.pop(), reason=ALL_RESPONSE_BUDGET_EXCEEDED))
    max_tokens = max(max_tokens, budgets.min_tokens)
    one = _generation_s(lane, max_tokens)
    return TurnPlan(
        speakers=tuple(speakers), waves=tuple(tuple(wave) for wave in waves), lane=lane.lane, max_tokens=max_tokens,
        predicted_first_s=round(waited_s + one, 3), predicted_all_s=round(waited_s + len(waves) * one, 3),
        first_budget_s=budgets.first_s, all_budget_s=budgets.all_s, dropped=tuple(dropped))


def _waves(speakers: list[str], lane: LaneStats) -> list[list[str]]:
    if not speakers:
        return []
    size = lane.capacity if lane.local else len(speakers)
    return [speakers[i:i + size] for i in range(0, len(speakers), size)]


def _generation_s(lane: LaneStats, tokens: int) -> float:
    return lane.time_to_first_token_s + tokens / lane.tokens_per_s


def _tokens_that_fit(lane: LaneStats, budgets: Budgets, waited_s: float, waves: int) -> int:
    """The most tokens per reply (up to the maximum) that let every wave finish within the budget."""
    if waves == 0:
        return budgets.max_tokens
    per_wave_s = (budgets.all_s - waited_s) / waves - lane.time_to_first_token_s
    return min(budgets.max_tokens, max(0, math.floor(per_wave_s * lane.tokens_per_s)))
