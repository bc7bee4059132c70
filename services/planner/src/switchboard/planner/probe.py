"""`switchboard-probe`: one message to a channel's agent group, timed. One attempt, no retries.

It queues a probe activation the way the gateway queues a message in that channel, follows
`sb:replies` for its answers, and reports how many personas answered and when: the first-reply and
all-replies times run from acceptance to each answer being ready to post. The verdict is one typed
bucket: `ok`, `no_personas_replied`, `first_response_budget_exceeded`, `all_response_budget_exceeded`
or `fairness_violated` (a persona answered twice, one that was not asked answered, or one was left
out while others answered). Nothing is posted in the channel unless `--post` is given. The exit status
is 0 only for `ok`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import redis.asyncio as aioredis

from switchboard.core.activation_queue import ActivationQueue
from switchboard.core.config import ConfigStore
from switchboard.core.errors import ConfigError, FirstResponseBudgetExceeded
from switchboard.core.keys import STREAM_FIELD, Stream
from switchboard.core.redis_client import connect_async
from switchboard.core.settings import ServiceSettings
from switchboard.core.wire import Activation, Reply, Trigger
from switchboard.planner.callsystems.turn_plan import ALL_RESPONSE_BUDGET_EXCEEDED, Budgets, named_personas

OK = "ok"
NO_PERSONAS_REPLIED = "no_personas_replied"
FIRST_RESPONSE_BUDGET_EXCEEDED = FirstResponseBudgetExceeded.code
FAIRNESS_VIOLATED = "fairness_violated"
DEFAULT_MESSAGE = "Hello everyone! What is one thing you would like to talk about today?"


@dataclass(frozen=True)
class ProbeReport:
    activation_id: str
    expected: tuple[str, ...]
    answered: tuple[str, ...]  # speakers, in the order their answers were ready
    first_reply_s: float | None
    all_replies_s: float | None
    outcome: str | None  # the activation's outcome; None when it did not finish in time
    bucket: str
    detail: str

    def summary(self) -> str:
        def seconds(value: float | None) -> str:
            return "none" if value is None else f"{value:.2f} s"

        return (f"probe {self.activation_id}: {len(set(self.answered))}/{len(self.expected)} personas answered "
                f"({', '.join(self.answered) or 'none'}); first reply {seconds(self.first_reply_s)}, "
                f"all replies {seconds(self.all_replies_s)}; {self.bucket}: {self.detail}")


def judge(activation_id: str, expected: Sequence[str], accepted_at: float, turns: Sequence[Reply],
          final: Reply | None, budgets: Budgets) -> ProbeReport:
    """The verdict on one probe's answers (a pure function of what came back)."""
    answered = tuple(turn.speaker or "" for turn in sorted(turns, key=lambda t: t.created_at))
    times = sorted(turn.created_at - accepted_at for turn in turns)
    first, last = (times[0], times[-1]) if times else (None, None)
    outcome = final.outcome.value if final else None

    def report(bucket: str, detail: str) -> ProbeReport:
        return ProbeReport(activation_id, tuple(expected), answered, first, last, outcome, bucket, detail)

    if final is not None and final.error is not None and final.error.code == FIRST_RESPONSE_BUDGET_EXCEEDED:
        return report(FIRST_RESPONSE_BUDGET_EXCEEDED, f"refused before starting: {final.error.message}")
    if not answered:
        why = "the activation did not finish in time" if final is None else f"outcome {outcome}"
        return report(NO_PERSONAS_REPLIED, why)
    if first is not None and first > budgets.first_s:
        return report(FIRST_RESPONSE_BUDGET_EXCEEDED, f"first reply after {first:.2f} s > {budgets.first_s:g} s")
    if final is None or (last is not None and last > budgets.all_s):
        return report(ALL_RESPONSE_BUDGET_EXCEEDED, "not every answer came in time" if final is None
                      else f"last reply after {last:.2f} s > {budgets.all_s:g} s")
    twice = sorted(name for name, count in Counter(answered).items() if count > 1)
    uninvited = sorted(set(answered) - set(expected))
    left_out = [name for name in expected if name not in answered]
    if twice or uninvited or left_out:
        return report(FAIRNESS_VIOLATED, "; ".join(
            part for part in (f"answered twice: {', '.join(twice)}" if twice else "",
                              f"not asked: {', '.join(uninvited)}" if uninvited else "",
                              f"left out: {', '.join(left_out)}" if left_out else "") if part))
    return report(OK, "every persona answered once, within both budgets")


async def probe(client: aioredis.Redis, guild_id: str | None, channel_id: str, message: str, *,
                budgets: Budgets, timeout_s: float, post: bool) -> ProbeReport:
    """Queue one probe message in the channel and judge what its agent group answers."""
    config = await ConfigStore(client).resolve(guild_id, channel_id)
    if not config.group:
        raise ConfigError(f"channel {channel_id} has no agent group (see /persona group)")
    expected = named_personas(message, config.group) or list(config.group)
    last = await client.xrevrange(Stream.REPLIES, count=1)
    cursor = last[0][0] if last else "0-0"
    probe_id = f"probe-{uuid.uuid4().hex[:12]}"
    activation = Activation(id=probe_id, trigger=Trigger.CHANNEL, guild_id=guild_id, channel_id=channel_id,
                            message_id=probe_id, author_id="probe", author_name="probe", content=message,
                            deliver=post)
    await ActivationQueue(client, retention_s=3600).enqueue(activation)
    turns, final = await _follow(client, probe_id, cursor, time.monotonic() + timeout_s)
    return judge(probe_id, expected, activation.accepted_at, turns, final, budgets)


async def _follow(client: aioredis.Redis, activation_id: str, cursor: str,
                  deadline: float) -> tuple[list[Reply], Reply | None]:
    """The activation's turns and final reply as they appear on `sb:replies` (read-only: not a consumer)."""
    turns: list[Reply] = []
    while (left := deadline - time.monotonic()) > 0:
        batches = await client.xread({Stream.REPLIES: cursor}, count=100, block=max(1, int(min(left, 1.0) * 1000)))
        for _, entries in batches or []:
            for entry_id, fields in entries:
                cursor = entry_id
                reply = Reply.from_json(fields[STREAM_FIELD])
                if reply.activation_id != activation_id:
                    continue
                if reply.turn is None:
                    return turns, reply
                turns.append(reply)
    return turns, None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="switchboard-probe", description=__doc__.split("\n\n")[0])
    parser.add_argument("--channel", required=True, help="the channel id of the agent group")
    parser.add_argument("--guild", help="its guild id (for guild-level config, and the personas the guild made)")
    parser.add_argument("--message", default=DEFAULT_MESSAGE, help="what to say; naming personas asks only them")
    parser.add_argument("--first-budget", type=float, default=Budgets.first_s, help="seconds to the first reply")
    parser.add_argument("--all-budget", type=float, default=Budgets.all_s, help="seconds to every reply")
    parser.add_argument("--timeout", type=float, default=60.0, help="how long to wait for the activation to end")
    parser.add_argument("--post", action="store_true", help="post the answers in the channel too")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    budgets = Budgets(first_s=args.first_budget, all_s=args.all_budget)

    async def run() -> ProbeReport:
        client = connect_async(ServiceSettings())
        try:
            return await probe(client, args.guild, args.channel, args.message, budgets=budgets,
                               timeout_s=args.timeout, post=args.post)
        finally:
            await client.aclose()

    try:
        report = asyncio.run(run())
    except ConfigError as exc:
        print(f"probe refused: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(asdict(report)) if args.json else report.summary())
    return 0 if report.bucket == OK else 1


if __name__ == "__main__":
    sys.exit(main())
