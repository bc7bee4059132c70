"""Replay: recorded replays per second over stored activations, the way an operator runs them.

The records are made the real way: the whole system runs with the instant `echo` chat model (rate limits
off, as in the pipeline benchmark) and mentions are offered through the Discord emulator, round robin over
32 channels, at 60/s (near what the pipeline sustains on 2 cores, so its queue stays short); each answered
mention leaves an activation record and its journal in Redis. Producing them is timed too, from the first
mention injected to the last reply posted.

Then all of them are replayed in `recorded` mode, which is what an operator does to check a batch against
a callsystem version: each replay reads its record and journal, appends an audit entry and runs the
callsystem against the recorded step results, calling nothing and writing nothing else. Timed as an
operator runs it:

- the admin API's batch replay (`POST /api/activations/replay`, selection = the benchmark's time range),
  at the service's default concurrency (4) and at concurrency 1, each `REPEATS` times, interleaved with
  the baseline (the median run is reported: the machine is shared, and one batch lasts about a second).
  This is the headline.
- the command line, `switchboard replay --since ... --until ... --limit N --concurrency 4 --json`, as a
  process: what an operator waits for, interpreter start and imports included.

Per-replay p50/p99 come from each report's own `duration_s`: one replay from its start to its report, not
its wait for a slot. In a batch, records, journals and audit entries are read and written for many replays
at once before they start, so that shared I/O is not in any one replay's duration.

Baseline, measured in the same run on the same records: the I/O a replay cannot avoid, i.e. reading each
record and the journal steps it names, and decoding both. One record at a time (two round trips each: the
least a replayer that reads per replay pays) and pipelined in batches of 200 (two round trips per batch:
the most a Python reader of this Redis gets). The pipelined floor is the headline baseline because no
concurrency in the replayer can pass it; value ÷ baseline is the share of replay time that is that I/O,
the rest is ours (running the callsystem, building reports, the audit append, the HTTP response). The
pipeline's own rate of producing the records is reported beside the command line's rate, for scale: a
recorded replay calls no model and dispatches nothing, so it should far outpace the live path.

    .venv/bin/python benchmarks/replay.py             # 1000 activations
    .venv/bin/python benchmarks/replay.py --quick     # 200
    .venv/bin/python benchmarks/replay.py --profile   # and where an in-process batch spends its time
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import redis
import redis.asyncio as aioredis
from common import Figure, figures_of, machine, now_iso, percentile, print_figures, write_report
from pipeline import ReplyClock, echo_stack, offer, redis_floor

from switchboard.core import keys
from switchboard.core.redis_client import connect_async
from switchboard.core.wire import ActivationRecord, StepResult
from switchboard.devstack.stack import Stack
from switchboard.emulator.client import EmulatorClient
from switchboard.planner.replay.build import build_replayer
from switchboard.planner.settings import PlannerSettings

FIGURE = "5 replay"
CHANNELS = 32
OFFER_RATE = 60.0  # mentions/s: near what the pipeline sustains on 2 cores, so its queue stays short
DEFAULT_CONCURRENCY = 4  # the admin service's `replay_concurrency` default (and the CLI's `--concurrency`)
FLOOR_BATCH = 200  # records per pipelined read, as the record store reads them
REPEATS = 3  # each admin batch is timed this many times; the median run is reported
STEP_LIMIT_S = 120.0  # no single phase may take longer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 activations instead of 1000")
    parser.add_argument("--profile", action="store_true", help="also profile one in-process batch (cProfile)")
    args = parser.parse_args()
    report = run(quick=args.quick, profile=args.profile)
    print_report(report)
    print()
    print_figures(figures_of(report))
    print(f"\nwritten to {write_report('replay', report)}")


def run(quick: bool = False, profile: bool = False) -> dict[str, Any]:
    count = 200 if quick else 1000
    with echo_stack() as (stack, _):
        report = measure(stack, count, profile)
    report["figures"] = [f.as_dict() for f in figures(report)]
    return report


def measure(stack: Stack, count: int, profile: bool) -> dict[str, Any]:
    assert stack.emulator_url is not None
    emulator = EmulatorClient(stack.emulator_url)
    channels = [emulator.create_channel(f"replay-{i}")["id"] for i in range(CHANNELS)]
    store = redis.Redis.from_url(stack.redis_url, decode_responses=True)
    warm = produce(emulator, store, 10, channels)  # imports, connections, Ray's first calls
    api_batch(stack, warm["since"], warm["until"], 10, DEFAULT_CONCURRENCY)  # the admin service's first replays
    made = produce(emulator, store, count, channels)
    ids = store.zrangebyscore(keys.RECORDS, made["since"], made["until"])
    rtt = asyncio.run(redis_floor(stack.redis_url, samples=1000))
    floors: list[dict[str, Any]] = []
    runs: dict[int | None, list[dict[str, Any]]] = {None: [], 1: []}
    for _ in range(REPEATS):  # interleaved, so a neighbour's load falls on the floor and the replays alike
        floors.append(asyncio.run(read_floors(stack.redis_url, ids)))
        for concurrency, done in runs.items():
            done.append(api_batch(stack, made["since"], made["until"], count, concurrency))
    default, single = median_run(runs[None]), median_run(runs[1])
    cli = cli_batch(stack, made["since"], made["until"], count, DEFAULT_CONCURRENCY)
    report: dict[str, Any] = {
        "benchmark": "replay", "date": now_iso(), "machine": machine(), "model": "echo (Ray Serve deployment)",
        "activations": count, "records_selected": len(ids), "channels": CHANNELS, "produce": made,
        "redis_rtt": rtt, "floors": median_floors(floors), "api_default": default, "api_single": single, "cli": cli,
    }
    if profile:
        report["profile"] = asyncio.run(profile_batch(stack.redis_url, ids))
    store.close()
    return report


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median rate, with every run's rate beside it."""
    middle = sorted(runs, key=lambda r: r["rate"])[len(runs) // 2]
    return {**middle, "rates": [r["rate"] for r in runs]}


def median_floors(floors: list[dict[str, Any]]) -> dict[str, Any]:
    """Each of the floors' measures, the median over the rounds."""
    return {key: statistics.median(floor[key] for floor in floors) for key in floors[0]}


def produce(emulator: EmulatorClient, store: redis.Redis, count: int, channels: list[str]) -> dict[str, Any]:
    """Offer `count` mentions and wait until each is answered and recorded; the time range covers their records."""
    since = time.time()
    clock = ReplyClock(emulator)
    clock.start()
    sent = offer(emulator, OFFER_RATE, count, channels)
    deadline = time.monotonic() + STEP_LIMIT_S
    while len(clock.finished.keys() & sent.keys()) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    clock.stop()
    while store.zcount(keys.RECORDS, since, "+inf") < count and time.monotonic() < deadline:
        time.sleep(0.05)
    replied = [clock.finished[m] for m in sent if m in clock.finished]
    until = time.time()
    return {"offered": count, "offered_rate": OFFER_RATE, "replied": len(replied),
            "recorded": store.zcount(keys.RECORDS, since, until), "since": since, "until": until,
            "rate": len(replied) / (max(replied) - min(sent.values())) if len(replied) > 1 else None}


async def read_floors(url: str, ids: list[str]) -> dict[str, Any]:
    """Read and decode every record and the journal steps it names: one at a time, then pipelined."""
    client = aioredis.Redis.from_url(url, decode_responses=True)
    try:
        started = time.perf_counter()
        timings = []
        for activation_id in ids:
            began = time.perf_counter()
            record = ActivationRecord.from_json(await client.get(keys.record(activation_id)))
            steps = [t.step for t in record.steps]
            decode_steps(await client.hmget(keys.journal(activation_id), steps) if steps else [])
            timings.append(time.perf_counter() - began)
        sequential = time.perf_counter() - started
        started = time.perf_counter()
        for start in range(0, len(ids), FLOOR_BATCH):
            await read_batch(client, ids[start:start + FLOOR_BATCH])
        pipelined = time.perf_counter() - started
    finally:
        await client.aclose()
    return {"records": len(ids), "sequential_s": sequential, "sequential_rate": len(ids) / sequential,
            "sequential_p50_s": percentile(timings, 0.5), "sequential_p99_s": percentile(timings, 0.99),
            "pipelined_s": pipelined, "pipelined_rate": len(ids) / pipelined}


async def read_batch(client: aioredis.Redis, ids: list[str]) -> None:
    """Two round trips for the whole batch: the records, then every journal they name."""
    records = [ActivationRecord.from_json(raw) for raw in await client.mget([keys.record(i) for i in ids]) if raw]
    async with client.pipeline(transaction=False) as pipe:
        for record in records:
            if record.steps:
                pipe.hmget(keys.journal(record.activation.id), [t.step for t in record.steps])
        for raw in await pipe.execute():
            decode_steps(raw)


def decode_steps(raw: list[str | None]) -> list[StepResult]:
    return [StepResult.from_json(value) for value in raw if value is not None]


def api_batch(stack: Stack, since: float, until: float, count: int, concurrency: int | None) -> dict[str, Any]:
    """One `POST /api/activations/replay` over the time range; None concurrency leaves the service's default."""
    body = {"mode": "recorded", "selection": {"since": since, "until": until, "limit": count},
            **({"concurrency": concurrency} if concurrency else {})}
    request = urllib.request.Request(f"{stack.admin_url}/api/activations/replay", data=json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {stack.admin_token}",
                                              "Content-Type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=STEP_LIMIT_S) as response:
        result = json.loads(response.read())
    elapsed = time.perf_counter() - started
    return {"concurrency": concurrency or DEFAULT_CONCURRENCY, **summary(result["reports"], elapsed)}


def cli_batch(stack: Stack, since: float, until: float, count: int, concurrency: int) -> dict[str, Any]:
    """`switchboard replay` over the time range, as an operator runs it: a process, JSON out."""
    command = [str(Path(sys.executable).parent / "switchboard"), "replay", "--since", repr(since), "--until",
               repr(until), "--limit", str(count), "--concurrency", str(concurrency), "--json",
               "--operator", "bench"]
    env = {**os.environ, "SWITCHBOARD_REDIS_URL": stack.redis_url}
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=STEP_LIMIT_S, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise RuntimeError(f"switchboard replay exited {done.returncode}:\n{done.stderr[-2000:]}")
    return {"concurrency": concurrency, "exit_status": done.returncode,
            **summary(json.loads(done.stdout)["reports"], elapsed)}


def summary(reports: list[dict[str, Any]], elapsed: float) -> dict[str, Any]:
    durations = [r["duration_s"] for r in reports]
    verdicts: dict[str, int] = {}
    for r in reports:
        verdicts[r["verdict"]] = verdicts.get(r["verdict"], 0) + 1
    return {"replays": len(reports), "elapsed_s": elapsed, "rate": len(reports) / elapsed, "verdicts": verdicts,
            "p50_s": percentile(durations, 0.5) if durations else None,
            "p99_s": percentile(durations, 0.99) if durations else None}


async def profile_batch(url: str, ids: list[str], top: int = 25) -> dict[str, Any]:
    """One batch at the default concurrency in this process, under cProfile: where replay time goes."""
    settings = PlannerSettings(redis_url=url)
    client, blob_client = connect_async(settings), connect_async(settings, decode_responses=False)
    try:
        replayer = build_replayer(settings, client, blob_client)
        await replayer.replay_many(ids[:10], operator="bench")  # connections and first calls
        commands_before = int((await client.info("stats"))["total_commands_processed"])
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        reports = await replayer.replay_many(ids, operator="bench", concurrency=DEFAULT_CONCURRENCY)
        profiler.disable()
        elapsed = time.perf_counter() - started
        commands = int((await client.info("stats"))["total_commands_processed"]) - commands_before
    finally:
        await client.aclose()
        await blob_client.aclose()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    return {"replays": len(reports), "elapsed_s": elapsed, "rate": len(reports) / elapsed,
            "redis_commands_per_replay": commands / max(1, len(reports)), "top_cumulative": out.getvalue()}


def figures(report: dict[str, Any]) -> list[Figure]:
    floors, made = report["floors"], report["produce"]
    where = f"{report['records_selected']} records of echo activations over {CHANNELS} channels, " \
            f"{report['machine']['cpus']} CPUs, same Redis; median of {REPEATS} batches"
    default, single, cli = report["api_default"], report["api_single"], report["cli"]
    ms = 1000.0
    return [
        Figure(FIGURE, f"recorded replays/s, admin batch, concurrency {default['concurrency']} (default)",
               default["rate"], "/s", floors["pipelined_rate"], "pipelined read+decode floor", conditions=where),
        Figure(FIGURE, "recorded replays/s, admin batch, concurrency 1", single["rate"], "/s",
               floors["sequential_rate"], "one-at-a-time read+decode floor", conditions=where),
        Figure(FIGURE, "per-replay p50, concurrency 1", single["p50_s"] * ms, "ms",
               floors["sequential_p50_s"] * ms, "record+journal read p50", conditions=where),
        Figure(FIGURE, "per-replay p99, concurrency 1", single["p99_s"] * ms, "ms",
               floors["sequential_p99_s"] * ms, "record+journal read p99", conditions=where),
        Figure(FIGURE, f"CLI `switchboard replay` replays/s, concurrency {cli['concurrency']}", cli["rate"], "/s",
               made["rate"], "live pipeline producing them",
               conditions=f"{report['records_selected']} records; one run, process start and imports included; "
                          f"live: offered {made['offered_rate']:.0f}/s"),
    ]


def print_report(report: dict[str, Any]) -> None:
    made, floors, rtt = report["produce"], report["floors"], report["redis_rtt"]
    print(f"\nproduced {made['recorded']} records ({made['replied']}/{made['offered']} replied) at "
          f"{made['rate']:.1f}/s (offered {made['offered_rate']:.0f}/s); selected {report['records_selected']}")
    print(f"Redis round trip (asyncio PING): p50 {rtt['p50'] * 1e6:.0f} µs, p99 {rtt['p99'] * 1e6:.0f} µs")
    print(f"read+decode floor: one at a time {floors['sequential_rate']:.0f}/s "
          f"(p50 {floors['sequential_p50_s'] * 1e3:.2f} ms), pipelined {floors['pipelined_rate']:.0f}/s")
    print(f"\n{'how':<20} {'conc':>4} {'replays':>7} {'elapsed s':>9} {'/s':>7} {'p50 ms':>7} {'p99 ms':>7}  "
          f"{'verdicts':<18} every run /s")
    for name, key in (("admin batch", "api_default"), ("admin batch", "api_single"), ("switchboard replay", "cli")):
        r = report[key]
        every = " ".join(f"{rate:.0f}" for rate in r.get("rates", [r["rate"]]))
        print(f"{name:<20} {r['concurrency']:>4} {r['replays']:>7} {r['elapsed_s']:>9.2f} {r['rate']:>7.1f} "
              f"{r['p50_s'] * 1e3:>7.2f} {r['p99_s'] * 1e3:>7.2f}  {json.dumps(r['verdicts']):<18} {every}")
    if "profile" in report:
        p = report["profile"]
        print(f"\nin-process batch under cProfile: {p['replays']} at {p['rate']:.1f}/s, "
              f"{p['redis_commands_per_replay']:.1f} Redis commands per replay (pipelined ones too)")
        print(p["top_cumulative"])


if __name__ == "__main__":
    main()
