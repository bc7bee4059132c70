"""Fixtures for integration tests that run discord.py against an in-process emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from switchboard.emulator import Emulator
from tests.support.discord_bot import BotHarness, point_discord_py_at, running_bot


@pytest_asyncio.fixture
async def emulator(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Emulator]:
    async with Emulator() as running:
        point_discord_py_at(monkeypatch, running.url)
        yield running


@pytest_asyncio.fixture
async def harness(emulator: Emulator) -> AsyncIterator[BotHarness]:
    async with running_bot(emulator.config.token) as running:
        yield running
