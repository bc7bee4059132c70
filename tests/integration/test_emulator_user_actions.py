"""What users and moderators do in the Discord emulator, as a real discord.py client sees it.

Users edit and delete their messages, moderators delete anyone's (one or many
at once), and the bot is kicked from a guild and added back. Each test runs an
in-process ``Emulator`` and a ``commands.Bot`` against it (see
``test_emulator``), drives it through the control API's ``EmulatorClient``
(or the in-process helpers of the same name) and checks the events
discord.py fires. ``Client.wait_for`` starts listening when it is called, so
each waiter is created before the action it waits for; every wait has a deadline.
"""

from __future__ import annotations

import asyncio
from typing import Any

import discord
import pytest

from switchboard.emulator import Emulator, EmulatorClient, EmulatorRequestError
from switchboard.emulator.state import (
    ALICE_DM_CHANNEL_ID,
    ALICE_ID,
    GENERAL_CHANNEL_ID,
    GUILD_ID,
    LOBBY_CHANNEL_ID,
    RANDOM_CHANNEL_ID,
    SECOND_GUILD_ID,
)
from tests.support.discord_bot import DEADLINE, BotHarness, running_bot


async def control(call: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a blocking ``EmulatorClient`` call off the event loop the emulator and the bot run on."""
    return await asyncio.wait_for(asyncio.to_thread(call, *args, **kwargs), DEADLINE)


async def refused(call: Any, *args: Any) -> tuple[int, int]:
    """The (HTTP status, Discord code) a control API call is refused with."""
    with pytest.raises(EmulatorRequestError) as caught:
        await control(call, *args)
    return caught.value.status, caught.value.body["code"]


# -- deleting ---------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_user_deleting_a_message_fires_raw_message_delete(emulator: Emulator, harness: BotHarness) -> None:
    client = EmulatorClient(emulator.url)
    posted = emulator.inject_message("oops, wrong channel", author="bob")
    seen = await harness.next_message()
    deleted = harness.bot.wait_for("raw_message_delete", timeout=DEADLINE)
    gone = await control(client.delete_message, posted["id"])
    payload = await deleted
    assert (payload.message_id, payload.channel_id, payload.guild_id) == (seen.id, GENERAL_CHANNEL_ID, GUILD_ID)
    assert payload.cached_message is not None and payload.cached_message.content == "oops, wrong channel"
    assert gone["id"] == posted["id"] and gone["content"] == "oops, wrong channel"
    assert emulator.messages("general") == []
    assert await refused(client.message, posted["id"]) == (404, 10008)
    assert await refused(client.delete_message, posted["id"]) == (404, 10008)

    # In a DM the event has no guild_id.
    emulator.inject_message("never mind", dm=True)
    dm = await harness.next_message()
    deleted = harness.bot.wait_for("raw_message_delete", timeout=DEADLINE)
    emulator.delete_message(dm.id)
    payload = await deleted
    assert (payload.message_id, payload.channel_id, payload.guild_id) == (dm.id, ALICE_DM_CHANNEL_ID, None)


@pytest.mark.asyncio
async def test_a_moderator_deletes_the_bots_message_but_not_in_a_dm(emulator: Emulator, harness: BotHarness) -> None:
    client = EmulatorClient(emulator.url)
    emulator.inject_message("say something", author="bob")
    reply = await asyncio.wait_for((await harness.next_message()).reply("something regrettable"), DEADLINE)
    deleted = harness.bot.wait_for("raw_message_delete", timeout=DEADLINE)
    await control(client.delete_message, reply.id)
    assert (await deleted).message_id == reply.id
    assert emulator.messages("general", author="bot") == []
    with pytest.raises(discord.NotFound):
        await asyncio.wait_for(reply.edit(content="too late"), DEADLINE)

    emulator.inject_message("hello", dm=True)
    dm_reply = await asyncio.wait_for((await harness.next_message()).reply("hi alice"), DEADLINE)
    assert await refused(client.delete_message, dm_reply.id) == (403, 50003)
    assert [m["id"] for m in emulator.messages(ALICE_DM_CHANNEL_ID, author="bot")] == [str(dm_reply.id)]


@pytest.mark.asyncio
async def test_a_deleted_interaction_response_is_gone_for_the_bot_too(emulator: Emulator, harness: BotHarness) -> None:
    answered: asyncio.Queue[discord.Interaction] = asyncio.Queue()

    @harness.bot.tree.command(name="say", description="Say something")
    async def say(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("said")
        await answered.put(interaction)

    await asyncio.wait_for(harness.bot.tree.sync(), DEADLINE)
    interaction_id = emulator.invoke_command("say")
    original_id = (await emulator.wait_for_interaction_response(interaction_id))["original"]["id"]
    interaction = await asyncio.wait_for(answered.get(), DEADLINE)
    deleted = harness.bot.wait_for("raw_message_delete", timeout=DEADLINE)
    emulator.delete_message(original_id)
    assert (await deleted).message_id == int(original_id)
    with pytest.raises(discord.NotFound):
        await asyncio.wait_for(interaction.edit_original_response(content="said, edited"), DEADLINE)
    assert emulator.interaction(interaction_id)["original"]["deleted"] is True


@pytest.mark.asyncio
async def test_bulk_delete_fires_one_raw_bulk_message_delete(emulator: Emulator, harness: BotHarness) -> None:
    client = EmulatorClient(emulator.url)
    ids = emulator.inject_messages("spam", 3, author="bob")
    for _ in ids:
        await harness.next_message()
    bulk = harness.bot.wait_for("raw_bulk_message_delete", timeout=DEADLINE)
    assert await control(client.bulk_delete, "general", ids[:2]) == ids[:2]
    payload = await bulk
    assert payload.message_ids == {int(i) for i in ids[:2]}
    assert (payload.channel_id, payload.guild_id) == (GENERAL_CHANNEL_ID, GUILD_ID)
    assert sorted(m.id for m in payload.cached_messages) == sorted(int(i) for i in ids[:2])
    assert [m["id"] for m in emulator.messages("general")] == ids[2:]


@pytest.mark.asyncio
async def test_bulk_delete_refuses_the_lot_on_bad_input(emulator: Emulator, harness: BotHarness) -> None:
    client = EmulatorClient(emulator.url)
    [kept] = emulator.inject_messages("keep me", 1)
    [elsewhere] = emulator.inject_messages("in random", 1, channel_ids=["random"])
    in_dm = emulator.inject_message("private", dm=True)["id"]
    assert await refused(client.bulk_delete, "general", [kept, elsewhere]) == (404, 10008)
    assert await refused(client.bulk_delete, "general", [kept, "1"]) == (404, 10008)
    assert await refused(client.bulk_delete, "general", []) == (400, 50035)
    assert await refused(client.bulk_delete, "general", [kept, kept]) == (400, 50035)
    assert await refused(client.bulk_delete, "general", ["not-an-id"]) == (400, 50035)
    assert await refused(client.bulk_delete, ALICE_DM_CHANNEL_ID, [in_dm]) == (403, 50003)
    assert await refused(client.bulk_delete, "no-such-channel", [kept]) == (404, 10003)
    assert len(emulator.messages()) == 3

    # A deletion by id, by channel name or id, in any guild channel goes through.
    bulk = harness.bot.wait_for("raw_bulk_message_delete", timeout=DEADLINE)
    assert await control(client.bulk_delete, RANDOM_CHANNEL_ID, [elsewhere]) == [elsewhere]
    assert (await bulk).channel_id == RANDOM_CHANNEL_ID


# -- editing ----------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_user_editing_a_message_fires_raw_message_edit(emulator: Emulator, harness: BotHarness) -> None:
    client = EmulatorClient(emulator.url)
    posted = emulator.inject_message("teh answer", author="bob")
    before = await harness.next_message()
    raw_edit = harness.bot.wait_for("raw_message_edit", timeout=DEADLINE)
    edit = harness.bot.wait_for("message_edit", timeout=DEADLINE)
    edited = await control(client.edit_message, posted["id"], "the answer")
    payload = await raw_edit
    assert (payload.message_id, payload.channel_id, payload.guild_id) == (before.id, GENERAL_CHANNEL_ID, GUILD_ID)
    assert payload.data["content"] == "the answer" and payload.data["edited_timestamp"] is not None
    assert payload.data["author"]["username"] == "bob"
    old, new = await edit
    assert (old.content, new.content) == ("teh answer", "the answer") and new.edited_at is not None

    assert edited["content"] == "the answer" and edited["created_content"] == "teh answer"
    assert [e["content"] for e in edited["edits"]] == ["the answer"]
    fetched = await asyncio.wait_for(before.channel.fetch_message(before.id), DEADLINE)
    assert fetched.content == "the answer" and fetched.edited_at == new.edited_at


@pytest.mark.asyncio
async def test_edits_are_refused_as_discord_would(emulator: Emulator, harness: BotHarness) -> None:
    client = EmulatorClient(emulator.url)
    emulator.inject_message("ping", author="bob")
    reply = await asyncio.wait_for((await harness.next_message()).reply("pong"), DEADLINE)
    posted = emulator.inject_message("short", author="bob")
    assert (await refused(client.edit_message, reply.id, "hijacked"))[0] == 400  # the bot edits through REST
    assert await refused(client.edit_message, posted["id"], "x" * 2001) == (400, 50035)
    assert await refused(client.edit_message, posted["id"], "  ") == (400, 50006)
    assert await refused(client.edit_message, "1", "anything") == (404, 10008)
    assert emulator.message(int(posted["id"]))["edits"] == [] and emulator.message(reply.id)["content"] == "pong"


@pytest.mark.asyncio
async def test_without_message_content_edits_arrive_empty_and_deletions_arrive(emulator: Emulator) -> None:
    async with running_bot(emulator.config.token, message_content=False) as harness:
        posted = emulator.inject_message("secret", author="bob")
        await harness.next_message()
        raw_edit = harness.bot.wait_for("raw_message_edit", timeout=DEADLINE)
        emulator.edit_message(posted["id"], "still secret")
        assert (await raw_edit).data["content"] == ""
        bulk = harness.bot.wait_for("raw_bulk_message_delete", timeout=DEADLINE)
        emulator.bulk_delete("general", [posted["id"]])
        assert (await bulk).message_ids == {int(posted["id"])}


# -- the bot's guilds -------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_kicked_bot_hears_nothing_more_from_the_guild_until_added_back(
    emulator: Emulator, harness: BotHarness
) -> None:
    client, bot = EmulatorClient(emulator.url), harness.bot
    removed = bot.wait_for("guild_remove", timeout=DEADLINE)
    answer = await control(client.remove_bot_from_guild, "Second Guild")
    assert (await removed).id == SECOND_GUILD_ID
    assert answer == {
        "id": str(SECOND_GUILD_ID),
        "name": "Second Guild",
        "owner_id": str(ALICE_ID),
        "bot_member": False,
        "sessions": 1,
    }
    assert bot.get_guild(SECOND_GUILD_ID) is None and bot.get_channel(LOBBY_CHANNEL_ID) is None
    state = emulator.state()
    assert [(g["name"], g["bot_member"]) for g in state["guilds"]] == [("Test Guild", True), ("Second Guild", False)]
    assert state["sessions"][0]["guild_ids"] == [str(GUILD_ID)]

    # Its messages no longer reach the bot: the next one it sees is the later one in Test Guild.
    emulator.inject_message("anyone here?", channel_id="lobby")
    emulator.inject_message("over here", channel_id="general")
    assert (await harness.next_message()).content == "over here"
    with pytest.raises(discord.Forbidden) as caught:
        await asyncio.wait_for(bot.fetch_channel(LOBBY_CHANNEL_ID), DEADLINE)
    assert caught.value.code == 50001
    with pytest.raises(discord.Forbidden):
        await asyncio.wait_for(bot.fetch_guild(SECOND_GUILD_ID), DEADLINE)
    assert await refused(client.remove_bot_from_guild, SECOND_GUILD_ID) == (404, 10007)

    joined = bot.wait_for("guild_join", timeout=DEADLINE)
    answer = await control(client.add_bot_to_guild, SECOND_GUILD_ID)
    guild = await joined
    assert guild.id == SECOND_GUILD_ID and {c.name for c in guild.text_channels} == {"lobby", "off-topic"}
    assert guild.me is not None and answer["bot_member"] is True and answer["sessions"] == 1
    assert emulator.state()["sessions"][0]["guild_ids"] == [str(GUILD_ID), str(SECOND_GUILD_ID)]
    emulator.inject_message("welcome back", channel_id="lobby")
    message = await harness.next_message()
    assert (message.content, message.channel.id) == ("welcome back", LOBBY_CHANNEL_ID)
    assert await refused(client.add_bot_to_guild, "Second Guild") == (400, 0)
    assert await refused(client.add_bot_to_guild, "No Such Guild") == (404, 10004)


@pytest.mark.asyncio
async def test_a_bot_connecting_while_removed_is_not_told_of_the_guild(emulator: Emulator) -> None:
    client = EmulatorClient(emulator.url)
    assert (await control(client.remove_bot_from_guild, "Test Guild"))["sessions"] == 0
    async with running_bot(emulator.config.token) as harness:
        assert [g.id for g in harness.bot.guilds] == [SECOND_GUILD_ID]
        joined = harness.bot.wait_for("guild_join", timeout=DEADLINE)
        await control(client.add_bot_to_guild, "Test Guild")
        assert (await joined).id == GUILD_ID
        assert {g.id for g in harness.bot.guilds} == {GUILD_ID, SECOND_GUILD_ID}
