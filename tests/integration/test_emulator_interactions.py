"""Application commands and interactions in the Discord emulator, driven by a real discord.py bot.

The bot defines slash commands, context menus and components with
``app_commands``/``discord.ui``, syncs its ``CommandTree`` against the
emulator, and the tests invoke them as users through the emulator. What the
handlers received goes into queues; every wait has a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator, Callable
from typing import Any

import discord
import pytest
import pytest_asyncio
from discord import app_commands
from discord.ext import commands

from switchboard.emulator import Emulator, EmulatorClient, EmulatorConfig, EmulatorRequestError
from switchboard.emulator.errors import DiscordError
from switchboard.emulator.state import ALICE_ID, BOB_ID, GENERAL_CHANNEL_ID, GUILD_ID, SECOND_GUILD_ID
from tests.support.discord_bot import DEADLINE, point_discord_py_at

EPHEMERAL, LOADING = 64, 128
# Shortened so the deadline test is quick, yet long enough for any handler here.
RESPONSE_DEADLINE_S = 2.0


class CommandBot:
    """A ``commands.Bot`` with the commands under test and queues of what its handlers saw."""

    def __init__(self) -> None:
        intents = discord.Intents.default()
        intents.message_content = True
        self.bot = commands.Bot(command_prefix="!", intents=intents, guild_ready_timeout=0.05)
        self.seen: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        #: Set by a test to let the deliberately late handler answer.
        self.release_late = asyncio.Event()
        self._define_replying_commands()
        self._define_timing_commands()
        self._define_grouped_and_guild_commands()
        self._define_context_menus()
        self._define_ui_commands()

    async def next_seen(self, predicate: Callable[[dict[str, Any]], bool] = lambda _: True) -> dict[str, Any]:
        async def first_match() -> dict[str, Any]:
            while True:
                item = await self.seen.get()
                if predicate(item):
                    return item

        return await asyncio.wait_for(first_match(), DEADLINE)

    def _define_replying_commands(self) -> None:
        tree, seen = self.bot.tree, self.seen

        @tree.command(name="echo", description="Repeat some text")
        async def echo(
            interaction: discord.Interaction,
            text: str,
            times: int = 1,
            loud: bool = False,
            ratio: float = 1.0,
            who: discord.Member | None = None,
        ) -> None:
            await seen.put({"command": "echo", "text": text, "times": times, "loud": loud, "ratio": ratio, "who": who})
            reply = text * times
            await interaction.response.send_message(reply.upper() if loud else reply, ephemeral=True)

        @tree.command(name="perms", description="Report my permissions")
        async def perms(interaction: discord.Interaction) -> None:
            await seen.put({"command": "perms", "user": interaction.user, "permissions": interaction.permissions})
            await interaction.response.send_message("noted", ephemeral=True)

        @tree.command(name="purge", description="Moderators only")
        @app_commands.default_permissions(manage_guild=True)
        async def purge(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("purged")

        @tree.command(name="report", description="A file, edits, followups and a deletion")
        async def report(interaction: discord.Interaction) -> None:
            report_file = discord.File(io.BytesIO(b"report body"), filename="report.txt")
            await interaction.response.send_message("see the report", file=report_file)
            original = await interaction.original_response()
            await interaction.edit_original_response(content="see the report (final)")
            secret = await interaction.followup.send("only you see this", ephemeral=True, wait=True)
            temporary = await interaction.followup.send("temporary", wait=True)
            await temporary.delete()
            await seen.put({"command": "report", "original": original, "secret": secret, "temporary": temporary})

    def _define_timing_commands(self) -> None:
        tree, seen = self.bot.tree, self.seen

        @tree.command(name="slow", description="Defer, then follow up")
        async def slow(interaction: discord.Interaction, topic: str) -> None:
            await interaction.response.defer()
            first = await interaction.followup.send(f"about {topic}", wait=True)
            second = await interaction.followup.send("one more thing", wait=True)
            await seen.put({"command": "slow", "first": first, "second": second})

        @tree.command(name="late", description="Answers after the deadline")
        async def late(interaction: discord.Interaction) -> None:
            await self.release_late.wait()
            try:
                await interaction.response.send_message("sorry I'm late")
            except discord.HTTPException as exc:
                await seen.put({"command": "late", "error": exc})

        @tree.command(name="eager", description="Follows up before responding")
        async def eager(interaction: discord.Interaction) -> None:
            try:
                await interaction.followup.send("too early")
            except discord.HTTPException as exc:
                await seen.put({"command": "eager", "error": exc})
            await interaction.response.send_message("now properly")

    def _define_grouped_and_guild_commands(self) -> None:
        tree, seen = self.bot.tree, self.seen
        admin = app_commands.Group(name="admin", description="Administration")
        users = app_commands.Group(name="user", description="User administration", parent=admin)

        @users.command(name="ban", description="Ban someone")
        async def ban(interaction: discord.Interaction, who: discord.User, reason: str = "none") -> None:
            await seen.put({"command": "admin user ban", "who": who, "reason": reason})
            await interaction.response.send_message(f"banned {who.name}")

        tree.add_command(admin)

        @app_commands.command(name="local", description="Only in Test Guild")
        async def local(interaction: discord.Interaction) -> None:
            await interaction.response.send_message(f"hello {interaction.guild.name if interaction.guild else '?'}")

        tree.add_command(local, guild=discord.Object(GUILD_ID))

    def _define_context_menus(self) -> None:
        tree, seen = self.bot.tree, self.seen

        @tree.context_menu(name="Quote")
        async def quote(interaction: discord.Interaction, message: discord.Message) -> None:
            await seen.put({"command": "Quote", "message": message})
            await interaction.response.send_message(f"> {message.content}")

        @tree.context_menu(name="Inspect")
        async def inspect(interaction: discord.Interaction, member: discord.Member) -> None:
            await seen.put({"command": "Inspect", "member": member})
            await interaction.response.send_message(f"{member.name} joined", ephemeral=True)

    def _define_ui_commands(self) -> None:
        tree, seen = self.bot.tree, self.seen

        @tree.command(name="survey", description="Buttons and a modal")
        async def survey(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("Ready?", view=SurveyView(seen))

        @tree.command(name="feedback", description="Opens a modal")
        async def feedback(interaction: discord.Interaction) -> None:
            await interaction.response.send_modal(FeedbackModal(seen))

    async def sync(self) -> tuple[list[app_commands.AppCommand], list[app_commands.AppCommand]]:
        synced_global = await self.bot.tree.sync()
        synced_guild = await self.bot.tree.sync(guild=discord.Object(GUILD_ID))
        return synced_global, synced_guild


class SurveyView(discord.ui.View):
    def __init__(self, seen: asyncio.Queue[dict[str, Any]]):
        super().__init__(timeout=DEADLINE)
        self.seen = seen

    @discord.ui.button(label="Yes", custom_id="survey:yes", style=discord.ButtonStyle.success)
    async def yes(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await self.seen.put({"component": "yes", "user": interaction.user})
        await interaction.response.edit_message(content="Thanks!", view=None)

    @discord.ui.select(custom_id="survey:colour", options=[discord.SelectOption(label=c) for c in ("red", "blue")])
    async def colour(self, interaction: discord.Interaction, select: discord.ui.Select) -> None:
        await self.seen.put({"component": "colour", "values": select.values})
        await interaction.response.defer()


class FeedbackModal(discord.ui.Modal, title="Feedback"):
    comment: discord.ui.TextInput = discord.ui.TextInput(label="Comment", custom_id="feedback:comment")

    def __init__(self, seen: asyncio.Queue[dict[str, Any]]):
        super().__init__(custom_id="feedback", timeout=DEADLINE)
        self.seen = seen

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await self.seen.put({"modal": "feedback", "comment": self.comment.value})
        await interaction.response.send_message("thanks for the feedback", ephemeral=True)


@contextlib.asynccontextmanager
async def running(client: CommandBot, token: str) -> AsyncIterator[CommandBot]:
    """Start the bot, wait until it is ready, close it afterwards."""
    runner = asyncio.create_task(client.bot.start(token))
    ready = asyncio.create_task(client.bot.wait_until_ready())
    try:
        done, _ = await asyncio.wait({runner, ready}, timeout=DEADLINE, return_when=asyncio.FIRST_COMPLETED)
        if runner in done:
            runner.result()
            pytest.fail("bot stopped before it was ready")
        assert ready in done, "the bot was not ready in time"
        yield client
    finally:
        ready.cancel()
        await asyncio.wait_for(client.bot.close(), DEADLINE)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(runner, DEADLINE)


@pytest_asyncio.fixture
async def emulator(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Emulator]:
    config = EmulatorConfig(interaction_response_deadline_s=RESPONSE_DEADLINE_S)
    async with Emulator(config) as running_emulator:
        point_discord_py_at(monkeypatch, running_emulator.url)
        yield running_emulator


@pytest_asyncio.fixture
async def synced(emulator: Emulator) -> AsyncIterator[CommandBot]:
    async with running(CommandBot(), emulator.config.token) as client:
        await asyncio.wait_for(client.sync(), DEADLINE)
        yield client


async def answered(emulator: Emulator, interaction_id: str) -> dict[str, Any]:
    """The interaction once the bot answered it (or let it expire)."""
    return await emulator.wait_for_interaction_response(interaction_id, timeout=DEADLINE)


# -- registration ---------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_tree_sync_registers_global_and_guild_commands(emulator: Emulator) -> None:
    async with running(CommandBot(), emulator.config.token) as client:
        synced_global, synced_guild = await asyncio.wait_for(client.sync(), DEADLINE)
        registered = emulator.registered_commands()
        by_name = {c["name"]: c for c in registered["global"]}
        assert set(by_name) == {
            "echo",
            "report",
            "slow",
            "late",
            "eager",
            "perms",
            "purge",
            "admin",
            "survey",
            "feedback",
            "Quote",
            "Inspect",
        }
        assert (by_name["Quote"]["type"], by_name["Inspect"]["type"], by_name["echo"]["type"]) == (3, 2, 1)
        assert [o["name"] for o in by_name["echo"]["options"]] == ["text", "times", "loud", "ratio", "who"]
        assert by_name["purge"]["default_member_permissions"] == str(1 << 5)
        assert [c["name"] for c in registered["guilds"][str(GUILD_ID)]] == ["local"]
        assert registered["guilds"][str(GUILD_ID)][0]["guild_id"] == str(GUILD_ID)
        # discord.py parsed what the emulator returned: the same ids.
        assert {c.name: c.id for c in synced_global} == {name: int(c["id"]) for name, c in by_name.items()}
        assert [c.guild_id for c in synced_guild] == [GUILD_ID]

        # Syncing again keeps ids and versions of unchanged commands.
        again, _ = await asyncio.wait_for(client.sync(), DEADLINE)
        assert {c.id for c in again} == {c.id for c in synced_global}
        assert emulator.registered_commands() == registered
        fetched = await asyncio.wait_for(client.bot.tree.fetch_commands(guild=discord.Object(GUILD_ID)), DEADLINE)
        assert [c.name for c in fetched] == ["local"]

    events = [e for e in emulator.events() if e["type"] == "commands_registered"]
    assert [e["guild_id"] for e in events] == [None, str(GUILD_ID), None, str(GUILD_ID)]
    assert {c["name"] for c in events[0]["commands"]} == set(by_name)


@pytest.mark.asyncio
async def test_changing_a_command_bumps_its_version_and_keeps_its_id(synced: CommandBot, emulator: Emulator) -> None:
    before = {c["name"]: c for c in emulator.registered_commands()["global"]}
    tree = synced.bot.tree
    echo = tree.get_command("echo")
    assert isinstance(echo, app_commands.Command)
    echo.description = "Repeat some text, loudly if asked"
    await asyncio.wait_for(tree.sync(), DEADLINE)
    after = {c["name"]: c for c in emulator.registered_commands()["global"]}
    assert after["echo"]["id"] == before["echo"]["id"] and after["echo"]["version"] != before["echo"]["version"]
    assert after["slow"] == before["slow"]


# -- slash commands ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_slash_command_gets_typed_options_and_an_ephemeral_reply_is_recorded(
    synced: CommandBot, emulator: Emulator
) -> None:
    options = {"text": "hi ", "times": 2, "loud": True, "ratio": 0.5, "who": "bob"}
    interaction_id = emulator.invoke_command("echo", options=options)
    seen = await synced.next_seen()
    assert (seen["text"], seen["times"], seen["loud"], seen["ratio"]) == ("hi ", 2, True, 0.5)
    assert isinstance(seen["who"], discord.Member) and seen["who"].id == BOB_ID

    view = await answered(emulator, interaction_id)
    assert view["state"] == "answered" and view["answered_in_time"] is True
    assert view["response_type"] == 4 and [c["status"] for c in view["callbacks"]] == [200]
    original = view["original"]
    assert original["content"] == "HI HI " and original["flags"] & EPHEMERAL
    assert original["type"] == 20 and original["interaction_metadata"]["user"]["id"] == str(ALICE_ID)
    # Ephemeral: not in the channel, not dispatched.
    assert emulator.messages("general", author="bot") == []
    [event] = [e for e in emulator.events() if e["type"] == "interaction_callback"]
    assert (event["interaction_id"], event["callback_type"], event["ephemeral"]) == (interaction_id, 4, True)
    payload = view["payload"]
    assert payload["data"]["options"][1] == {"name": "times", "type": 4, "value": 2}
    assert payload["attachment_size_limit"] > 0 and payload["member"]["user"]["id"] == str(ALICE_ID)


@pytest.mark.asyncio
async def test_files_edits_ephemeral_followups_and_deletion(synced: CommandBot, emulator: Emulator) -> None:
    interaction_id = emulator.invoke_command("report")
    seen = await synced.next_seen()
    view = emulator.interaction(interaction_id)
    original = view["original"]
    assert seen["original"].id == int(original["id"]) and seen["original"].content == "see the report"
    assert original["content"] == "see the report (final)" and original["created_content"] == "see the report"
    [attachment] = original["attachments"]
    assert attachment["filename"] == "report.txt"
    assert await asyncio.wait_for(seen["original"].attachments[0].read(), DEADLINE) == b"report body"

    secret, temporary = view["followups"]
    assert secret["flags"] & EPHEMERAL and secret["interaction_metadata"]["original_response_message_id"]
    assert temporary["deleted"] is True and not secret["deleted"]
    # The channel keeps only the public original; the ephemeral followup never was there.
    assert [m["id"] for m in emulator.messages("general", author="bot")] == [original["id"]]
    kinds = [e["type"] for e in emulator.events() if e["type"] != "commands_registered"]
    assert kinds == ["interaction_callback", "original_edit", "followup_create", "followup_create", "followup_delete"]


@pytest.mark.asyncio
async def test_defer_then_followups(synced: CommandBot, emulator: Emulator) -> None:
    interaction_id = emulator.invoke_command("slow", options={"topic": "tea"}, user="bob", channel_id="random")
    seen = await synced.next_seen()
    view = emulator.interaction(interaction_id)
    assert view["response_type"] == 5
    # The first followup after a defer edits the "thinking" message; the next one is new.
    original, [followup] = view["original"], view["followups"]
    assert original["content"] == "about tea" and not original["flags"] & LOADING
    assert original["created_content"] == "" and [e["content"] for e in original["edits"]] == ["about tea"]
    assert followup["content"] == "one more thing"
    assert seen["first"].id == int(original["id"]) and seen["second"].id == int(followup["id"])
    # Not ephemeral: both are channel messages the bot also received over the gateway.
    in_channel = emulator.messages("random", author="bot")
    assert [m["id"] for m in in_channel] == [original["id"], followup["id"]]
    kinds = [(e["type"], e.get("edited_original")) for e in emulator.events() if e["type"] != "commands_registered"]
    assert kinds == [("interaction_callback", None), ("followup_create", True), ("followup_create", False)]


@pytest.mark.asyncio
async def test_answering_after_the_deadline_is_unknown_interaction(synced: CommandBot, emulator: Emulator) -> None:
    interaction_id = emulator.invoke_command("late")
    expired = await emulator.wait_for_event(
        lambda e: e["type"] == "interaction_expired" and e["interaction_id"] == interaction_id, timeout=DEADLINE
    )
    assert expired["deadline_s"] == RESPONSE_DEADLINE_S
    synced.release_late.set()
    seen = await synced.next_seen()
    assert isinstance(seen["error"], discord.NotFound) and seen["error"].code == 10062
    view = emulator.interaction(interaction_id)
    assert view["state"] == "expired" and view["answered_in_time"] is False
    assert [(c["status"], c["code"]) for c in view["callbacks"]] == [(404, 10062)]
    assert view["original"] is None and emulator.messages("general", author="bot") == []


@pytest.mark.asyncio
async def test_a_followup_before_any_response_is_unknown_webhook(synced: CommandBot, emulator: Emulator) -> None:
    interaction_id = emulator.invoke_command("eager")
    seen = await synced.next_seen()
    assert isinstance(seen["error"], discord.NotFound) and seen["error"].code == 10015
    view = await answered(emulator, interaction_id)
    assert view["original"]["content"] == "now properly" and view["followups"] == []
    [rejected] = [e for e in emulator.events() if e["type"] == "interaction_rejected"]
    assert (rejected["route"], rejected["status"], rejected["code"]) == ("followup", 404, 10015)


@pytest.mark.asyncio
async def test_subcommand_in_a_group(synced: CommandBot, emulator: Emulator) -> None:
    emulator.invoke_command("admin user ban", options={"who": "bob"})
    seen = await synced.next_seen()
    assert seen["who"].id == BOB_ID and seen["reason"] == "none"
    interaction_id = emulator.invoke_command(
        "admin", subcommand_group="user", subcommand="ban", options={"who": str(ALICE_ID), "reason": "spam"}
    )
    seen = await synced.next_seen()
    assert seen["who"].id == ALICE_ID and seen["reason"] == "spam"
    assert (await answered(emulator, interaction_id))["original"]["content"] == "banned alice"


@pytest.mark.asyncio
async def test_guild_command_works_only_in_its_guild(synced: CommandBot, emulator: Emulator) -> None:
    interaction_id = emulator.invoke_command("local")
    view = await answered(emulator, interaction_id)
    assert view["original"]["content"] == "hello Test Guild"
    assert view["payload"]["data"]["guild_id"] == str(GUILD_ID)
    with pytest.raises(DiscordError) as caught:
        emulator.invoke_command("local", channel_id="lobby")
    assert caught.value.code == 10063  # Unknown application command


# -- context menus and permissions ------------------------------------------------------------------


@pytest.mark.asyncio
async def test_message_context_menu_resolves_the_target_message(synced: CommandBot, emulator: Emulator) -> None:
    target = emulator.inject_message("quotable words", author="bob")
    interaction_id = emulator.invoke_command("Quote", command_type=3, target_id=target["id"])
    seen = await synced.next_seen(lambda s: s.get("command") == "Quote")
    message = seen["message"]
    assert isinstance(message, discord.Message)
    assert (message.id, message.content, message.author.id) == (int(target["id"]), "quotable words", BOB_ID)
    view = await answered(emulator, interaction_id)
    assert view["original"]["content"] == "> quotable words" and view["original"]["type"] == 23
    assert view["payload"]["data"]["target_id"] == target["id"]


@pytest.mark.asyncio
async def test_user_context_menu_resolves_the_member(synced: CommandBot, emulator: Emulator) -> None:
    emulator.invoke_command("Inspect", command_type="user", target_id="bob", channel_id="random")
    seen = await synced.next_seen()
    assert isinstance(seen["member"], discord.Member) and seen["member"].id == BOB_ID


@pytest.mark.asyncio
async def test_permissions_follow_roles_and_can_be_overridden(synced: CommandBot, emulator: Emulator) -> None:
    emulator.invoke_command("perms", user="bob")
    seen = await synced.next_seen()
    assert seen["user"].id == BOB_ID
    assert seen["permissions"].manage_guild is False and seen["permissions"].send_messages is True

    emulator.invoke_command("perms", user="alice")  # the owner
    seen = await synced.next_seen()
    assert seen["permissions"].manage_guild is True and seen["permissions"].administrator is True

    emulator.invoke_command("perms", user="bob", permissions=int(discord.Permissions(manage_guild=True).value))
    seen = await synced.next_seen()
    assert seen["permissions"].manage_guild is True and seen["permissions"].send_messages is False

    # A command with default_member_permissions is not available to bob.
    with pytest.raises(DiscordError) as caught:
        emulator.invoke_command("purge", user="bob")
    assert caught.value.status == 403
    interaction_id = emulator.invoke_command("purge", user="alice")
    assert (await answered(emulator, interaction_id))["original"]["content"] == "purged"


# -- components and modals ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_button_updates_its_message_and_select_defers(synced: CommandBot, emulator: Emulator) -> None:
    survey = await answered(emulator, emulator.invoke_command("survey"))
    message_id = survey["original"]["id"]
    custom_ids = [c["custom_id"] for row in survey["original"]["components"] for c in row["components"]]
    assert custom_ids == ["survey:yes", "survey:colour"]

    picked = emulator.click_component(message_id, "survey:colour", values=["blue"], user="bob")
    assert (await synced.next_seen())["values"] == ["blue"]
    assert (await answered(emulator, picked))["response_type"] == 6

    clicked = emulator.click_component(message_id, "survey:yes", user="bob")
    seen = await synced.next_seen()
    assert seen["component"] == "yes" and seen["user"].id == BOB_ID
    view = await answered(emulator, clicked)
    assert view["response_type"] == 7 and view["original"]["id"] == message_id
    stored = emulator.message(int(message_id))
    assert stored["content"] == "Thanks!" and stored["components"] == []


@pytest.mark.asyncio
async def test_modal_is_shown_and_submitted(synced: CommandBot, emulator: Emulator) -> None:
    shown = await answered(emulator, emulator.invoke_command("feedback"))
    assert shown["response_type"] == 9 and shown["modal"]["custom_id"] == "feedback"
    submitted = emulator.submit_modal(shown["id"], {"feedback:comment": "lovely"})
    assert (await synced.next_seen())["comment"] == "lovely"
    view = await answered(emulator, submitted)
    assert view["kind"] == "modal_submit" and view["original"]["content"] == "thanks for the feedback"
    with pytest.raises(DiscordError, match="already submitted"):
        emulator.submit_modal(shown["id"], {"feedback:comment": "again"})


# -- tokens and the control API over HTTP ------------------------------------------------------------------


@pytest.mark.asyncio
async def test_interaction_token_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    config = EmulatorConfig(interaction_token_lifetime_s=1.0)
    async with Emulator(config) as emulator:
        point_discord_py_at(monkeypatch, emulator.url)
        async with running(CommandBot(), config.token) as client:
            await asyncio.wait_for(client.sync(), DEADLINE)
            captured: asyncio.Queue[discord.Interaction] = asyncio.Queue()
            client.bot.add_listener(captured.put, "on_interaction")
            interaction_id = emulator.invoke_command("perms")
            interaction = await asyncio.wait_for(captured.get(), DEADLINE)
            await answered(emulator, interaction_id)
            await asyncio.wait_for(interaction.followup.send("still valid"), DEADLINE)

            async def token_expired() -> None:
                while not emulator.interaction(interaction_id)["token_expired"]:
                    await asyncio.sleep(0.05)

            await asyncio.wait_for(token_expired(), DEADLINE)
            with pytest.raises(discord.HTTPException) as caught:
                await asyncio.wait_for(interaction.followup.send("too late"), DEADLINE)
            assert (caught.value.status, caught.value.code) == (401, 50027)
            assert [f["content"] for f in emulator.interaction(interaction_id)["followups"]] == ["still valid"]


@pytest.mark.asyncio
async def test_control_api_invokes_commands_over_http(synced: CommandBot, emulator: Emulator) -> None:
    client = EmulatorClient(emulator.url)
    interaction_id = await asyncio.to_thread(
        client.invoke_command, "echo", options={"text": "wire"}, user=str(BOB_ID), channel_id=GENERAL_CHANNEL_ID
    )
    view = await asyncio.to_thread(client.wait_for_interaction_response, interaction_id, timeout=DEADLINE)
    assert view["original"]["content"] == "wire" and view["user_id"] == str(BOB_ID)
    registered = await asyncio.to_thread(client.registered_commands)
    assert "echo" in {c["name"] for c in registered["global"]}

    with pytest.raises(EmulatorRequestError) as caught:
        await asyncio.to_thread(client.invoke_command, "nope")
    assert (caught.value.status, caught.value.body["code"]) == (404, 10063)
    with pytest.raises(EmulatorRequestError) as caught:
        await asyncio.to_thread(client.invoke_command, "echo", options={"times": 2})  # text is required
    assert caught.value.status == 400
    with pytest.raises(EmulatorRequestError) as caught:
        await asyncio.to_thread(client.invoke_command, "echo", options={"text": "x", "times": "many"})
    assert caught.value.status == 400
    with pytest.raises(EmulatorRequestError) as caught:
        await asyncio.to_thread(client.interaction, "12345")
    assert caught.value.status == 404


@pytest.mark.asyncio
async def test_commands_work_in_the_second_guild_and_in_dms(synced: CommandBot, emulator: Emulator) -> None:
    in_second = emulator.invoke_command("echo", options={"text": "over there"}, channel_id="lobby", user="bob")
    view = await answered(emulator, in_second)
    assert view["guild_id"] == str(SECOND_GUILD_ID) and view["payload"]["context"] == 0
    in_dm = emulator.invoke_command("echo", options={"text": "private"}, dm=True)
    view = await answered(emulator, in_dm)
    assert view["guild_id"] is None and view["payload"]["context"] == 1 and "user" in view["payload"]
    assert view["original"]["content"] == "private"


@pytest.mark.asyncio
async def test_only_members_can_invoke(emulator: Emulator) -> None:
    with pytest.raises(DiscordError, match="cannot invoke"):
        emulator.invoke_command("echo", user="bot")
    with pytest.raises(DiscordError) as caught:  # otherbot is not in Second Guild
        emulator.invoke_command("echo", user="otherbot", channel_id="lobby")
    assert caught.value.code == 50001
