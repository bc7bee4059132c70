"""Injected failures in the Discord emulator, and how an unmodified discord.py client copes.

A fault makes the next matching REST requests fail before they are handled,
so whatever discord.py retries must still take effect exactly once. Every
wait has a deadline.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
import discord
import pytest

from switchboard.emulator import Emulator, EmulatorClient, EmulatorRequestError
from switchboard.emulator.state import GENERAL_CHANNEL_ID
from tests.support.discord_bot import DEADLINE, BotHarness

MESSAGES = r"^/channels/\d+/messages$"


@pytest.mark.asyncio
async def test_injected_429_is_waited_out_and_the_message_created_once(emulator: Emulator, harness: BotHarness) -> None:
    emulator.add_fault(429, MESSAGES, method="POST", retry_after=0.4)
    started = time.monotonic()
    sent = await asyncio.wait_for(harness.channel("general").send("after the wait"), DEADLINE)
    assert time.monotonic() - started >= 0.4
    [stored] = emulator.messages("general", author="bot")
    assert stored["id"] == str(sent.id) and stored["content"] == "after the wait"
    kinds = [e["type"] for e in emulator.events()]
    assert kinds == ["fault_injected", "message_create"]
    [fault] = [e for e in emulator.events() if e["type"] == "fault_injected"]
    assert (fault["status"], fault["method"], fault["retry_after"], fault["global"]) == (429, "POST", 0.4, False)
    assert fault["channel_id"] == str(GENERAL_CHANNEL_ID) and fault["route"] == "POST /channels/{channel_id}/messages"
    assert emulator.state()["faults"] == {"pending": [], "injected": 1}


@pytest.mark.asyncio
async def test_injected_500_is_retried(emulator: Emulator, harness: BotHarness) -> None:
    emulator.add_fault(500, MESSAGES)
    sent = await asyncio.wait_for(harness.channel("general").send("second time lucky"), DEADLINE)
    assert [m["id"] for m in emulator.messages("general", author="bot")] == [str(sent.id)]
    assert [e["status"] for e in emulator.events() if e["type"] == "fault_injected"] == [500]


@pytest.mark.asyncio
async def test_injected_503_is_not_retried_by_discord_py(emulator: Emulator, harness: BotHarness) -> None:
    emulator.add_fault(503, MESSAGES, count=1)
    with pytest.raises(discord.DiscordServerError) as caught:
        await asyncio.wait_for(harness.channel("general").send("lost"), DEADLINE)
    assert caught.value.status == 503
    assert emulator.messages("general", author="bot") == []
    await asyncio.wait_for(harness.channel("general").send("fine again"), DEADLINE)
    assert [m["content"] for m in emulator.messages("general", author="bot")] == ["fine again"]


@pytest.mark.asyncio
async def test_faults_are_faithful_and_controllable_over_http(emulator: Emulator) -> None:
    client = EmulatorClient(emulator.url)
    armed = await asyncio.to_thread(client.add_fault, 429, r"/typing$", count=2, retry_after=2.5, is_global=True)
    assert (armed["remaining"], armed["global"], armed["method"]) == (2, True, None)
    await asyncio.to_thread(client.add_fault, 502, r"^/users/@me$", method="get")
    url = f"{emulator.api_base}/channels/{GENERAL_CHANNEL_ID}/typing"
    async with aiohttp.ClientSession(headers={"Authorization": f"Bot {emulator.config.token}"}) as http:
        async with http.post(url) as response:
            assert response.status == 429 and response.headers["Content-Type"] == "application/json"
            assert response.headers["Via"] == "1.1 google" and response.headers["Retry-After"] == "3"
            assert response.headers["X-RateLimit-Scope"] == "global"
            assert response.headers["X-RateLimit-Global"] == "true"
            assert response.headers["X-RateLimit-Remaining"] == "0"
            assert response.headers["X-RateLimit-Reset-After"] == "2.500"
            body = await response.json()
            assert body == {"message": "You are being rate limited.", "retry_after": 2.5, "global": True, "code": 0}
        async with http.get(f"{emulator.api_base}/users/@me") as response:
            assert response.status == 502 and response.headers["Content-Type"].startswith("text/html")
        async with http.get(f"{emulator.api_base}/users/@me") as response:
            assert response.status == 200  # that fault was used up
        # Unauthenticated requests are refused before any fault applies.
        async with aiohttp.ClientSession() as anonymous, anonymous.post(url) as response:
            assert response.status == 401
    faults = await asyncio.to_thread(client.faults)
    assert faults["injected"] == 2 and [f["remaining"] for f in faults["faults"]] == [1]
    assert await asyncio.to_thread(client.clear_faults) == 1
    assert (await asyncio.to_thread(client.faults))["faults"] == []
    assert [e["type"] for e in emulator.events()] == ["fault_injected", "fault_injected"]
    assert emulator.events()[0]["route"] == "POST /channels/{channel_id}/typing"

    for status, pattern in ((418, "x"), (500, "("), (500, "")):
        with pytest.raises(EmulatorRequestError) as caught:
            await asyncio.to_thread(client.add_fault, status, pattern)
        assert caught.value.status == 400
