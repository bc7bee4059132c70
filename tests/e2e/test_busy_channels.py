"""A busy bot: a burst merged into one answer, a long queue told its place, a channel answered in order.

The planner is paused (SIGSTOP) to make the bot busy on demand, as a stalled planner would.
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator
from contextlib import contextmanager

import redis

from switchboard.core import keys
from switchboard.core.config import ConfigPatch, DoubleTexting
from switchboard.core.wire import ActivationRecord, HistoryWindow, Outcome, StepResult
from switchboard.devstack.stack import Stack
from switchboard.emulator.client import EmulatorClient
from tests.conftest import wait_until
from tests.e2e.conftest import QUEUE_NOTICE_OVER
from tests.e2e.test_gateway_behaviour import configure_channel, seen_by_gateway
from tests.e2e.test_walking_skeleton import REPLY_TIMEOUT, bot_messages_replying_to, wait_for_posted_reply


@contextmanager
def planner_paused(stack: Stack) -> Iterator[None]:
    pid = stack.services["planner"].pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def test_merge_answers_a_burst_once_with_all_of_it_in_view(emulator: EmulatorClient, store: redis.Redis,
                                                           stack: Stack) -> None:
    channel = emulator.create_channel("bursty")["id"]
    configure_channel(store, channel, ConfigPatch(double_texting=DoubleTexting.MERGE))
    with planner_paused(stack):
        burst = [emulator.inject_message(text, channel_id=channel, author="alice", mention_bot=True)
                 for text in ("hey", "I have a question", "what rhymes with moon?")]
        wait_until(lambda: all(store.exists(keys.superseded(m["id"])) for m in burst[:2]), 10,
                   "the newest message to take the place of the others")
    last = burst[-1]["id"]
    assert wait_for_posted_reply(store, emulator, last)["content"]
    for merged in burst[:2]:
        wait_until(lambda m=merged: store.get(keys.posted(m["id"])) == "silent", REPLY_TIMEOUT, "a silent outcome")
        assert bot_messages_replying_to(emulator, merged["id"]) == []
        assert ActivationRecord.from_json(store.get(keys.record(merged["id"]))).outcome == Outcome.SILENT
    window = StepResult.from_json(store.hget(keys.journal(last), "history:0")).output
    assert isinstance(window, HistoryWindow)
    seen = " | ".join(m.content for m in window.messages)
    assert "hey" in seen and "I have a question" in seen


def test_a_long_queue_tells_newcomers_their_place(emulator: EmulatorClient, store: redis.Redis,
                                                  stack: Stack) -> None:
    channels = [emulator.create_channel(f"queue-{i}")["id"] for i in range(QUEUE_NOTICE_OVER + 2)]
    with planner_paused(stack):
        sent = [emulator.inject_message("say hi", channel_id=c, author="bob", mention_bot=True) for c in channels]
        wait_until(lambda: all(store.exists(keys.accepted(m["id"])) for m in sent), 10, "every activation queued")
        # Channels are decided in parallel, so which newcomer sees the long line first may vary.
        ids = {m["id"] for m in sent}
        notices = wait_until(lambda: [m for m in emulator.messages(author="bot") if "in line" in m["content"]
                                      and (m.get("message_reference") or {}).get("message_id") in ids],
                             10, "a queue notice")
        # A blocked read hands one entry to the paused planner anyway: the rest wait in line.
        positions = [int(re.search(r"#(\d+) in line", n["content"]).group(1)) for n in notices]
        assert all(QUEUE_NOTICE_OVER < p <= len(sent) for p in positions)
        assert len({n["message_reference"]["message_id"] for n in notices}) == len(notices)  # one each at most
    for message in sent:  # the notice is a courtesy: every message still gets its one answer
        assert wait_for_posted_reply(store, emulator, message["id"])["content"]


def test_a_channel_is_answered_in_the_order_it_asked(emulator: EmulatorClient, store: redis.Redis,
                                                     stack: Stack) -> None:
    channel = emulator.create_channel("in-order")["id"]
    with planner_paused(stack):
        asked = [emulator.inject_message(f"question {i}: say a number", channel_id=channel, author="alice",
                                         mention_bot=True) for i in range(3)]
        wait_until(lambda: all(seen_by_gateway(store, channel, m["id"]) for m in asked), 10, "the gateway")
    answers = [wait_for_posted_reply(store, emulator, m["id"]) for m in asked]
    posted_order = [a["id"] for a in sorted(answers, key=lambda a: int(a["id"]))]
    assert posted_order == [a["id"] for a in answers]  # message ids grow with time: posted in asking order
    later = StepResult.from_json(store.hget(keys.journal(asked[2]["id"]), "history:0")).output
    assert isinstance(later, HistoryWindow)
    assert sum(m.from_self for m in later.messages) == 2  # the third answer saw the first two answers
