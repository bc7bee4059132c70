"""The Discord token and what users write stay out of logs and traces, even at DEBUG.

The services run as processes (gateway, planner, tools worker, inference) against the Discord emulator, with
`SWITCHBOARD_LOG_LEVEL=DEBUG` and traces exported to an in-test OTLP receiver. The gateway logs in with a
token of Discord's shape; a user sends a message holding a canary text; the model (a local fake of an
OpenAI-compatible API) first stores the canary with the `remember` tool (so it is a tool argument too), then
answers with it (so it is in the reply). Then every line of every service's log and every exported span is
searched for the token, its signature part, and the canary.

The emulator's own log is not searched: it plays Discord, which is told the token and shown the message.
The controls prove the canary went everywhere it could leak from, and that logs and spans were written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from switchboard.core import keys
from switchboard.core.config import ConfigPatch
from switchboard.devstack.stack import Stack, StackConfig
from switchboard.emulator.client import EmulatorClient
from tests.conftest import wait_until
from tests.support.fake_chat_api import FakeChatApi
from tests.support.otlp_raw import RawOtlpReceiver

# Shaped like a real bot token: base64 of the bot's id, a timestamp, an HMAC. Made up, valid nowhere.
TOKEN = "MTE4NDQ1NTY2NzQwMzk5NzQ0MA.GhT3xQ.q7Vw2fKp9LmZs4RtYb8NcEj1UoXa6DiHg0WkPy"
SIGNATURE = TOKEN.rsplit(".", 1)[1]
CANARY = "canary-5be1c0 the lighthouse keeper's parrot sings at noon"
CHAT_API_KEY = "sk-secrets-test-0123456789abcdef"
SERVICES = ("gateway", "planner", "tools", "inference")
SECRETS = {"the Discord token": TOKEN, "the token's signature": SIGNATURE, "the message text": CANARY,
           "the chat API key": CHAT_API_KEY}


@pytest.fixture(scope="module")
def otlp() -> Iterator[RawOtlpReceiver]:
    receiver = RawOtlpReceiver()
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def chat_api() -> Iterator[FakeChatApi]:
    with FakeChatApi() as api:
        yield api


@pytest.fixture(scope="module")
def finished_stack(tmp_path_factory: pytest.TempPathFactory, otlp: RawOtlpReceiver,
                   chat_api: FakeChatApi) -> Iterator[tuple[Stack, dict]]:
    """The services run one conversation with the canary and are stopped (logs and spans flushed);
    yields the stack and the bot's posted reply."""
    stack = Stack(StackConfig(
        run_dir=Path(tmp_path_factory.mktemp("secrets")), services=SERVICES, emulator_args=("--token", TOKEN),
        env={"SWITCHBOARD_LOG_LEVEL": "DEBUG", "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.endpoint,
             "OTEL_BSP_SCHEDULE_DELAY": "100"},
        service_env={
            "gateway": {"SWITCHBOARD_EMULATOR_TOKEN": TOKEN},
            "tools": {"SWITCHBOARD_ENABLED_TOOLS": json.dumps(["calculator", "clock", "remember"])},
            "inference": {"SWITCHBOARD_CHAT_BACKEND": "openai", "SWITCHBOARD_CHAT_BASE_URL": chat_api.url,
                          "SWITCHBOARD_CHAT_MODEL_NAME": chat_api.model, "SWITCHBOARD_CHAT_API_KEY": CHAT_API_KEY,
                          "SWITCHBOARD_VISION_BACKEND": "none"},
        }))
    try:
        stack.start(timeout=120)
        reply = converse(stack, chat_api)
    finally:
        stack.stop()  # every process flushes its log and its last spans on the way out
    yield stack, reply


def converse(stack: Stack, chat_api: FakeChatApi) -> dict:
    """One message with the canary in a channel that lets the model use `remember`; the bot's reply to it."""
    assert stack.emulator_url is not None
    emulator, store = EmulatorClient(stack.emulator_url), redis.Redis.from_url(stack.redis_url, decode_responses=True)
    channel = emulator.create_channel("secrets")["id"]
    store.set(keys.channel_config(channel), ConfigPatch(
        callsystem="cs.switchboard.integrations@latest", allowed_tools=("clock", "remember")).to_json())
    chat_api.script(tool_calls=[{"name": "remember", "arguments": {"key": "motto", "value": CANARY}}])
    chat_api.script(text=f"Noted. You said: {CANARY}")
    asked = emulator.inject_message(f"please remember this: {CANARY}", channel_id=channel, author="alice",
                                    mention_bot=True)
    wait_until(lambda: store.exists(keys.posted(asked["id"])), 60, "the bot's reply")
    [reply] = [m for m in emulator.messages(channel_id=channel, author="bot") if m.get("nonce") == asked["id"]]
    store.close()
    return reply


def test_the_canary_went_everywhere_it_could_leak_from(finished_stack: tuple[Stack, dict], chat_api: FakeChatApi,
                                                       otlp: RawOtlpReceiver) -> None:
    stack, reply = finished_stack
    assert CANARY in reply["content"]  # the reply text
    assert any(CANARY in json.dumps(request.body) for request in chat_api.requests)  # the prompt
    services = {span.service for span in otlp.spans}
    assert {f"switchboard-{name}" for name in SERVICES} <= services, services
    assert any(span.name == "execute_tool remember" for span in otlp.spans)  # the tool call with the canary
    for name in SERVICES:
        log = (stack.log_dir / f"{name}.log").read_text(errors="replace")
        assert " DEBUG " in log, f"{name} logged nothing at DEBUG"


@pytest.mark.parametrize("secret", ["the Discord token", "the token's signature", "the chat API key"])
def test_credentials_appear_in_no_log_line(finished_stack: tuple[Stack, dict], secret: str) -> None:
    leaks = leaks_in_logs(finished_stack[0], SECRETS[secret])
    assert not leaks, "\n".join(leaks)


@pytest.mark.parametrize("secret", ["the Discord token", "the token's signature", "the chat API key"])
def test_credentials_appear_in_no_span(finished_stack: tuple[Stack, dict], otlp: RawOtlpReceiver,
                                       secret: str) -> None:
    assert otlp.contains(SECRETS[secret]) == []


def test_the_message_text_appears_in_no_log_line(finished_stack: tuple[Stack, dict]) -> None:
    leaks = leaks_in_logs(finished_stack[0], CANARY)
    assert not leaks, "\n".join(leaks)


def test_no_logger_but_discord_py_logs_the_message_text(finished_stack: tuple[Stack, dict]) -> None:
    """Narrows the failure above to discord.py: Switchboard's own loggers, Celery's and kombu's stay clean."""
    leaks = [line for line in leaks_in_logs(finished_stack[0], CANARY)
             if not line.split(" | ")[0].startswith("discord.")]
    assert not leaks, "\n".join(leaks)


def test_the_message_text_appears_in_no_span(finished_stack: tuple[Stack, dict], otlp: RawOtlpReceiver) -> None:
    assert otlp.contains(CANARY) == []


RECORD = re.compile(r"^\S+ \S+ \S+ (?:DEBUG|INFO|WARNING|ERROR|CRITICAL) (?P<logger>[^:\s]+): ")


def leaks_in_logs(stack: Stack, text: str) -> list[str]:
    """Every log line of the services (not the emulator's) that holds `text` (also JSON- or repr-escaped), as
    `<logger> | <file>:<line>: <text>`; a line of a multi-line record counts for the record's logger."""
    forms = {text, json.dumps(text)[1:-1], repr(text)[1:-1], text.replace(" ", "+"), text.replace(" ", "%20")}
    found = []
    for name in SERVICES:
        logger = "?"
        for number, line in enumerate((stack.log_dir / f"{name}.log").read_text(errors="replace").splitlines(), 1):
            if record := RECORD.match(line):
                logger = record["logger"]
            if any(form in line for form in forms):
                found.append(f"{logger} | {name}.log:{number}: {line[:300]}")
    return found
