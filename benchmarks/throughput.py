"""Throughput: the highest offered rate the whole pipeline sustains for 60 s, beside bare Celery no-op tasks.

The system runs as in the pipeline benchmark (every service, the instant echo model, limits opened wide).
Rates are probed upwards in short steps; the highest one that held is then offered for the full minute
(and, if it did not hold that long, the step below it). A rate *holds* when every activation offered got
exactly one reply (none lost, none duplicated, counted on the Discord emulator) and the replies kept up:
p99 latency under `KEPT_UP_P99_S`, which a backlog growing for the whole window would pass within seconds.

The peer, in the same run on the same Redis: a bare Celery worker built with the project's Celery settings
(threads pool, the tools worker's concurrency) running no-op tasks that only count themselves, sent as fast
as one producer can. An activation costs two Celery tasks (a tool, a model call) plus the planner's and the
gateway's work, so the ratio says how much of what Celery alone could carry the whole product carries.

    ./dev bench throughput
    ./dev bench throughput --quick     # 5 s probes, a 15 s hold
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import redis
from celery_noop import DONE, QUEUE, TASK, noop_app
from common import Figure, figures_of, machine, now_iso, print_figures, write_report
from pipeline import echo_stack, run_rate

from switchboard.emulator.client import EmulatorClient

KEPT_UP_P99_S = 1.0
NOOP_TASKS = 3000
NOOP_CONCURRENCY = 4  # the tools worker's default


@dataclass(frozen=True)
class Plan:
    probe_rates: tuple[float, ...] = (20, 30, 40, 50, 60, 70, 80, 90, 100, 120)
    probe_s: float = 10.0
    hold_s: float = 60.0
    noop_tasks: int = NOOP_TASKS


FULL = Plan()
QUICK = Plan(probe_s=5.0, hold_s=15.0, noop_tasks=1000)


def held(result: dict) -> bool:
    return (result["replied"] == result["offered"] and result["duplicated"] == 0
            and result["p99_s"] is not None and result["p99_s"] < KEPT_UP_P99_S)


def celery_noop_rate(redis_url: str, tasks: int) -> dict:
    """Tasks per second a bare Celery worker runs, first send → last task run, one producer sending."""
    store = redis.Redis.from_url(redis_url)
    store.delete(DONE, QUEUE)
    worker = subprocess.Popen([sys.executable, str(Path(__file__).with_name("celery_noop.py")), redis_url,
                               str(NOOP_CONCURRENCY)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        app = noop_app(redis_url)
        app.send_task(TASK)  # the worker is up once this one ran
        deadline = time.monotonic() + 60
        while int(store.get(DONE) or 0) < 1:
            if time.monotonic() > deadline:
                raise TimeoutError("the no-op worker did not start within 60 s")
            time.sleep(0.05)
        store.delete(DONE)
        started = time.perf_counter()
        for _ in range(tasks):
            app.send_task(TASK)
        sent_s = time.perf_counter() - started
        deadline = time.monotonic() + 120
        while int(store.get(DONE) or 0) < tasks and time.monotonic() < deadline:
            time.sleep(0.005)
        ran = int(store.get(DONE) or 0)
        elapsed = time.perf_counter() - started
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    return {"tasks": tasks, "ran": ran, "elapsed_s": elapsed, "send_s": sent_s, "rate": ran / elapsed,
            "concurrency": NOOP_CONCURRENCY}


def run(quick: bool = False) -> dict:
    plan = QUICK if quick else FULL
    with echo_stack() as (stack, _):
        assert stack.emulator_url is not None
        emulator = EmulatorClient(stack.emulator_url)
        store = redis.Redis.from_url(stack.redis_url)
        channels = [emulator.create_channel(f"bench-{i}")["id"] for i in range(32)]
        run_rate(emulator, store, 5, 2, 60, channels)  # warm-up
        probes = []
        for rate in plan.probe_rates:
            result = run_rate(emulator, store, rate, plan.probe_s, 60, channels)
            result["held"] = held(result)
            probes.append(result)
            print(f"probe {rate:g}/s: {result['replied']}/{result['offered']} replied, p99 "
                  f"{(result['p99_s'] or 0) * 1000:.0f} ms, {'held' if result['held'] else 'did not hold'}",
                  flush=True)
            if not result["held"]:
                break
        holds = []
        candidates = [p["offered_rate"] for p in probes if p["held"]][-2:][::-1]
        for rate in candidates:  # the highest probe that held, then the one below it
            result = run_rate(emulator, store, rate, plan.hold_s, 120, channels)
            result["held"] = held(result)
            holds.append(result)
            print(f"hold {rate:g}/s for {plan.hold_s:g} s: {result['replied']}/{result['offered']} replied, "
                  f"{result['duplicated']} duplicated, p99 {(result['p99_s'] or 0) * 1000:.0f} ms", flush=True)
            if result["held"]:
                break
        noop = celery_noop_rate(stack.redis_url, plan.noop_tasks)
    sustained = next((h for h in holds if h["held"]), None)
    report = {"benchmark": "throughput", "date": now_iso(), "machine": machine(), "model": "echo (Ray Serve)",
              "kept_up_p99_s": KEPT_UP_P99_S, "probe_s": plan.probe_s, "hold_s": plan.hold_s,
              "probes": probes, "holds": holds, "celery_noop": noop,
              "sustained_rate": sustained["offered_rate"] if sustained else None}
    report["figures"] = [Figure(
        "2 throughput", f"sustained {plan.hold_s:g} s, 0 lost/dup", report["sustained_rate"], "/s",
        noop["rate"], "bare Celery no-op tasks/s",
        conditions=f"echo model, {machine()['cpus']} CPUs, 32 channels, 2 Celery tasks per activation; "
                   f"no-op worker: threads × {NOOP_CONCURRENCY}, one producer").as_dict()]
    return report


def print_report(report: dict) -> None:
    print(f"\n{'phase':>6} {'offered/s':>9} {'sent':>5} {'replied':>7} {'dup':>4} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'got/s':>7} held")
    for phase, rows in (("probe", report["probes"]), ("hold", report["holds"])):
        for r in rows:
            ms = [f"{r[k] * 1000:8.1f}" if r[k] is not None else f"{'-':>8}" for k in ("p50_s", "p99_s")]
            got = f"{r['achieved_rate']:7.1f}" if r["achieved_rate"] else f"{'-':>7}"
            print(f"{phase:>6} {r['offered_rate']:9.0f} {r['offered']:5d} {r['replied']:7d} {r['duplicated']:4d} "
                  f"{' '.join(ms)} {got} {'yes' if r['held'] else 'no'}")
    noop = report["celery_noop"]
    print(f"\nbare Celery no-op: {noop['ran']}/{noop['tasks']} tasks in {noop['elapsed_s']:.2f} s "
          f"({noop['rate']:.0f}/s; sending alone took {noop['send_s']:.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 s probes and a 15 s hold")
    report = run(parser.parse_args().quick)
    print_report(report)
    print()
    print_figures(figures_of(report))
    print(f"\nwritten to {write_report('throughput', report)}")


if __name__ == "__main__":
    main()
