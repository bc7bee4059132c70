"""Messages of one channel are decided in arrival order; channels do not wait for each other."""

from __future__ import annotations

import asyncio
import logging
import random

import pytest

from switchboard.gateway.ordering import ChannelOrder

DEADLINE_S = 5.0


async def idle(order: ChannelOrder) -> None:
    while order.active_channels:
        await asyncio.sleep(0)


async def test_one_channel_runs_in_arrival_order_and_channels_overlap() -> None:
    finished: list[tuple[str, int]] = []
    all_done = asyncio.Event()
    rng = random.Random(3)

    async def handle(item: tuple[str, int]) -> None:
        for _ in range(rng.randint(0, 5)):  # a varying number of awaits, like Redis round trips
            await asyncio.sleep(0)
        finished.append(item)
        if len(finished) == 100:
            all_done.set()

    order = ChannelOrder(handle)
    for n in range(50):
        for channel in ("a", "b"):
            order.submit(channel, (channel, n))
    assert order.active_channels == 2
    await asyncio.wait_for(all_done.wait(), DEADLINE_S)
    for channel in ("a", "b"):
        assert [n for c, n in finished if c == channel] == list(range(50))
    assert {c for c, _ in finished[:10]} == {"a", "b"}, "one channel does not wait for the other"
    await asyncio.wait_for(idle(order), DEADLINE_S)  # idle channels are forgotten


async def test_a_failing_message_is_logged_and_the_channel_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    handled: list[int] = []
    last = asyncio.Event()

    async def handle(n: int) -> None:
        if n == 1:
            raise RuntimeError("boom")
        handled.append(n)
        if n == 3:
            last.set()

    order = ChannelOrder(handle)
    with caplog.at_level(logging.ERROR, logger="switchboard.gateway.ordering"):
        for n in range(4):
            order.submit("a", n)
        await asyncio.wait_for(last.wait(), DEADLINE_S)
    assert handled == [0, 2, 3]
    assert [str(record.exc_info[1]) for record in caplog.records if record.exc_info] == ["boom"]
    await asyncio.wait_for(idle(order), DEADLINE_S)


async def test_close_stops_the_workers_and_drops_what_waits() -> None:
    started = asyncio.Event()
    handled: list[int] = []

    async def handle(n: int) -> None:
        handled.append(n)
        started.set()
        await asyncio.Event().wait()  # a decision that never ends

    order = ChannelOrder(handle)
    order.submit("a", 1)
    order.submit("a", 2)
    await asyncio.wait_for(started.wait(), DEADLINE_S)
    await asyncio.wait_for(order.close(), DEADLINE_S)
    assert handled == [1] and order.active_channels == 0
