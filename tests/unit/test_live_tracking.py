"""Past `PRUNE_OVER` tracked activations (a backlog), the gateway forgets only those older than the forget
window: the ones whose replies are still to come keep streaming."""

from __future__ import annotations

from switchboard.core.wire import Activation, Trigger
from switchboard.gateway.live import FORGET_AFTER_S, PRUNE_OVER, LiveReplies


def activation(activation_id: str) -> Activation:
    return Activation(id=activation_id, trigger=Trigger.MENTION, channel_id="c1", message_id=activation_id,
                      author_id="u1", author_name="alice", content="hi")


def test_a_backlog_forgets_only_activations_past_the_forget_window() -> None:
    now = [0.0]
    live = LiveReplies(None, None, 1.0, 60, clock=lambda: now[0])  # type: ignore[arg-type]  # tracking only
    old = [activation(f"old-{n}") for n in range(PRUNE_OVER // 2)]
    for each in old:
        live.track(each)
    now[0] = FORGET_AFTER_S / 2
    live.track(old[0])  # tracked again: as young as the ones that follow
    young = [activation(f"young-{n}") for n in range(PRUNE_OVER)]
    for each in young:
        live.track(each)
    assert all(live.pending(each.id) for each in old + young), "nothing is old enough to forget yet"

    now[0] = FORGET_AFTER_S + 1
    live.track(activation("new"))
    assert [each.id for each in old if live.pending(each.id)] == [old[0].id]
    assert all(live.pending(each.id) for each in young) and live.pending("new")
