"""The Discord emulator, exercised by a real, unmodified discord.py client.

Each test runs an in-process ``Emulator`` and a ``commands.Bot`` pointed at
it (``Route.BASE`` and ``DEFAULT_GATEWAY`` patched for the test only), then
drives users through the emulator and checks what the bot saw and did.
Every wait has a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import discord
import pytest
from discord.ext import commands

from switchboard.emulator import Emulator, EmulatorClient, EmulatorConfig, EmulatorRequestError, EmulatorTimeout
from switchboard.emulator.state import (
    ALICE_DM_CHANNEL_ID,
    ALICE_ID,
    BOB_ID,
    BOT_USER_ID,
    GENERAL_CHANNEL_ID,
    GUILD_ID,
    RANDOM_CHANNEL_ID,
    SECOND_GUILD_ID,
)
from tests.support.discord_bot import DEADLINE, BotHarness, point_discord_py_at, running_bot


def bot_messages(emulator: Emulator, channel: Any = None) -> list[dict[str, Any]]:
    return emulator.messages(channel_id=channel, author="bot")


# -- connecting ----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_bot_connects_and_sees_the_guild(emulator: Emulator, harness: BotHarness) -> None:
    bot = harness.bot
    assert bot.user is not None and bot.user.id == BOT_USER_ID and bot.user.name == "Switchboard"
    assert [g.name for g in bot.guilds] == ["Test Guild", "Second Guild"]
    guild = bot.guilds[0]
    assert guild.id == GUILD_ID
    assert {c.name for c in guild.text_channels} == {"general", "random"}
    assert guild.default_role.id == GUILD_ID
    assert guild.me is not None and guild.me.guild_permissions.send_messages
    assert emulator.connected_sessions == 1
    assert emulator.state()["identified_sessions"] == 1


@pytest.mark.asyncio
async def test_wrong_token_is_refused(emulator: Emulator) -> None:
    bot = commands.Bot(command_prefix="!", intents=discord.Intents.default())
    with pytest.raises(discord.LoginFailure):
        await asyncio.wait_for(bot.start("not-the-token"), DEADLINE)
    await bot.close()


@pytest.mark.asyncio
async def test_gateway_closes_4004_on_bad_identify(emulator: Emulator) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(emulator.gateway_url) as ws:
        hello = await asyncio.wait_for(ws.receive_json(), DEADLINE)
        assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] == 41250
        await ws.send_json({"op": 1, "d": None})
        assert (await asyncio.wait_for(ws.receive_json(), DEADLINE))["op"] == 11
        await ws.send_json({"op": 2, "d": {"token": "wrong", "intents": 513, "properties": {}}})
        closing = await asyncio.wait_for(ws.receive(), DEADLINE)
        assert closing.type == aiohttp.WSMsgType.CLOSE and closing.data == 4004


@pytest.mark.asyncio
async def test_resume_after_reconnect_request(emulator: Emulator, harness: BotHarness) -> None:
    resumed = asyncio.create_task(harness.bot.wait_for("resumed", timeout=DEADLINE))
    await asyncio.sleep(0)  # let wait_for register its listener before the op 7 goes out
    assert emulator.request_reconnect() == 1
    # Sent while the bot reconnects: it arrives live or by replay, but exactly once.
    emulator.inject_message("during the reconnect")
    await resumed
    emulator.inject_message("after the reconnect")
    assert (await harness.next_message()).content == "during the reconnect"
    assert (await harness.next_message()).content == "after the reconnect"
    await emulator.wait_until_connected(1, timeout=DEADLINE)


@pytest.mark.asyncio
async def test_resume_replays_missed_dispatches(emulator: Emulator) -> None:
    token, intents = emulator.config.token, 1 | 1 << 9 | 1 << 15  # GUILDS, GUILD_MESSAGES, MESSAGE_CONTENT
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(emulator.gateway_url) as ws:
            await asyncio.wait_for(ws.receive_json(), DEADLINE)  # HELLO
            await ws.send_json({"op": 2, "d": {"token": token, "intents": intents, "properties": {}}})
            ready = await asyncio.wait_for(ws.receive_json(), DEADLINE)
            guild_creates = [await asyncio.wait_for(ws.receive_json(), DEADLINE) for _ in range(2)]
            assert (ready["t"], ready["s"]) == ("READY", 1)
            assert [(g["t"], g["s"], g["d"]["id"]) for g in guild_creates] == [
                ("GUILD_CREATE", 2, str(GUILD_ID)),
                ("GUILD_CREATE", 3, str(SECOND_GUILD_ID)),
            ]
            await ws.close(code=4000)  # a non-1000 close keeps the session resumable
        missed = emulator.inject_message("while you were away")
        async with http.ws_connect(ready["d"]["resume_gateway_url"]) as ws:
            await asyncio.wait_for(ws.receive_json(), DEADLINE)  # HELLO
            await ws.send_json({"op": 6, "d": {"token": token, "session_id": ready["d"]["session_id"], "seq": 3}})
            replayed = await asyncio.wait_for(ws.receive_json(), DEADLINE)
            resumed = await asyncio.wait_for(ws.receive_json(), DEADLINE)
            assert (replayed["t"], replayed["s"], replayed["d"]["id"]) == ("MESSAGE_CREATE", 4, missed["id"])
            assert (resumed["t"], resumed["s"]) == ("RESUMED", 5)
        async with http.ws_connect(emulator.gateway_url) as ws:
            await asyncio.wait_for(ws.receive_json(), DEADLINE)  # HELLO
            await ws.send_json({"op": 6, "d": {"token": token, "session_id": "unknown", "seq": 1}})
            assert await asyncio.wait_for(ws.receive_json(), DEADLINE) == {"op": 9, "d": False, "s": None, "t": None}


@pytest.mark.asyncio
async def test_auto_sharded_bot_connects(emulator: Emulator) -> None:
    intents = discord.Intents.default()
    intents.message_content = True
    bot = commands.AutoShardedBot(command_prefix="!", intents=intents, guild_ready_timeout=0.05)
    runner = asyncio.create_task(bot.start(emulator.config.token))
    try:
        await asyncio.wait_for(bot.wait_until_ready(), DEADLINE)
        assert bot.shard_count == 1 and [g.id for g in bot.guilds] == [GUILD_ID, SECOND_GUILD_ID]
        emulator.inject_message("sharded hello")
        message = await asyncio.wait_for(bot.wait_for("message"), DEADLINE)
        assert message.content == "sharded hello"
    finally:
        await asyncio.wait_for(bot.close(), DEADLINE)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(runner, DEADLINE)


# -- users talking to the bot ----------------------------------------------------------


@pytest.mark.asyncio
async def test_injected_message_reaches_on_message(emulator: Emulator, harness: BotHarness) -> None:
    injected = emulator.inject_message("what's up?", mention_bot=True)
    message = await harness.next_message()
    assert message.id == int(injected["id"])
    assert message.content == f"<@{BOT_USER_ID}> what's up?"
    assert message.author.id == ALICE_ID and message.author.name == "alice"
    assert isinstance(message.author, discord.Member)
    assert harness.bot.user in message.mentions
    assert message.guild is not None and message.channel.id == GENERAL_CHANNEL_ID


@pytest.mark.asyncio
async def test_other_bots_and_channels_by_name(emulator: Emulator, harness: BotHarness) -> None:
    emulator.inject_message("beep", channel_id="random", author="otherbot")
    message = await harness.next_message()
    assert message.author.bot and message.author.name == "otherbot"
    assert message.channel.name == "random"


@pytest.mark.asyncio
async def test_reply_is_recorded_with_nonce_and_reference(emulator: Emulator, harness: BotHarness) -> None:
    injected = emulator.inject_message("ping", author="bob")
    received = await harness.next_message()
    reply = await asyncio.wait_for(received.reply("pong"), DEADLINE)

    [stored] = bot_messages(emulator)
    assert stored["id"] == str(reply.id) and stored["content"] == "pong"
    assert stored["type"] == 19
    assert stored["message_reference"]["message_id"] == injected["id"]
    assert stored["referenced_message"]["content"] == "ping"
    assert [u["id"] for u in stored["mentions"]] == [str(BOB_ID)]
    assert stored["request"]["nonce"] == reply.nonce and stored["request"]["enforce_nonce"] is True
    assert stored["request"]["message_reference"]["message_id"] == int(injected["id"])
    # Discord echoes the bot's own message back over the gateway.
    echoed = await harness.next_message(lambda m: m.author.id == BOT_USER_ID)
    assert echoed.id == reply.id and echoed.reference is not None


@pytest.mark.asyncio
async def test_reply_without_ping_records_allowed_mentions(emulator: Emulator, harness: BotHarness) -> None:
    emulator.inject_message("quiet please")
    received = await harness.next_message()
    await asyncio.wait_for(received.reply("ok", mention_author=False), DEADLINE)
    [stored] = bot_messages(emulator)
    assert stored["request"]["allowed_mentions"]["replied_user"] is False
    assert stored["mentions"] == []


@pytest.mark.asyncio
async def test_user_reply_to_bot_message_sets_the_reference(emulator: Emulator, harness: BotHarness) -> None:
    sent = await asyncio.wait_for(harness.channel("general").send("question?"), DEADLINE)
    emulator.inject_message("answer!", reply_to=sent.id)
    message = await harness.next_message()
    assert message.type is discord.MessageType.reply
    assert message.reference is not None and message.reference.message_id == sent.id
    assert isinstance(message.reference.resolved, discord.Message)
    assert message.reference.resolved.content == "question?"
    assert harness.bot.user in message.mentions


@pytest.mark.asyncio
async def test_dm_reaches_on_message_as_a_dm(emulator: Emulator, harness: BotHarness) -> None:
    emulator.inject_message("psst", dm=True)
    message = await harness.next_message()
    assert isinstance(message.channel, discord.DMChannel)
    assert message.guild is None and message.author.id == ALICE_ID
    await asyncio.wait_for(message.channel.send("hello in private"), DEADLINE)
    [stored] = bot_messages(emulator, ALICE_DM_CHANNEL_ID)
    assert stored["content"] == "hello in private" and "guild_id" not in stored


@pytest.mark.asyncio
async def test_content_is_hidden_without_the_message_content_intent(emulator: Emulator) -> None:
    async with running_bot(emulator.config.token, message_content=False) as harness:
        emulator.inject_message("secret")
        assert (await harness.next_message()).content == ""
        emulator.inject_message("for you", mention_bot=True)
        assert (await harness.next_message()).content.endswith("for you")


# -- what the bot does ------------------------------------------------------------------


@pytest.mark.asyncio
async def test_edit_lands_in_history_and_events(emulator: Emulator, harness: BotHarness) -> None:
    after = emulator.last_event_seq
    sent = await asyncio.wait_for(harness.channel("general").send("draft"), DEADLINE)
    edited_seen = asyncio.create_task(harness.bot.wait_for("message_edit", timeout=DEADLINE))
    edited = await asyncio.wait_for(sent.edit(content="final answer"), DEADLINE)
    assert edited.content == "final answer" and edited.edited_at is not None

    [stored] = bot_messages(emulator)
    assert stored["content"] == "final answer"
    assert [e["content"] for e in stored["edits"]] == ["final answer"]
    event = await emulator.wait_for_event(lambda e: e["type"] == "message_edit", timeout=DEADLINE, after=after)
    assert event["message_id"] == str(sent.id) and event["content"] == "final answer"
    before, after_edit = await edited_seen
    assert before.content == "draft" and after_edit.content == "final answer"


@pytest.mark.asyncio
async def test_typing_is_recorded(emulator: Emulator, harness: BotHarness) -> None:
    await asyncio.wait_for(harness.channel("random").typing(), DEADLINE)
    event = await emulator.wait_for_event(lambda e: e["type"] == "typing", timeout=DEADLINE)
    assert event["channel_id"] == str(harness.channel("random").id)


@pytest.mark.asyncio
async def test_same_nonce_returns_the_same_message(emulator: Emulator, harness: BotHarness) -> None:
    channel = harness.channel("general")
    first = await asyncio.wait_for(channel.send("once", nonce=424242), DEADLINE)
    second = await asyncio.wait_for(channel.send("once", nonce=424242), DEADLINE)
    assert first.id == second.id
    assert len(bot_messages(emulator)) == 1
    assert [e["type"] for e in emulator.events()] == ["message_create"]


@pytest.mark.asyncio
async def test_content_over_2000_chars_is_rejected(emulator: Emulator, harness: BotHarness) -> None:
    channel = harness.channel("general")
    with pytest.raises(discord.HTTPException) as caught:
        await asyncio.wait_for(channel.send("x" * 2001), DEADLINE)
    assert caught.value.status == 400 and caught.value.code == 50035
    assert "content" in caught.value.text
    await asyncio.wait_for(channel.send("x" * 2000), DEADLINE)
    assert len(bot_messages(emulator)) == 1


@pytest.mark.asyncio
async def test_attachments_are_recorded_and_served(emulator: Emulator, harness: BotHarness) -> None:
    file = discord.File(io.BytesIO(b"hello file"), filename="notes.txt")
    sent = await asyncio.wait_for(harness.channel("general").send("see attached", file=file), DEADLINE)
    [stored] = bot_messages(emulator)
    [attachment] = stored["attachments"]
    assert attachment["filename"] == "notes.txt" and attachment["size"] == len(b"hello file")
    assert await asyncio.wait_for(sent.attachments[0].read(), DEADLINE) == b"hello file"


@pytest.mark.asyncio
async def test_new_channel_is_announced(emulator: Emulator, harness: BotHarness) -> None:
    created = asyncio.create_task(harness.bot.wait_for("guild_channel_create", timeout=DEADLINE))
    await asyncio.sleep(0)
    payload = emulator.create_channel("support", topic="help desk")
    channel = await created
    assert channel.id == int(payload["id"]) and channel.name == "support"
    emulator.inject_message("help", channel_id="support")
    assert (await harness.next_message()).channel.id == channel.id


# -- rate limits ---------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_rapid_sends_are_paced_and_all_delivered(monkeypatch: pytest.MonkeyPatch) -> None:
    config = EmulatorConfig(message_rate_window_s=1.0)
    async with Emulator(config) as emulator:
        point_discord_py_at(monkeypatch, emulator.url)
        async with running_bot(config.token) as harness:
            channel = harness.channel("general")
            sends = [channel.send(f"burst {i}") for i in range(7)]
            sent = await asyncio.wait_for(asyncio.gather(*sends), 4 * DEADLINE)
            assert len({m.id for m in sent}) == 7
            assert sorted(m["content"] for m in bot_messages(emulator)) == [f"burst {i}" for i in range(7)]


@pytest.mark.asyncio
async def test_a_429_is_honoured_by_discord_py(monkeypatch: pytest.MonkeyPatch) -> None:
    config = EmulatorConfig(message_rate_window_s=1.0)
    async with Emulator(config) as emulator:
        point_discord_py_at(monkeypatch, emulator.url)
        async with running_bot(config.token) as harness:
            url = f"{emulator.api_base}/channels/{GENERAL_CHANNEL_ID}/messages"
            headers = {"Authorization": f"Bot {config.token}"}
            async with aiohttp.ClientSession(headers=headers) as http:
                for i in range(config.message_rate_limit):  # drain the bucket behind discord.py's back
                    async with http.post(url, json={"content": f"raw {i}"}) as response:
                        assert response.status == 200
                async with http.post(url, json={"content": "one too many"}) as response:
                    assert response.status == 429 and response.headers["Via"] == "1.1 google"
                    assert response.headers["Content-Type"] == "application/json"
                    body = await response.json()
                    assert body["global"] is False and 0 < body["retry_after"] <= 1.0
            sent = await asyncio.wait_for(harness.channel("general").send("patient"), DEADLINE)
            assert sent.content == "patient"
            limited = [e for e in emulator.events() if e["type"] == "rate_limited"]
            assert len(limited) >= 2  # ours, and the one discord.py waited out
            assert len(bot_messages(emulator)) == config.message_rate_limit + 1


@pytest.mark.asyncio
async def test_rate_limits_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    async with Emulator(EmulatorConfig(rate_limits=False)) as emulator:
        point_discord_py_at(monkeypatch, emulator.url)
        async with running_bot(emulator.config.token) as harness:
            channel = harness.channel("general")
            # Ten sends would take over 5 s under Discord's limit; unlimited they are immediate.
            await asyncio.wait_for(asyncio.gather(*(channel.send(f"n{i}") for i in range(10))), 3.0)
            assert len(bot_messages(emulator)) == 10
            assert not [e for e in emulator.events() if e["type"] == "rate_limited"]


# -- REST details ---------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_unknown_route_is_a_discord_style_404(emulator: Emulator) -> None:
    headers = {"Authorization": f"Bot {emulator.config.token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.get(f"{emulator.api_base}/no/such/route") as response:
            assert response.status == 404
            assert response.headers["Content-Type"] == "application/json"
            assert (await response.json())["code"] == 0
            assert "X-RateLimit-Limit" in response.headers
        async with http.get(f"{emulator.api_base}/channels/1/messages") as response:
            assert response.status == 404 and (await response.json())["code"] == 10003
    async with aiohttp.ClientSession() as http, http.get(f"{emulator.api_base}/users/@me") as response:
        assert response.status == 401 and (await response.json())["message"] == "401: Unauthorized"


@pytest.mark.asyncio
async def test_history_is_paged_newest_first(emulator: Emulator, harness: BotHarness) -> None:
    for i in range(5):
        emulator.inject_message(f"line {i}")
    history = [m async for m in harness.channel("general").history(limit=3)]
    assert [m.content for m in history] == ["line 4", "line 3", "line 2"]
    older = [m async for m in harness.channel("general").history(limit=10, before=history[-1])]
    assert [m.content for m in older] == ["line 1", "line 0"]


# -- the control API from another thread, and as a separate process ----------------------------


@pytest.mark.asyncio
async def test_sync_client_drives_an_in_process_emulator(emulator: Emulator, harness: BotHarness) -> None:
    client = EmulatorClient(emulator.url)
    cursor = (await asyncio.to_thread(client.state))["last_event_seq"]

    async def answer() -> None:
        message = await harness.next_message()
        await message.reply(f"echo: {message.content}")

    answering = asyncio.create_task(answer())
    await asyncio.to_thread(client.inject_message, "hi there", channel_id="general", author="bob")
    reply = await asyncio.to_thread(client.wait_for_bot_message, "general", after=cursor, timeout=DEADLINE)
    await answering
    assert reply["content"] == "echo: hi there"
    assert [m["content"] for m in await asyncio.to_thread(client.messages, "general", "bob")] == ["hi there"]
    with pytest.raises(EmulatorTimeout):
        await asyncio.to_thread(client.wait_for_event, lambda e: e["type"] == "typing", after=cursor, timeout=0.3)


@pytest.mark.asyncio
async def test_control_api_errors_and_long_poll(emulator: Emulator) -> None:
    client = EmulatorClient(emulator.url)
    with pytest.raises(EmulatorRequestError) as caught:
        await asyncio.to_thread(client.inject_message, "hi", channel_id="no-such-channel")
    assert caught.value.status == 404 and caught.value.body["code"] == 10003
    with pytest.raises(EmulatorRequestError) as caught:
        await asyncio.to_thread(client.inject_message, "hi", reply_to="123456789012345678")
    assert caught.value.status == 400 and caught.value.body["code"] == 50035

    feed = await asyncio.to_thread(client.events, 0, 0.2)  # nothing happens: returns empty at the deadline
    assert feed == {"events": [], "last_seq": 0}
    channel = await asyncio.to_thread(client.create_channel, "ops")
    assert channel["name"] == "ops" and channel["guild_id"] == str(GUILD_ID)
    state = await asyncio.to_thread(client.state)
    assert state["bot_user"]["id"] == str(BOT_USER_ID)
    assert {c["name"] for c in state["channels"] if c.get("guild_id") == str(GUILD_ID)} == {"general", "random", "ops"}
    assert {u["username"] for u in state["users"]} == {"Switchboard", "alice", "bob", "otherbot"}


@pytest.mark.asyncio
async def test_a_bulk_injection_reaches_on_message_in_order(emulator: Emulator, harness: BotHarness) -> None:
    client = EmulatorClient(emulator.url)
    ids = await asyncio.to_thread(client.inject_messages, "flood", 30, channel_ids=["general", RANDOM_CHANNEL_ID],
                                  author="bob", mention_bot=True)
    received = [await harness.next_message() for _ in range(30)]
    assert [str(m.id) for m in received] == ids and len(set(ids)) == 30
    assert [m.channel.id for m in received] == [GENERAL_CHANNEL_ID, RANDOM_CHANNEL_ID] * 15
    assert {m.content for m in received} == {f"<@{BOT_USER_ID}> flood"}
    assert {m.author.id for m in received} == {BOB_ID}
    assert len(await asyncio.to_thread(client.messages, RANDOM_CHANNEL_ID, "bob")) == 15


@pytest.mark.asyncio
async def test_a_bad_bulk_injection_posts_nothing(emulator: Emulator) -> None:
    client = EmulatorClient(emulator.url)
    with pytest.raises(EmulatorRequestError) as caught:
        await asyncio.to_thread(client.inject_messages, "hi", 3, channel_ids=["no-such-channel"])
    assert caught.value.status == 404 and caught.value.body["code"] == 10003
    cases = (
        ({"content": "x", "count": 0}, 400, 50035),
        ({"content": "x", "count": 50_001}, 400, 50035),
        ({"content": "x", "count": "3"}, 400, 50035),
        ({"content": "x", "count": True}, 400, 50035),
        ({"content": 5, "count": 3}, 400, 50035),
        ({"content": "x", "count": 3, "channel_ids": "general"}, 400, 50035),
        ({"content": "x", "count": 3, "channel_ids": []}, 400, 50035),
        ({"content": "x", "count": 3, "mention_bot": "yes"}, 400, 50035),
        ({"content": "x", "count": 3, "channel_ids": ["general", "no-such-channel"]}, 404, 10003),
        ({"content": "x", "count": 3, "channel_ids": ["general", "lobby"], "author": "otherbot"}, 403, 50001),
    )
    async with aiohttp.ClientSession() as http:
        for body, status, code in cases:
            async with http.post(f"{emulator.url}/_emulator/messages/bulk", json=body) as response:
                assert (response.status, (await response.json())["code"]) == (status, code), body
    assert emulator.messages() == []


@pytest.mark.asyncio
async def test_standalone_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ready_file = tmp_path / "emulator.url"
    process = subprocess.Popen(
        [sys.executable, "-m", "switchboard.emulator", "--ready-file", str(ready_file), "--log-level", "WARNING"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        client = await asyncio.to_thread(EmulatorClient.from_ready_file, ready_file, DEADLINE)
        assert process.stdout is not None
        assert (await asyncio.to_thread(process.stdout.readline)).strip() == client.url
        point_discord_py_at(monkeypatch, client.url)
        async with running_bot("emulator-token") as harness:
            state = await asyncio.to_thread(client.wait_until_connected, 1, DEADLINE)
            assert state["guild"]["name"] == "Test Guild"
            injected = await asyncio.to_thread(client.inject_message, "over the wire", mention_bot=True)
            received = await harness.next_message()
            assert received.id == int(injected["id"])
            await asyncio.wait_for(received.reply("roger"), DEADLINE)
            [stored] = await asyncio.to_thread(client.messages, None, "bot")
            assert stored["content"] == "roger"
        process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(process.wait, DEADLINE) == 0
        assert not ready_file.exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(DEADLINE)
