"""Gateway: the messages one gateway process filters, and the activations it enqueues, per second.

One run, one Redis, one Discord emulator (rate limits off) and two consumers connected to it at once:

- **the gateway**: `python -m switchboard.gateway` as in production, running shard 1 of 2, *without a
  planner*: nothing else in the run reads Redis or uses the CPU, so only the gateway is measured;
- **the baseline**: a bare discord.py `AutoShardedClient` (the class the gateway subclasses, the same
  intents) with a no-op `on_message`, running shard 0 of 2, in a process of its own started from this file.

With two shards the emulator sends Test Guild's events to shard 1 and Second Guild's to shard 0, so each
flood reaches exactly one consumer while the other idles. Both stay connected through the run and the floods
alternate between them, round after round, so a change in how busy the machine is touches both alike.

A flood is one bulk injection (`POST /_emulator/messages/bulk`): the emulator builds and queues every
MESSAGE_CREATE, round robin over 16 channels of the consumer's guild, before it sends the first; the consumer
then drains that backlog as fast as it can: a burst, the saturating case. The rate is the whole drain: the
flood's size ÷ the time from the emulator having queued it to the consumer having taken its last message
(discord.py reads far ahead of what the handlers have finished, so timing part of a drain would leave out
reading and parsing). The emulator builds the frames before the clock starts (how fast is reported); sending
them costs it about as much CPU per message as the bare client spends on it, on the other core, so the
baseline's drain may be held back a little by the emulator: if anything that flatters the gateway's ratio.

- **filtered**: messages that do not activate the bot (no mention, not a DM, the default config answers only
  mentions). The gateway counts them as `switchboard_gateway_messages_total{decision="ignored"}` on its
  `/metrics`; the baseline counts its `on_message` calls on `/count`. Both answer from the consumer's own
  event loop. A second, smaller burst shows how the rate depends on the backlog's size.
- **enqueued**: mentions, each an activation, counted as entries of `sb:activations` (`XLEN`: it costs the
  gateway nothing). Per-user and per-guild rate limits and the Discord REST budget are opened wide (their
  Redis scripts still run), and the queue-position notice is off: without a planner the backlog only grows,
  and the notice would answer every mention. The typing indicator stays on: with no answer within 0.3 s the
  gateway shows one for each activation, as it does for any answer slower than that; the flood's CPU is
  measured until every one is shown.

Why a bare discord.py client is the baseline: a Python bot pays discord.py for reading, parsing and
dispatching each event whatever it does next; what the gateway adds (history, config, the decision, Redis)
is this project's part. The ratio gateway ÷ baseline is the share of discord.py's own ceiling the gateway
keeps. The emulator's emission rate alone would not be a fair ceiling: it is about discord.py's own, and
no consumer gets past discord.py. CPU seconds each process spent per message are reported too, and from
them the rate one core would give each consumer alone: on a machine shared with other work, that moves less
than the rates do, and it does not depend on the emulator.

    ./dev bench gateway           # about a minute on 2 cores: 4 rounds
    ./dev bench gateway --quick   # about 20 s: 1 round, smaller bursts
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import itertools
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import redis
from common import Figure, figures_of, machine, now_iso, print_figures, write_report

from switchboard.core.keys import Stream
from switchboard.devstack.ports import free_port
from switchboard.devstack.stack import Stack, StackConfig
from switchboard.emulator.client import EmulatorClient
from switchboard.emulator.state import GUILD_ID, SECOND_GUILD_ID

FIGURE = "4 gateway"
SHARDS = 2
GATEWAY_SHARD, BASELINE_SHARD = 1, 0  # (guild_id >> 22) % 2: Test Guild is on shard 1, Second Guild on 0
POLL_S = 0.05
# The gateway renders all its metrics for each poll (about 0.7 ms of its event loop): every 50 ms costs it
# under 2 %. The baseline's count is one number, cheap to poll every 10 ms: its drains are shorter.
GATEWAY_POLL_S, BASELINE_POLL_S = 0.05, 0.01
READY_S = 60.0
UNLIMITED = json.dumps({"capacity": 1_000_000_000, "per_seconds": 1})
IGNORED = re.compile(rb'^switchboard_gateway_messages_total\{decision="ignored"\} (\S+)$', re.MULTILINE)


@dataclass(frozen=True)
class Flood:
    """One kind of flood: `size` messages, mentions of the bot (activations) or not (filtered)."""

    name: str
    size: int
    mentions: bool

    @property
    def kind(self) -> str:
        return "enqueued" if self.mentions else "filtered"


@dataclass(frozen=True)
class Plan:
    """How much to measure: the default takes about a minute on 2 cores (more when they are busy with other
    work), `--quick` about 20 s."""

    rounds: int
    floods: tuple[Flood, ...]  # the first of each kind gives the headline figure
    channels: int = 16  # per guild; a flood goes round robin over them
    drain_s: float = 60.0  # the most one flood may take to drain


FULL = Plan(rounds=4, floods=(Flood("filtered", 20_000, False), Flood("filtered, small burst", 5_000, False),
                              Flood("enqueued", 2_000, True)))
QUICK = Plan(rounds=1, floods=(Flood("filtered", 10_000, False), Flood("enqueued", 800, True)))


# -- the baseline process -------------------------------------------------------------------------------


def run_bare_client(emulator_url: str, port: int) -> None:
    """The baseline: discord.py alone, counting `on_message` calls, served on `GET /count`."""
    import discord
    from aiohttp import web

    from switchboard.gateway.bot import intents
    from switchboard.gateway.discord_api import point_at_emulator

    point_at_emulator(emulator_url)
    client = discord.AutoShardedClient(intents=intents(), shard_count=SHARDS, shard_ids=[BASELINE_SHARD],
                                       allowed_mentions=discord.AllowedMentions.none())
    seen = {"messages": 0, "ready": False}

    @client.event
    async def on_message(message: discord.Message) -> None:
        seen["messages"] += 1

    @client.event
    async def on_ready() -> None:
        seen["ready"] = True

    async def count(_: web.Request) -> web.Response:
        return web.Response(body=json.dumps(seen), headers={"Content-Type": "application/json"})

    async def serve() -> None:
        app = web.Application()
        app.router.add_get("/count", count)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, lambda: asyncio.create_task(client.close()))
        try:
            await client.start("emulator-token")
        finally:
            await runner.cleanup()

    asyncio.run(serve())


class BareClient:
    """The baseline process, started from this file."""

    def __init__(self, emulator_url: str, log_path: Path) -> None:
        self.port = free_port()
        with log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, __file__, "--bare-client", emulator_url, "--port", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        self._log_path = log_path
        self.counter = HttpCounter(self.port, "/count", lambda body: json.loads(body)["messages"])

    @property
    def pid(self) -> int:
        return self._process.pid

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self._ready():
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the bare discord.py client did not get ready:\n{self._log_path.read_text()}")
            time.sleep(0.1)

    def _ready(self) -> bool:
        try:
            return bool(json.loads(self.counter.get())["ready"])
        except (OSError, http.client.HTTPException, ValueError):
            self.counter.reset()
            return False

    def stop(self) -> None:
        if self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait()
        self.counter.close()


# -- counting -------------------------------------------------------------------------------------------


class HttpCounter:
    """A count read over one kept-alive HTTP connection to a consumer's own event loop."""

    def __init__(self, port: int, path: str, parse: Callable[[bytes], float]) -> None:
        self._port, self._path, self._parse = port, path, parse
        self._connection: http.client.HTTPConnection | None = None

    def get(self) -> bytes:
        if self._connection is None:
            self._connection = http.client.HTTPConnection("127.0.0.1", self._port, timeout=10)
        self._connection.request("GET", self._path)
        response = self._connection.getresponse()
        return response.read()

    def __call__(self) -> int:
        return int(self._parse(self.get()))

    def reset(self) -> None:
        self.close()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def ignored_count(body: bytes) -> float:
    found = IGNORED.search(body)
    return float(found.group(1)) if found else 0.0


@dataclass(frozen=True)
class Consumer:
    """One side of the comparison: where its floods go and how to count what it took."""

    name: str
    pid: int
    channels: list[str]  # of its guild, where its floods go
    filtered: Callable[[], int]
    enqueued: Callable[[], int]
    poll_s: float
    types: bool  # shows a typing indicator for each activation


# -- measuring ------------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU time of the whole machine so far, in clock ticks."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


@contextlib.contextmanager
def cpu_meter(pids: dict[str, int]) -> Iterator[dict[str, float]]:
    """CPU seconds each process spent inside the block, plus the machine's busy share (`machine_busy`)."""
    spent: dict[str, float] = {}
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    busy_before = machine_busy()
    yield spent
    busy_after = machine_busy()
    spent.update({name: cpu_seconds(pid) - before[name] for name, pid in pids.items()})
    spent["machine_busy"] = (busy_after[0] - busy_before[0]) / max(1, busy_after[1] - busy_before[1])


def drain_rate(samples: list[tuple[float, int]], total: int, since: float) -> float | None:
    """`total` ÷ the time from `since` (the flood queued) until the last message was taken, placed midway
    between the last sample short of `total` and the first that reached it; None if it never did."""
    for (before, _), (at, taken) in itertools.pairwise([(since, 0), *samples]):
        if taken >= total:
            return total / ((before + at) / 2 - since)
    return None


def drain(count: Callable[[], int], start: int, total: int, poll_s: float,
          deadline_s: float) -> list[tuple[float, int]]:
    """Samples (time, taken so far) every `poll_s` until `total` are taken or `deadline_s` passes."""
    samples: list[tuple[float, int]] = []
    deadline = time.perf_counter() + deadline_s
    while time.perf_counter() < deadline:
        asked = time.perf_counter()
        taken = count() - start
        samples.append(((asked + time.perf_counter()) / 2, taken))
        if taken >= total:
            break
        time.sleep(max(0.0, asked + poll_s - time.perf_counter()))
    return samples


def settle_typing(emulator: EmulatorClient, cursor: int, expected: int, deadline_s: float) -> int:
    """Wait until the emulator recorded `expected` bot actions after `cursor` (one typing indicator per
    activation, 0.3 s after it was enqueued); returns how many it did."""
    deadline = time.perf_counter() + deadline_s
    while (seen := emulator.cursor() - cursor) < expected and time.perf_counter() < deadline:
        time.sleep(POLL_S)
    return seen


def flood(emulator: EmulatorClient, consumer: Consumer, spec: Flood, plan: Plan,
          pids: dict[str, int]) -> dict[str, Any]:
    """One flood to `consumer`, drained.

    The CPU each process spent is measured until the consumer has done everything the flood asked of it,
    the gateway's typing indicators included; the rate until the last message was taken."""
    count = consumer.enqueued if spec.mentions else consumer.filtered
    emulator.reset()  # the emulator keeps every message: start each flood from the same state
    start, cursor = count(), emulator.cursor()
    with cpu_meter(pids) as cpu:
        asked = time.perf_counter()
        emulator.inject_messages(f"{spec.kind} flood message", spec.size, channel_ids=consumer.channels,
                                 mention_bot=spec.mentions)
        queued = time.perf_counter()
        samples = drain(count, start, spec.size, consumer.poll_s, plan.drain_s)
        typing = settle_typing(emulator, cursor, spec.size, plan.drain_s) if spec.mentions and consumer.types else 0
    taken = samples[-1][1]
    return {
        "consumer": consumer.name, "flood": spec.name, "messages": spec.size, "taken": taken,
        "typing_shown": typing, "emulator_queued_per_s": spec.size / (queued - asked),
        "rate_per_s": drain_rate(samples, spec.size, queued), "samples": len(samples),
        "cpu_us_per_message": {name: spent / max(1, taken) * 1e6 for name, spent in cpu.items()
                               if name != "machine_busy"},
        "machine_busy": cpu["machine_busy"],
    }


def start_stack(run_dir: Path) -> Stack:
    gateway_env = {
        "SWITCHBOARD_SHARD_COUNT": str(SHARDS), "SWITCHBOARD_SHARD_IDS": json.dumps([GATEWAY_SHARD]),
        "SWITCHBOARD_USER_RATE": UNLIMITED, "SWITCHBOARD_GUILD_RATE": UNLIMITED,
        "SWITCHBOARD_DISCORD_REST_RATE": UNLIMITED, "SWITCHBOARD_QUEUE_NOTICE_OVER": str(10**9),
        "SWITCHBOARD_LOG_LEVEL": "WARNING",
    }
    stack = Stack(StackConfig(run_dir=run_dir, services=("gateway",), service_env={"gateway": gateway_env},
                              emulator_args=("--no-rate-limits", "--shards", str(SHARDS), "--log-level", "WARNING")))
    stack.start()
    return stack


def measure(plan: Plan) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="switchboard-bench-") as run_dir:
        stack = start_stack(Path(run_dir))
        bare: BareClient | None = None
        try:
            assert stack.emulator_url is not None and stack.emulator is not None
            emulator = EmulatorClient(stack.emulator_url, request_timeout=60)
            bare = BareClient(stack.emulator_url, stack.log_dir / "bare-client.log")
            bare.wait_ready(READY_S)
            emulator.wait_until_connected(sessions=2, timeout=READY_S)
            return run_rounds(plan, stack, emulator, bare)
        finally:
            if bare is not None:
                bare.stop()
            stack.stop()


def run_rounds(plan: Plan, stack: Stack, emulator: EmulatorClient, bare: BareClient) -> dict[str, Any]:
    store = redis.Redis.from_url(stack.redis_url)
    gateway_pid = stack.services["gateway"].pid
    assert gateway_pid is not None and stack.emulator is not None and stack.emulator.pid is not None
    metrics = HttpCounter(stack.metrics_ports["gateway"], "/metrics", ignored_count)

    def channels(guild_id: int, prefix: str) -> list[str]:
        return [emulator.create_channel(f"{prefix}-{i}", guild=str(guild_id))["id"] for i in range(plan.channels)]

    consumers = [
        Consumer("gateway", gateway_pid, channels(GUILD_ID, "gw"), metrics,
                 lambda: int(store.xlen(Stream.ACTIVATIONS.value)), GATEWAY_POLL_S, types=True),
        Consumer("discord.py", bare.pid, channels(SECOND_GUILD_ID, "dpy"), bare.counter,
                 bare.counter, BASELINE_POLL_S, types=False),
    ]
    pids = {"gateway": gateway_pid, "discord.py": bare.pid, "emulator": stack.emulator.pid,
            "redis": int(store.info("server")["process_id"]), "benchmark": os.getpid()}
    for consumer in consumers:  # warm-up: first events pay for imports, caches and connections
        for warm_up in (Flood("warm-up", 500, False), Flood("warm-up", 200, True)):
            flood(emulator, consumer, warm_up, plan, pids)
    floods = []
    for round_no in range(plan.rounds):
        order = consumers if round_no % 2 == 0 else consumers[::-1]
        for spec in plan.floods:
            for consumer in order:
                result = flood(emulator, consumer, spec, plan, pids)
                floods.append({"round": round_no, **result})
                progress(result)
    metrics.close()
    store.close()
    return {"benchmark": "gateway", "date": now_iso(), "machine": machine(), "plan": asdict(plan),
            "floods": floods, "summary": summarize(plan, floods), "ratios_by_round": ratios_by_round(floods)}


def progress(result: dict[str, Any]) -> None:
    rate = f"{result['rate_per_s']:8.0f}/s" if result["rate_per_s"] else "-"
    print(f"  {result['consumer']:<10} {result['flood']:<22} {result['taken']:>6}/{result['messages']:<6} {rate}",
          flush=True)


def summarize(plan: Plan, floods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per flood and consumer: the median over rounds of the rate, of each process's CPU per message, of
    how fast the emulator queued the flood and of how busy the machine was; and the rate one core would
    give the consumer alone (1 ÷ its CPU per message), which a machine busy with other work disturbs less."""
    summary = []
    for spec in plan.floods:
        for consumer in ("gateway", "discord.py"):
            runs = [f for f in floods if f["flood"] == spec.name and f["consumer"] == consumer]
            rates = [f["rate_per_s"] for f in runs if f["rate_per_s"]]
            cpu = {name: statistics.median(f["cpu_us_per_message"][name] for f in runs)
                   for name in runs[0]["cpu_us_per_message"]}
            summary.append({
                "flood": spec.name, "consumer": consumer, "messages": spec.size,
                "rate_per_s": statistics.median(rates) if rates else None, "rates": rates,
                "one_core_per_s": 1e6 / cpu[consumer], "cpu_us_per_message": cpu,
                "complete": all(f["taken"] >= f["messages"] for f in runs),
                "emulator_queued_per_s": statistics.median(f["emulator_queued_per_s"] for f in runs),
                "machine_busy": statistics.median(f["machine_busy"] for f in runs),
            })
    return summary


def ratios_by_round(floods: list[dict[str, Any]]) -> dict[str, list[float | None]]:
    """Per flood, gateway rate ÷ bare client rate of each round: how much the ratio moves between rounds."""
    rate = {(f["flood"], f["round"], f["consumer"]): f["rate_per_s"] for f in floods}
    ratios: dict[str, list[float | None]] = {}
    for name, round_no in dict.fromkeys((f["flood"], f["round"]) for f in floods):
        gateway, baseline = rate[name, round_no, "gateway"], rate[name, round_no, "discord.py"]
        ratios.setdefault(name, []).append(gateway / baseline if gateway and baseline else None)
    return ratios


def headline_rows(report: dict[str, Any], mentions: bool) -> tuple[Flood, dict[str, Any], dict[str, Any]]:
    """The first flood of a kind, and its gateway and baseline rows."""
    spec = next(Flood(**f) for f in report["plan"]["floods"] if f["mentions"] == mentions)
    gateway, baseline = (next(row for row in report["summary"] if row["flood"] == spec.name
                              and row["consumer"] == consumer) for consumer in ("gateway", "discord.py"))
    return spec, gateway, baseline


def figures(report: dict[str, Any]) -> list[Figure]:
    """The headline figures, gateway beside the bare client on the first flood of each kind: the rate it
    drained at, and the rate one core would give it (1 ÷ its CPU per message), which contention moves less."""
    plan, cpus = report["plan"], report["machine"]["cpus"]
    out = []
    for mentions, what in ((False, "non-activating MESSAGE_CREATE filtered"), (True, "activations enqueued (XADD)")):
        spec, gateway, baseline = headline_rows(report, mentions)
        conditions = (f"bursts of {spec.size} queued messages over {plan['channels']} channels, no planner; "
                      f"median of {plan['rounds']} round(s); emulator, Redis and both clients on {cpus} CPUs")
        out.append(Figure(
            figure=FIGURE, measure=f"{what} /s, one process", value=gateway["rate_per_s"], unit="/s",
            baseline=baseline["rate_per_s"], baseline_name="bare discord.py client, same flood",
            conditions=conditions))
        out.append(Figure(
            figure=FIGURE, measure=f"{what} per CPU-second", value=gateway["one_core_per_s"], unit="/s",
            baseline=baseline["one_core_per_s"], baseline_name="bare discord.py client",
            conditions=(f"{conditions}; CPU per message: gateway {gateway['cpu_us_per_message']['gateway']:.0f} µs, "
                        f"bare client {baseline['cpu_us_per_message']['discord.py']:.0f} µs")))
    return out


def print_report(report: dict[str, Any]) -> None:
    print(f"\n{'flood':<22} {'consumer':<11} {'msg/s':>7}  {'rounds':<20} {'one core/s':>10} "
          f"{'CPU µs/msg: own':>15} {'emulator':>8} {'redis':>6} {'machine busy':>12} {'emulator queued/s':>17}")
    for row in report["summary"]:
        cpu = row["cpu_us_per_message"]
        rate = f"{row['rate_per_s']:7.0f}" if row["rate_per_s"] else f"{'-':>7}"
        rounds = ", ".join(f"{r:.0f}" for r in row["rates"])
        print(f"{row['flood']:<22} {row['consumer']:<11} {rate}  {rounds:<20} {row['one_core_per_s']:10.0f} "
              f"{cpu[row['consumer']]:15.0f} {cpu['emulator']:8.0f} {cpu['redis']:6.0f} {row['machine_busy']:12.0%} "
              f"{row['emulator_queued_per_s']:17.0f}" + ("" if row["complete"] else "  (not all drained)"))
    print("\ngateway ÷ bare client, round by round: " + "; ".join(
        f"{name} " + ", ".join(f"{r:.2f}" if r else "-" for r in ratios)
        for name, ratios in report["ratios_by_round"].items()))
    print()
    print_figures(figures_of(report))


def run(quick: bool = False) -> dict[str, Any]:
    report = measure(QUICK if quick else FULL)
    report["figures"] = [f.as_dict() for f in figures(report)]
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="about 20 s: one round, smaller bursts")
    parser.add_argument("--bare-client", metavar="EMULATOR_URL", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_client:
        run_bare_client(args.bare_client, args.port)
        return
    report = run(args.quick)
    print_report(report)
    print(f"\nwritten to {write_report('gateway', report)}")


if __name__ == "__main__":
    main()
