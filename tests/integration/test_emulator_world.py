"""Threads, attachments, reactions, a second guild and shards in the Discord emulator.

Each test runs an in-process ``Emulator`` and a real discord.py client
against it (see ``test_emulator`` for the harness); every wait has a deadline.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib

import aiohttp
import discord
import pytest
from discord.ext import commands

from switchboard.emulator import Emulator, EmulatorClient, EmulatorConfig, EmulatorRequestError
from switchboard.emulator.errors import DiscordError
from switchboard.emulator.state import (
    BOT_USER_ID,
    GENERAL_CHANNEL_ID,
    GUILD_ID,
    LOBBY_CHANNEL_ID,
    OFF_TOPIC_CHANNEL_ID,
    RANDOM_CHANNEL_ID,
    SECOND_GUILD_ID,
)
from tests.support.discord_bot import DEADLINE, BotHarness, point_discord_py_at, running_bot

PNG_BYTES = b"\x89PNG\r\n\x1a\n" + bytes(range(64))


# -- threads ------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_thread_is_announced_and_its_messages_reach_on_message(emulator: Emulator, harness: BotHarness) -> None:
    created = asyncio.create_task(harness.bot.wait_for("thread_create", timeout=DEADLINE))
    await asyncio.sleep(0)  # let wait_for register its listener before the dispatch
    payload = emulator.create_thread("general", "help with tea", author="bob")
    thread = await created
    assert isinstance(thread, discord.Thread)
    assert (thread.id, thread.name, thread.parent_id) == (int(payload["id"]), "help with tea", GENERAL_CHANNEL_ID)
    assert payload["thread_metadata"]["auto_archive_duration"] == 1440 and payload["member_count"] == 1

    injected = emulator.inject_message("how long to steep?", channel_id="help with tea", author="bob")
    message = await harness.next_message()
    assert message.id == int(injected["id"])
    assert isinstance(message.channel, discord.Thread) and message.channel.parent_id == GENERAL_CHANNEL_ID

    await asyncio.wait_for(message.reply("four minutes"), DEADLINE)
    [reply] = emulator.messages(thread.id, author="bot")
    assert reply["content"] == "four minutes" and reply["channel_id"] == str(thread.id)

    fetched = await asyncio.wait_for(harness.bot.fetch_channel(thread.id), DEADLINE)
    assert isinstance(fetched, discord.Thread) and fetched.parent_id == GENERAL_CHANNEL_ID
    assert fetched.message_count == 2 and fetched.owner_id == int(payload["owner_id"])


@pytest.mark.asyncio
async def test_threads_are_listed_on_guild_create_and_validated(emulator: Emulator) -> None:
    thread = emulator.create_thread("lobby", "planning")
    async with running_bot(emulator.config.token) as harness:
        second = harness.bot.get_guild(SECOND_GUILD_ID)
        assert second is not None and [t.id for t in second.threads] == [int(thread["id"])]
    client = EmulatorClient(emulator.url)
    with pytest.raises(EmulatorRequestError) as caught:
        await asyncio.to_thread(client.create_thread, "general", "")
    assert caught.value.status == 400
    with pytest.raises(EmulatorRequestError) as caught:
        await asyncio.to_thread(client.create_thread, thread["id"], "nested")
    assert caught.value.status == 400
    over_http = await asyncio.to_thread(client.create_thread, "random", "via http", author="alice")
    assert over_http["parent_id"] == str(RANDOM_CHANNEL_ID) and over_http["type"] == 11


# -- attachments -----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_injected_attachments_can_be_read_by_discord_py(emulator: Emulator, harness: BotHarness) -> None:
    attachments = [
        {
            "filename": "cat photo.png",
            "content_type": "image/png",
            "data": base64.b64encode(PNG_BYTES).decode(),
            "width": 8,
            "height": 6,
        },
        {"filename": "notes.txt", "data": base64.b64encode(b"plain notes").decode()},
    ]
    emulator.inject_message("look", attachments=attachments)
    message = await harness.next_message()
    image, notes = message.attachments
    assert (image.filename, image.content_type, image.size, image.width, image.height) == (
        "cat photo.png",
        "image/png",
        len(PNG_BYTES),
        8,
        6,
    )
    assert notes.content_type == "text/plain" and notes.width is None
    assert await asyncio.wait_for(image.read(), DEADLINE) == PNG_BYTES
    assert await asyncio.wait_for(notes.read(), DEADLINE) == b"plain notes"


@pytest.mark.asyncio
async def test_attachments_over_the_control_api(emulator: Emulator, harness: BotHarness) -> None:
    client = EmulatorClient(emulator.url)
    sent = await asyncio.to_thread(
        client.inject_message, "from afar", attachments=[{"filename": "data.bin", "data": b"\x00\x01\x02"}]
    )
    assert sent["attachments"][0]["url"].startswith(emulator.url)
    message = await harness.next_message()
    assert await asyncio.wait_for(message.attachments[0].read(), DEADLINE) == b"\x00\x01\x02"
    with pytest.raises(EmulatorRequestError) as caught:
        await asyncio.to_thread(client.inject_message, "bad", attachments=[{"filename": "x", "data": "%%%"}])
    assert caught.value.status == 400


# -- reactions ------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_reactions_are_recorded_and_dispatched(emulator: Emulator, harness: BotHarness) -> None:
    emulator.inject_message("careful now", author="bob")
    message = await harness.next_message()
    reacted = asyncio.create_task(harness.bot.wait_for("raw_reaction_add", timeout=DEADLINE))
    await asyncio.sleep(0)
    await asyncio.wait_for(message.add_reaction("⚠️"), DEADLINE)
    await asyncio.wait_for(message.add_reaction("⚠️"), DEADLINE)  # again: no change
    raw = await reacted
    assert (raw.user_id, raw.message_id, str(raw.emoji)) == (BOT_USER_ID, message.id, "⚠️")

    [reaction] = emulator.message(message.id)["reactions"]
    assert reaction["emoji"] == {"id": None, "name": "⚠️"} and reaction["count"] == 1 and reaction["me"] is True
    assert reaction["user_ids"] == [str(BOT_USER_ID)]
    fetched = await asyncio.wait_for(message.channel.fetch_message(message.id), DEADLINE)
    assert [(str(r.emoji), r.count, r.me) for r in fetched.reactions] == [("⚠️", 1, True)]

    await asyncio.wait_for(message.remove_reaction("⚠️", harness.bot.user), DEADLINE)
    assert emulator.message(message.id)["reactions"] == []
    events = [(e["type"], e["emoji"], e["changed"]) for e in emulator.events() if e["type"].startswith("reaction_")]
    assert events == [("reaction_add", "⚠️", True), ("reaction_add", "⚠️", False), ("reaction_remove", "⚠️", True)]

    with pytest.raises(discord.HTTPException) as caught:
        await asyncio.wait_for(message.add_reaction("not_an_emoji"), DEADLINE)
    assert (caught.value.status, caught.value.code) == (400, 10014)


# -- the second guild ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_second_guild_is_seeded_and_usable(emulator: Emulator, harness: BotHarness) -> None:
    second = harness.bot.get_guild(SECOND_GUILD_ID)
    assert second is not None and second.name == "Second Guild"
    assert [(c.id, c.name) for c in second.text_channels] == [
        (LOBBY_CHANNEL_ID, "lobby"),
        (OFF_TOPIC_CHANNEL_ID, "off-topic"),
    ]
    assert second.owner_id == emulator.world.guild.owner_id and second.member_count == 3

    emulator.inject_message("hello over here", channel_id="lobby", author="bob")
    message = await harness.next_message()
    assert message.guild is not None and message.guild.id == SECOND_GUILD_ID
    await asyncio.wait_for(message.channel.send("hi bob"), DEADLINE)
    assert [m["content"] for m in emulator.messages("lobby", author="bot")] == ["hi bob"]

    with pytest.raises(DiscordError) as caught:  # otherbot is not a member of Second Guild
        emulator.inject_message("let me in", channel_id="lobby", author="otherbot")
    assert caught.value.code == 50001
    assert {g["name"] for g in emulator.state()["guilds"]} == {"Test Guild", "Second Guild"}


@pytest.mark.asyncio
async def test_second_guild_can_be_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    async with Emulator(EmulatorConfig(second_guild=False)) as emulator:
        point_discord_py_at(monkeypatch, emulator.url)
        async with running_bot(emulator.config.token) as harness:
            assert [g.id for g in harness.bot.guilds] == [GUILD_ID]


# -- shards ----------------------------------------------------------------------------------------


class QuickShardedBot(commands.AutoShardedBot):
    """discord.py waits 5 s before identifying each shard after the first; the emulator has no such limit."""

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None


@pytest.mark.asyncio
async def test_each_guild_arrives_on_its_own_shard(monkeypatch: pytest.MonkeyPatch) -> None:
    config = EmulatorConfig(shard_count=2, max_concurrency=2)
    async with Emulator(config) as emulator:
        point_discord_py_at(monkeypatch, emulator.url)
        headers = {"Authorization": f"Bot {config.token}"}
        async with aiohttp.ClientSession(headers=headers) as http, http.get(f"{emulator.api_base}/gateway/bot") as got:
            gateway = await got.json()
        assert gateway["shards"] == 2 and gateway["session_start_limit"]["max_concurrency"] == 2

        intents = discord.Intents.default()
        intents.message_content = True
        bot = QuickShardedBot(command_prefix="!", intents=intents, guild_ready_timeout=0.05)
        messages: asyncio.Queue[discord.Message] = asyncio.Queue()
        bot.add_listener(messages.put, "on_message")
        runner = asyncio.create_task(bot.start(config.token))
        try:
            await asyncio.wait_for(bot.wait_until_ready(), DEADLINE)
            assert bot.shard_count == 2 and sorted(bot.shards) == [0, 1]
            expected = {GUILD_ID: (GUILD_ID >> 22) % 2, SECOND_GUILD_ID: (SECOND_GUILD_ID >> 22) % 2}
            assert set(expected.values()) == {0, 1}  # the seeded guilds really are on different shards
            assert {g.id: g.shard_id for g in bot.guilds} == expected

            sessions = {tuple(s["shard"]): s for s in emulator.state()["sessions"]}
            assert set(sessions) == {(0, 2), (1, 2)}
            for guild_id, shard_id in expected.items():
                assert sessions[(shard_id, 2)]["guild_ids"] == [str(guild_id)]

            emulator.inject_message("to the first guild", channel_id="general")
            emulator.inject_message("to the second guild", channel_id="lobby")
            emulator.inject_message("a direct message", dm=True)
            received = [await asyncio.wait_for(messages.get(), DEADLINE) for _ in range(3)]
            assert sorted(m.content for m in received) == [
                "a direct message",
                "to the first guild",
                "to the second guild",
            ]
            sessions = {tuple(s["shard"]): s for s in emulator.state()["sessions"]}
            # Guild events on the guild's shard, DMs on shard 0.
            shard_of_first = expected[GUILD_ID]
            assert sessions[(shard_of_first, 2)]["dispatch_counts"].get("MESSAGE_CREATE", 0) == 1
            assert sessions[(1 - shard_of_first, 2)]["dispatch_counts"].get("MESSAGE_CREATE", 0) == 2
        finally:
            await asyncio.wait_for(bot.close(), DEADLINE)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(runner, DEADLINE)
