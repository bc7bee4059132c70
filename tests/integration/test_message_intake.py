"""The gateway's message intake against a real Redis: messages decided at the same moment share one round
trip, and each still gets its own channel's config, its own history entry and its own error."""

from __future__ import annotations

import asyncio

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from switchboard.core import keys
from switchboard.core.config import ChannelMode, ConfigPatch, ConfigStore
from switchboard.core.history import ChannelHistory
from switchboard.core.redis_client import connect_async
from switchboard.core.settings import ServiceSettings
from switchboard.core.wire import HistoryMessage
from switchboard.devstack.ports import free_port
from switchboard.gateway.intake import MessageIntake


def said(message_id: str, content: str = "hello") -> HistoryMessage:
    return HistoryMessage(message_id=message_id, author_id="u1", author_name="alice", content=content,
                          created_at=1.0)


async def test_messages_decided_together_each_get_their_channels_config_and_history(redis_url: str) -> None:
    client = connect_async(ServiceSettings(redis_url=redis_url))
    history, config = ChannelHistory(client, limit=3), ConfigStore(client)
    await config.update_guild("g1", ConfigPatch(keywords=("help",)))
    await config.update_channel("c1", ConfigPatch(silent=True))
    await config.update_channel("c2", ConfigPatch(channel_mode=ChannelMode.ALLOW_LIST, channels=("c2",)))
    intake = MessageIntake(client, history, config)

    *c1, c2, thread, dm, own = await asyncio.gather(
        *(intake.record(said(f"c1-{n}"), "g1", "c1") for n in range(4)),
        intake.record(said("c2-0"), "g1", "c2"),
        intake.record(said("t-0"), "g1", "t1", parent_id="c1"),
        intake.record(said("dm-0"), None, "dm1"),
        intake.record(None, "g1", "c2"),  # the bot's own message: read, not recorded
    )

    assert c1 == [await config.resolve("g1", "c1")] * 4 and c1[0].silent and c1[0].keywords == ("help",)
    assert c2.channel_mode == ChannelMode.ALLOW_LIST and not c2.silent
    assert thread.silent  # inherited from its parent channel
    assert dm == config.defaults
    assert own == c2
    assert [m.message_id for m in await history.recent("c1", 10)] == ["c1-1", "c1-2", "c1-3"]  # capped at 3
    assert [m.message_id for m in await history.recent("c2", 10)] == ["c2-0"]
    assert [m.message_id for m in await history.recent("t1", 10)] == ["t-0"]
    await client.aclose()


async def test_one_messages_error_is_its_own(redis_url: str) -> None:
    client = connect_async(ServiceSettings(redis_url=redis_url))
    await client.set(keys.history("broken"), "not a list")
    await client.set(keys.channel_config("garbled"), "{not json")
    intake = MessageIntake(client, ChannelHistory(client, limit=10), ConfigStore(client))

    broken, garbled, fine = await asyncio.gather(
        intake.record(said("m1"), "g1", "broken"), intake.record(said("m2"), "g1", "garbled"),
        intake.record(said("m3"), "g1", "fine"), return_exceptions=True)

    assert isinstance(broken, ResponseError) and "WRONGTYPE" in str(broken)
    assert isinstance(garbled, Exception) and not isinstance(garbled, ResponseError)
    assert fine == ConfigStore(client).defaults
    assert await client.llen(keys.history("fine")) == 1
    assert await client.llen(keys.history("garbled")) == 1  # recorded: only its config failed to parse
    await client.aclose()


async def test_an_unreachable_redis_fails_every_caller_with_a_transient_error() -> None:
    client = connect_async(ServiceSettings(redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    intake = MessageIntake(client, ChannelHistory(client, limit=10), ConfigStore(client))
    outcomes = await asyncio.wait_for(asyncio.gather(
        intake.record(said("m1"), "g1", "c1"), intake.record(said("m2"), "g1", "c2"), return_exceptions=True), 10)
    assert all(isinstance(outcome, RedisConnectionError) for outcome in outcomes)
    with pytest.raises(RedisConnectionError):  # and the next message tries again, alone
        await asyncio.wait_for(intake.record(said("m3"), "g1", "c1"), 10)
    await client.aclose()
