"""A real, unmodified discord.py bot pointed at an in-process Discord emulator, for tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import discord
import pytest
import yarl
from discord.ext import commands

from switchboard.emulator.state import BOT_USER_ID

DEADLINE = 10.0  # seconds any single wait may take


class BotHarness:
    """A running discord.py bot plus queues of what it received."""

    def __init__(self, bot: commands.Bot):
        self.bot = bot
        self.received: asyncio.Queue[discord.Message] = asyncio.Queue()
        bot.add_listener(self._on_message, "on_message")

    async def _on_message(self, message: discord.Message) -> None:
        await self.received.put(message)

    async def next_message(self, predicate: Callable[[discord.Message], bool] | None = None) -> discord.Message:
        """The next received message matching ``predicate`` (default: any not written by the bot)."""
        predicate = predicate or (lambda m: m.author.id != BOT_USER_ID)

        async def first_match() -> discord.Message:
            while True:
                message = await self.received.get()
                if predicate(message):
                    return message

        return await asyncio.wait_for(first_match(), DEADLINE)

    def channel(self, name: str) -> discord.TextChannel:
        channel = discord.utils.get(self.bot.get_all_channels(), name=name)
        assert isinstance(channel, discord.TextChannel)
        return channel


def point_discord_py_at(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """Send discord.py's REST calls and gateway connection to the emulator at ``url``."""
    monkeypatch.setattr(discord.http.Route, "BASE", f"{url}/api/v10")
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL("ws" + url.removeprefix("http") + "/gateway")
    )


@contextlib.asynccontextmanager
async def running_bot(token: str, *, message_content: bool = True) -> AsyncIterator[BotHarness]:
    """Start a bot, wait for on_ready (or its failure), and close it afterwards."""
    intents = discord.Intents.default()
    intents.message_content = message_content
    bot = commands.Bot(command_prefix="!", intents=intents, guild_ready_timeout=0.05)
    harness = BotHarness(bot)
    ready = asyncio.Event()

    async def on_ready() -> None:
        ready.set()

    bot.add_listener(on_ready, "on_ready")
    runner = asyncio.create_task(bot.start(token))
    ready_waiter = asyncio.create_task(ready.wait())
    try:
        done, _ = await asyncio.wait({runner, ready_waiter}, timeout=DEADLINE, return_when=asyncio.FIRST_COMPLETED)
        if runner in done:
            runner.result()  # re-raises the login/connect failure
            pytest.fail("bot stopped before on_ready")
        assert ready_waiter in done, "on_ready did not fire in time"
        yield harness
    finally:
        ready_waiter.cancel()
        await asyncio.wait_for(bot.close(), DEADLINE)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(runner, DEADLINE)
