"""Messages of one channel are decided in arrival order; channels do not wait for each other."""

from __future__ import annotations

import asyncio
import random

from switchboard.gateway.ordering import ChannelOrder


async def test_one_channel_runs_in_arrival_order_and_channels_overlap() -> None:
    order = ChannelOrder()
    finished: list[tuple[str, int]] = []
    rng = random.Random(3)

    async def handle(channel: str, n: int) -> None:
        async with order.hold(channel):
            for _ in range(rng.randint(0, 5)):  # a varying number of awaits, like Redis round trips
                await asyncio.sleep(0)
            finished.append((channel, n))

    await asyncio.gather(*(handle(channel, n) for n in range(50) for channel in ("a", "b")))
    for channel in ("a", "b"):
        assert [n for c, n in finished if c == channel] == list(range(50))
    assert {c for c, _ in finished[:10]} == {"a", "b"}, "one channel does not wait for the other"
    assert order.active_channels == 0
