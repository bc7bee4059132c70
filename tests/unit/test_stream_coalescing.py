"""A chat replica sends a run of tokens as one chunk: nothing lost, nothing reordered, the first at once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from switchboard.inference.deployments.config import ChatRoleConfig
from switchboard.inference.deployments.protocol import coalesce_deltas, delta_chunk, done_chunk


class TickingClock:
    """Each reading is `step` seconds after the one before: one token per `step`."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def tokens(count: int) -> Iterator[dict]:
    for index in range(count):
        yield delta_chunk(f"t{index} ")
    yield done_chunk("stop", 3, count, "m")


def texts(chunks: list[dict]) -> list[str]:
    return [c["text"] for c in chunks if c["type"] == "delta"]


def test_tokens_within_the_window_go_as_one_chunk_and_the_first_goes_alone() -> None:
    sent = list(coalesce_deltas(tokens(10), window_s=0.05, clock=TickingClock(0.01)))
    assert "".join(texts(sent)) == "".join(f"t{i} " for i in range(10))
    assert texts(sent)[0] == "t0 "
    assert sent[-1]["type"] == "done" and sent[-1]["completion_tokens"] == 10
    assert len(texts(sent)) == 3  # t0 at once; then a chunk every 5 tokens (50 ms); the rest before done


def test_a_window_of_zero_or_slow_tokens_send_every_delta_as_it_comes() -> None:
    assert len(texts(list(coalesce_deltas(tokens(6), window_s=0, clock=TickingClock(0.01))))) == 6
    assert len(texts(list(coalesce_deltas(tokens(6), window_s=0.05, clock=TickingClock(0.2))))) == 6


def test_a_chunk_that_is_not_a_delta_is_never_held_back_nor_overtaken() -> None:
    chunks = [delta_chunk("a"), delta_chunk("b"), {"type": "tool_call", "name": "x"}, delta_chunk("c"),
              done_chunk("stop", 1, 3, "m")]
    sent = list(coalesce_deltas(chunks, window_s=10, clock=TickingClock(0.001)))
    assert [c["type"] for c in sent] == ["delta", "delta", "tool_call", "delta", "done"]
    assert texts(sent) == ["a", "b", "c"]


def test_the_engine_stream_is_not_changed_in_place() -> None:
    first = delta_chunk("a")
    list(coalesce_deltas([first, delta_chunk("b"), delta_chunk("c")], window_s=10, clock=TickingClock(0.001)))
    assert first == delta_chunk("a")


@pytest.mark.parametrize("window", [-0.01, 1.5])
def test_a_window_out_of_range_is_refused(window: float) -> None:
    with pytest.raises(ValueError, match="stream_coalesce_s"):
        ChatRoleConfig(backend="echo", stream_coalesce_s=window)
