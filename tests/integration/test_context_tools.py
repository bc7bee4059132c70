"""Tools that act for a user or a channel: remember/recall and channel_search, against a real Redis."""

from __future__ import annotations

import asyncio

import pytest
import redis

from switchboard.core import keys
from switchboard.core.errors import InvalidToolArguments, LimitReached, ToolError
from switchboard.core.memory import MemoryLimits, MemoryStore
from switchboard.core.redis_client import connect_async
from switchboard.core.settings import ServiceSettings
from switchboard.core.wire import HistoryMessage, ToolCallContext
from switchboard.tools.builtin import builtin_tools
from switchboard.tools.registry import ToolRegistry

ALICE = ToolCallContext(activation_id="a1", guild_id="g", channel_id="c1", user_id="alice")
BOB = ToolCallContext(activation_id="a2", guild_id="g", channel_id="c2", user_id="bob")


@pytest.fixture
def tools(redis_url: str) -> ToolRegistry:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    return ToolRegistry(builtin_tools(client), enabled=("remember", "recall", "channel_search"))


def test_memory_is_per_user_and_shared_with_the_callsystem_api(tools: ToolRegistry, redis_url: str) -> None:
    remembered = tools.call("remember", {"key": "favourite colour", "value": "teal"}, ALICE)
    assert remembered == {"remembered": "favourite colour"}
    assert tools.call("recall", {"key": "favourite colour"}, ALICE)["value"] == "teal"
    assert tools.call("recall", {"key": "favourite colour"}, BOB)["value"] is None
    store = MemoryStore(connect_async(ServiceSettings(redis_url=redis_url)))
    assert asyncio.run(store.get("g", "user", "alice", "favourite colour")) == "teal"
    elsewhere = ALICE.model_copy(update={"guild_id": "another-guild"})  # the same user in another server
    assert tools.call("recall", {"key": "favourite colour"}, elsewhere)["value"] is None


def test_remembering_past_the_cap_is_a_typed_refusal_the_model_reads(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    tools = ToolRegistry(builtin_tools(client, memory_limits=MemoryLimits(max_fields=2, ttl_s=60)),
                         enabled=("remember",))
    for key in ("a", "b"):
        tools.call("remember", {"key": key, "value": "v"}, ALICE)
    with pytest.raises(LimitReached, match="2 notes are kept at most"):
        tools.call("remember", {"key": "c", "value": "v"}, ALICE)
    assert client.hlen(keys.memory("g", "user", "alice")) == 2 and client.ttl(keys.memory("g", "user", "alice")) <= 60


def test_memory_tools_need_to_know_who_is_asking(tools: ToolRegistry) -> None:
    with pytest.raises(ToolError, match="acts for a user"):
        tools.call("recall", {"key": "x"})
    with pytest.raises(InvalidToolArguments):
        tools.call("remember", {"key": "no/slashes", "value": "v"}, ALICE)


def test_channel_search_finds_all_words_in_this_channel_only(tools: ToolRegistry, redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    for i, (channel, text) in enumerate([("c1", "the deploy is on Friday"), ("c1", "lunch at noon"),
                                         ("c1", "Friday deploy moved to Monday"), ("c2", "deploy Friday too")]):
        client.lpush(keys.history(channel), HistoryMessage(message_id=str(i), author_id="u", author_name="bob",
                                                           content=text, created_at=float(i)).to_json())
    found = tools.call("channel_search", {"query": "friday DEPLOY"}, ALICE)["matches"]
    assert [m["message_id"] for m in found] == ["2", "0"]  # newest first, this channel only
    assert tools.call("channel_search", {"query": "deploy", "limit": 1}, ALICE)["matches"][0]["message_id"] == "2"
