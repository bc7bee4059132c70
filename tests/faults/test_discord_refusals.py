"""Replies Discord refuses for good (fault 12): a 400, a 401 (an interaction token past its 15 minutes) and a
413 each end in one recorded outcome and one dead letter, are never retried, and leave `sb:replies` trimmable.
Before, only 403 and 404 ended a reply: the rest stayed pending, claimed again every 30 s, for ever."""

from __future__ import annotations

import asyncio

import redis
import redis.asyncio as aioredis

from switchboard.core import keys
from switchboard.core.keys import Group, Stream
from switchboard.core.retention import trim_stream
from switchboard.devstack.stack import Stack
from switchboard.emulator.client import EmulatorClient
from tests.conftest import wait_until

STATUSES = (400, 401, 413)


def test_replies_refused_for_good_end_in_one_dead_letter_each(stack: Stack, emulator: EmulatorClient) -> None:
    store = redis.Redis.from_url(stack.redis_url, decode_responses=True)
    asked = {}
    try:
        for status in STATUSES:
            channel = emulator.create_channel(f"refused-{status}")["id"]
            emulator.add_fault(status, rf"/channels/{channel}/messages$", method="POST", count=100)
            asked[status] = emulator.inject_message(f"refused with {status}", channel_id=channel, author="alice",
                                                    mention_bot=True)["id"]
        wait_until(lambda: all(store.get(keys.posted(i)) == "undeliverable" for i in asked.values()), 60,
                   "every refused reply to be given up")
        served = emulator.faults()["injected"]
    finally:
        emulator.clear_faults()

    letters = [fields for _, fields in store.xrange(Stream.DEAD_LETTERS) if fields["source"] == Stream.REPLIES.value]
    for status, activation_id in asked.items():
        [letter] = [fields for fields in letters if fields.get("activation_id") == activation_id]
        assert letter["reason"].startswith(f"undeliverable: Discord answered {status}"), letter
        assert activation_id in letter["data"]  # the reply itself, to post by hand or replay
    assert served == len(STATUSES)  # one attempt each: a refusal for good is not retried
    pending = store.xpending_range(Stream.REPLIES, Group.GATEWAYS, min="-", max="+", count=1000)
    assert not [p for p in pending if any(i in store.xrange(Stream.REPLIES, p["message_id"], p["message_id"])[0][1]
                                          .get("data", "") for i in asked.values())]

    async def trim() -> int:
        client = aioredis.Redis.from_url(stack.redis_url, decode_responses=True)
        try:
            return await trim_stream(client, Stream.REPLIES, Group.GATEWAYS, max_age_s=0)
        finally:
            await client.aclose()

    asyncio.run(trim())
    left = "".join(fields["data"] for _, fields in store.xrange(Stream.REPLIES))
    assert not any(activation_id in left for activation_id in asked.values())  # nothing holds the stream back
