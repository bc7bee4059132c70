"""Pipeline overhead: activation → posted reply through every service, with the instant echo model.

Starts the whole system (Redis, Discord emulator, planner, tools, inference on Ray with the `echo`
deployment, gateway), offers mention messages at fixed rates, and measures from the moment a message
is injected into the emulator until the bot's final reply text is recorded there. Beside it, in the
same run, the Redis floor: the round trip of one command from asyncio Python (PING) times the hand-offs
through Redis on the path (`HANDOFFS`: gateway → planner, planner → tools worker, tools → planner,
planner → inference, inference → planner, planner → gateway), which no Redis-based pipeline of this shape
can avoid. Also reported: the Redis commands one activation costs in all (Redis's own counter, idle
background polling subtracted), and that count times the round trip, what they would cost one after
another.

    ./dev bench pipeline                       # rates 10, 50, 200 /s
    ./dev bench pipeline --rates 20 --seconds 5
    ./dev bench pipeline --tracing             # every service exports every span (sampled 100 %)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import redis
import redis.asyncio as aioredis
from common import Figure, figures_of, machine, now_iso, percentile, print_figures, write_report

from switchboard.core import keys
from switchboard.core.wire import ActivationRecord
from switchboard.devstack.otlp_receiver import OtlpReceiver
from switchboard.devstack.stack import Stack, StackConfig
from switchboard.emulator.client import EmulatorClient

CURSOR = "▌"


async def redis_floor(url: str, samples: int = 3000) -> dict[str, float]:
    """Round-trip time of one Redis command from asyncio Python, in seconds."""
    client = aioredis.Redis.from_url(url)
    timings = []
    for _ in range(samples):
        started = time.perf_counter()
        await client.ping()
        timings.append(time.perf_counter() - started)
    await client.aclose()
    return {"p50": percentile(timings, 0.5), "p99": percentile(timings, 0.99)}


def commands_processed(client: redis.Redis) -> int:
    return int(client.info("stats")["total_commands_processed"])


@dataclass
class BotReply:
    """One bot message replying to a triggering message, as the emulator showed it."""

    first_text: str = ""  # its first visible text (a placeholder, or the whole answer)
    shown_at: float | None = None
    final_at: float | None = None  # when its text stopped ending in the streaming cursor
    text: str = ""  # the final text


class ReplyClock:
    """Follows the emulator's event feed and notes, per triggering message, each bot message replying to it:
    when its text first showed and when its final text landed."""

    def __init__(self, emulator: EmulatorClient) -> None:
        self._emulator = emulator
        self._reply_of: dict[str, str] = {}  # bot message id → triggering message id
        self.finished: dict[str, float] = {}  # triggering message id → wall time of the first final text
        self.replies: dict[str, int] = {}  # triggering message id → bot messages posted in reply
        self._messages: dict[str, dict[str, BotReply]] = {}  # triggering message id → bot message id → reply
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._cursor = emulator.cursor()
        self._thread = threading.Thread(target=self._follow, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> ReplyClock:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def of(self, trigger: str) -> list[BotReply]:
        """The bot messages that showed text in reply to `trigger`, once every event the emulator holds now
        has been read."""
        target, deadline = self._emulator.cursor(), time.monotonic() + 5
        while self._cursor < target and time.monotonic() < deadline:
            time.sleep(0.05)
        with self._lock:
            return [reply for reply in self._messages.get(trigger, {}).values() if reply.shown_at is not None]

    def _follow(self) -> None:
        while not self._stop.is_set():
            feed = self._emulator.events(after=self._cursor, timeout=0.5)
            with self._lock:
                for event in feed["events"]:
                    self._note(event)
            self._cursor = feed["last_seq"]

    def _note(self, event: dict) -> None:
        if event["type"] == "message_create" and event.get("reply_to"):
            trigger = event["reply_to"]
            self._reply_of[event["message_id"]] = trigger
            self.replies[trigger] = self.replies.get(trigger, 0) + 1
            self._messages.setdefault(trigger, {})[event["message_id"]] = BotReply()
        if event["type"] not in ("message_create", "message_edit"):
            return
        trigger = self._reply_of.get(event["message_id"])
        if trigger is None:
            return
        at = datetime.fromisoformat(event["time"]).timestamp()
        content = (event.get("content") or "").strip()
        reply = self._messages[trigger][event["message_id"]]
        if content and reply.shown_at is None:
            reply.shown_at, reply.first_text = at, content
        if content and not content.endswith(CURSOR) and reply.final_at is None:
            reply.final_at, reply.text = at, content
            self.finished.setdefault(trigger, at)


def offer(emulator: EmulatorClient, rate: float, count: int, channels: list[str]) -> dict[str, float]:
    """Inject `count` mentions at `rate` per second, round robin over `channels`.

    Returns message id → wall time of injection. A channel's messages are answered one after another
    (arrival order), so a single channel measures the reply round trip, not the pipeline's capacity.
    """
    sent: dict[str, float] = {}
    start = time.perf_counter()
    for i in range(count):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        injected_at = time.time()
        message = emulator.inject_message(f"echo {i}", channel_id=channels[i % len(channels)], author="alice",
                                          mention_bot=True)
        sent[message["id"]] = injected_at
    return sent


def run_rate(emulator: EmulatorClient, store: redis.Redis, rate: float, seconds: float, drain_s: float,
             channels: list[str]) -> dict:
    count = max(1, int(rate * seconds))
    clock = ReplyClock(emulator)
    clock.start()
    commands_before = commands_processed(store)
    started = time.time()
    sent = offer(emulator, rate, count, channels)
    deadline = time.monotonic() + drain_s
    while len(clock.finished.keys() & sent.keys()) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    clock.stop()
    elapsed = time.time() - started
    commands = commands_processed(store) - commands_before
    latencies = [clock.finished[m] - t for m, t in sent.items() if m in clock.finished]
    done = [clock.finished[m] for m in sent if m in clock.finished]
    return {
        "offered_rate": rate, "channels": len(channels), "offered": count, "replied": len(latencies),
        "duplicated": sum(1 for m in sent if clock.replies.get(m, 0) > 1),
        "p50_s": percentile(latencies, 0.5) if latencies else None,
        "p99_s": percentile(latencies, 0.99) if latencies else None,
        "max_s": max(latencies) if latencies else None,
        "mean_s": statistics.fmean(latencies) if latencies else None,
        "achieved_rate": len(done) / (max(done) - min(sent.values())) if len(done) > 1 else None,
        "redis_commands": commands, "elapsed_s": elapsed,
        "stages": where_time_goes(store, sent, clock.finished, started),
    }


def where_time_goes(store: redis.Redis, sent: dict[str, float], posted: dict[str, float],
                    since: float) -> dict[str, dict[str, float]]:
    """Each stage of the path as an offset from the message's injection (p50, p99 in ms), read from the
    planner's activation records: the gateway's acceptance, the planner's start, each step queued, started and
    finished, the planner's finish; then the reply on the emulator. In the order of their medians."""
    ids = [i.decode() for i in store.zrangebyscore(keys.RECORDS, since - 1, "+inf")]
    offsets: dict[str, list[float]] = {}
    for raw in store.mget([keys.record(i) for i in ids]) if ids else []:
        if raw is None:
            continue
        record = ActivationRecord.model_validate_json(raw)
        injected = sent.get(record.activation.message_id)
        if injected is None:
            continue
        stages = [("gateway accepted", record.activation.accepted_at), ("planner started", record.started_at)]
        for step in record.steps:
            stages += [(f"{step.step} queued", step.queued_at), (f"{step.step} started", step.started_at),
                       (f"{step.step} finished", step.finished_at)]
        stages += [("planner finished", record.finished_at), ("reply posted", posted.get(record.activation.message_id))]
        for stage, at in stages:
            if at is not None:
                offsets.setdefault(stage, []).append(at - injected)
    ordered = sorted(offsets.items(), key=lambda item: statistics.median(item[1]))
    return {stage: {"p50_ms": percentile(values, 0.5) * 1000, "p99_ms": percentile(values, 0.99) * 1000}
            for stage, values in ordered}


def idle_command_rate(store: redis.Redis, seconds: float = 3.0) -> float:
    """Redis commands per second with no traffic (workers' and consumers' blocking polls)."""
    before = commands_processed(store)
    time.sleep(seconds)
    return (commands_processed(store) - before) / seconds


UNLIMITED = json.dumps({"capacity": 1_000_000, "per_seconds": 1})
# Measure the pipeline, not Discord's limits or the activation limiter (both opened wide). The queue-position
# notice ("your message is #N in line") is off: it is a second bot message replying to the same mention, which
# the reply clock would take for the answer (and for a duplicate).
OPEN_LIMITS = {"SWITCHBOARD_USER_RATE": UNLIMITED, "SWITCHBOARD_GUILD_RATE": UNLIMITED,
               "SWITCHBOARD_DISCORD_REST_RATE": UNLIMITED, "SWITCHBOARD_QUEUE_NOTICE_OVER": str(10**9)}
P99_GOAL_S = 0.050  # at 50 activations/s
FLOOR_MULTIPLE_GOAL = 10
HANDOFFS = 6  # through Redis on an activation's path; see the module's docstring


@contextlib.contextmanager
def echo_stack(tracing: bool = False) -> Iterator[tuple[Stack, OtlpReceiver | None]]:
    """The whole system with the instant echo model, started and stopped around the block. With `tracing`,
    every service exports every span (sampled 100 %) to an OTLP receiver in this process."""
    receiver = OtlpReceiver() if tracing else None
    env = {}
    if receiver is not None:
        receiver.start()
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_TRACES_SAMPLER": "always_on"}
    with tempfile.TemporaryDirectory(prefix="switchboard-bench-") as run_dir:
        stack = Stack(StackConfig(run_dir=Path(run_dir), chat_backend="echo", emulator_args=("--no-rate-limits",),
                                  env=env, service_env={"gateway": OPEN_LIMITS}))
        try:
            stack.start()
            yield stack, receiver
        finally:
            stack.stop()
            if receiver is not None:
                receiver.stop()


def run(quick: bool = False, rates: list[float] | None = None, seconds: float | None = None,
        tracing: bool = False, drain: float = 60.0, channels: int = 32) -> dict:
    """Figure 1: the whole pipeline at fixed offered rates, beside the Redis floor."""
    rates = rates or [10.0, 50.0, 200.0]
    with echo_stack(tracing) as (stack, receiver):
        report = measure(stack, rates, seconds or (3.0 if quick else 6.0), drain, channels)
        report["tracing"] = tracing
        if receiver is not None:
            report["spans_received"] = len(receiver.spans)
    report["figures"] = [f.as_dict() for f in pipeline_figures(report)]
    return report


def pipeline_figures(report: dict) -> list[Figure]:
    floor_ms = report["redis_rtt"]["p50"] * HANDOFFS * 1000
    conditions = f"echo model, {report['machine']['cpus']} CPUs, {report['rates'][0]['channels']} channels"
    figures = []
    for r in report["rates"]:
        rate = f"{r['offered_rate']:g}/s"
        p50_ms = r["p50_s"] * 1000 if r["p50_s"] is not None else None
        saturated = r["achieved_rate"] is not None and r["achieved_rate"] < 0.9 * r["offered_rate"]
        lossless = r["replied"] == r["offered"] and not r["duplicated"]
        figures.append(Figure(
            "1 pipeline overhead", f"p50 at {rate}", p50_ms, "ms", floor_ms, f"Redis RTT × {HANDOFFS} hand-offs",
            goal="" if saturated else f"≤ {FLOOR_MULTIPLE_GOAL}× floor",
            met=None if saturated or p50_ms is None else lossless and p50_ms <= FLOOR_MULTIPLE_GOAL * floor_ms,
            conditions=f"{conditions}; {r['replied']}/{r['offered']} replied, {r['duplicated']} duplicated; "
                       f"{r['redis_commands_per_activation']:.0f} Redis commands per activation"
                       + (f"; saturated at {r['achieved_rate']:.0f}/s" if saturated else "")))
        if r["offered_rate"] == 50:
            p99_ms = r["p99_s"] * 1000 if r["p99_s"] is not None else None
            figures.append(Figure("1 pipeline overhead", f"p99 at {rate}", p99_ms, "ms", floor_ms,
                                  f"Redis RTT × {HANDOFFS} hand-offs", goal=f"< {P99_GOAL_S * 1000:.0f} ms",
                                  met=p99_ms is not None and lossless and p99_ms < P99_GOAL_S * 1000,
                                  conditions=conditions))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="10,50,200", help="offered activations per second, comma separated")
    parser.add_argument("--seconds", type=float, default=6.0, help="how long each rate is offered")
    parser.add_argument("--drain", type=float, default=60.0, help="how long to wait for stragglers")
    parser.add_argument("--channels", type=int, default=32, help="channels the load is spread over")
    parser.add_argument("--tracing", action="store_true", help="export every span to an OTLP receiver")
    parser.add_argument("--quick", action="store_true", help="3 s per rate")
    args = parser.parse_args()
    report = run(args.quick, [float(r) for r in args.rates.split(",")], None if args.quick else args.seconds,
                 args.tracing, args.drain, args.channels)
    print_report(report)
    print()
    print_figures(figures_of(report))
    print(f"\nwritten to {write_report('pipeline', report)}")


def measure(stack: Stack, rates: list[float], seconds: float, drain: float, channel_count: int) -> dict:
    assert stack.emulator_url is not None
    emulator = EmulatorClient(stack.emulator_url)
    channels = [emulator.create_channel(f"bench-{i}")["id"] for i in range(channel_count)]
    store = redis.Redis.from_url(stack.redis_url)
    floor = asyncio.run(redis_floor(stack.redis_url))
    warmup = run_rate(emulator, store, 5, 2, drain, channels)  # first requests pay for imports and connections
    idle = idle_command_rate(store)
    results = []
    for rate in rates:
        result = run_rate(emulator, store, rate, seconds, drain, channels)
        busy = max(0.0, result["redis_commands"] - idle * result["elapsed_s"])
        result["redis_commands_per_activation"] = busy / max(1, result["replied"])
        results.append(result)
    return {
        "benchmark": "pipeline", "date": now_iso(), "machine": machine(), "seconds_per_rate": seconds,
        "model": "echo (Ray Serve deployment)", "redis_rtt": floor, "idle_redis_commands_per_s": idle,
        "warmup_replied": warmup["replied"], "rates": results,
    }



def print_report(report: dict) -> None:
    rtt = report["redis_rtt"]
    floor_s = rtt["p50"] * HANDOFFS
    print(f"\nRedis round trip (asyncio PING): p50 {rtt['p50'] * 1e6:.0f} µs, p99 {rtt['p99'] * 1e6:.0f} µs; "
          f"floor = p50 × {HANDOFFS} hand-offs = {floor_s * 1000:.2f} ms")
    print(f"{'offered/s':>9} {'sent':>5} {'replied':>7} {'dup':>4} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
          f"{'got/s':>7} {'p50/floor':>9} {'cmds/act':>8} {'RTT×cmds ms':>11}")
    for r in report["rates"]:
        ms = [f"{r[k] * 1000:8.1f}" if r[k] is not None else f"{'-':>8}" for k in ("p50_s", "p99_s", "max_s")]
        got = f"{r['achieved_rate']:7.1f}" if r["achieved_rate"] else f"{'-':>7}"
        ratio = f"{r['p50_s'] / floor_s:9.1f}" if r["p50_s"] else f"{'-':>9}"
        commands = r["redis_commands_per_activation"]
        print(f"{r['offered_rate']:9.0f} {r['offered']:5d} {r['replied']:7d} {r['duplicated']:4d} {' '.join(ms)} "
              f"{got} {ratio} {commands:8.1f} {commands * rtt['p50'] * 1000:11.2f}")
    print("\nWhere the time goes: each stage as ms after the message was injected, p50 (p99)")
    rates = report["rates"]
    print(f"{'stage':<28}" + "".join(f" {r['offered_rate']:>13g}/s" for r in rates))
    for stage in rates[0]["stages"]:
        cells = [r["stages"].get(stage) for r in rates]
        print(f"{stage:<28}" + "".join(f" {c['p50_ms']:7.1f} ({c['p99_ms']:5.0f})" if c else f" {'-':>15}"
                                       for c in cells))


if __name__ == "__main__":
    main()
