"""Fixtures for integration tests that run discord.py against an in-process emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

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


@pytest.fixture
def spans() -> tuple[TracerProvider, InMemorySpanExporter]:
    """A tracer provider whose spans a test reads back."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter
