"""Inference service: the chat model through the whole service, beside the same model called in-process.

One run, one model (SmolLM2-135M-Instruct Q4_1 on llama.cpp), the same prompts, seed and max_tokens:

1. **in-process**: the project's own `LlamaEngine` called directly: time to first token (TTFT) and decode
   tokens/s per prompt, first alone (before any service starts), then interleaved request by request with the
   service's, so that both see the machine in the same state and a drift in its speed between phases cannot
   pass for the service's cost.
2. **through the service, one request at a time**: `python -m switchboard.inference` as a subprocess, as in
   production (Celery worker → inference bridge → Ray Serve → llama.cpp), and this script as its client doing
   what the planner and gateway do: `send_task` of a `StepRequest`, the token deltas on `sb:live:<activation>`
   (`live_interval_s=0`: every chunk the replica sends is published), the wake-up once the journal holds the
   result. TTFT is `send_task` → first `ReplyDelta` here; the bridge's own TTFT (model call → first chunk) is
   read from the journaled `InferenceResult`; the CPU each part of the system spent is read from /proc around
   each request.
3. **aggregate tokens/s at 1, 4 and 8 concurrent requests** (all completion tokens ÷ batch wall time).

Service variants, each started fresh with its own Redis: the default chat role (1 replica x 2 llama.cpp
threads, `max_ongoing_requests` 1, the replica coalescing the tokens of each 50 ms into one chunk); the same
with every token its own chunk, and with production's `live_interval_s` 0.1 (both one request at a time
only); with `max_ongoing_requests` 4 (concurrency only: the replica queues requests instead of the lane);
2 replicas x 1 thread, when the machine has a core per thread.

Decode tokens/s = (completion tokens - 1) ÷ (first token → end of stream): the rate once generation runs,
with the wait for the first token reported apart, so the two figures do not count the same time twice.
Every measured phase also records the share of the machine other processes took meanwhile; the report warns
when it passed 5 %.

    ./dev bench inference              # about 4 minutes on 2 cores
    ./dev bench inference --quick      # about 30 s: 32 tokens, one pass, the default service only
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import signal
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import redis
from common import Figure, figures_of, machine, now_iso, percentile, print_figures, write_report

from switchboard.core import keys
from switchboard.core.celery_app import make_celery
from switchboard.core.journal import SyncJournal, parse_wake_message
from switchboard.core.keys import Queue, Task
from switchboard.core.settings import ServiceSettings
from switchboard.core.wire import ChatMessage, InferenceRequest, InferenceResult, StepRequest
from switchboard.devstack.stack import Stack, StackConfig
from switchboard.inference.deployments.config import ChatRoleConfig
from switchboard.inference.deployments.engines import LlamaEngine
from switchboard.inference.deployments.protocol import parse_chat_request
from switchboard.inference.settings import InferenceSettings

SYSTEM = "You are Switchboard, a friendly assistant in a Discord server. Answer clearly."
PROMPTS = (
    "Write a short story about a lighthouse keeper who finds a message in a bottle.",
    "Explain how a bicycle's gears make climbing hills easier.",
    "Give me some tips for learning to play the guitar as an adult.",
    "Describe the water cycle so that a ten-year-old understands it.",
)
SEED = 42
TEMPERATURE = 0.7
# What every service variant shares: the local llama.cpp chat model, no vision role, every chunk published.
BASE_SETTINGS: dict[str, Any] = {"chat_backend": "llama", "vision_backend": "none", "live_interval_s": 0}
SETTLE_S = 0.05  # before each timed request: lets the last one's idle llama.cpp threads stop spinning
STOP_GRACE_S = 2.0
CONTENTION_WARNING = 0.05  # other processes' share of the machine during a phase that makes its figures suspect
FIRST_ANSWER_S = 120.0  # the service's first answer also waits for its worker to start consuming
ANSWER_S = 60.0


@dataclass(frozen=True)
class Variant:
    """A configuration of the inference service (`InferenceSettings` fields on top of `BASE_SETTINGS`), and
    what to measure on it."""

    name: str
    settings: dict[str, Any] = field(default_factory=dict)
    sequential: bool = True  # one request at a time, interleaved with in-process calls
    concurrency: bool = True  # aggregate tokens/s at the plan's concurrency levels

    def inference_settings(self, redis_url: str) -> InferenceSettings:
        return InferenceSettings(redis_url=redis_url, **{**BASE_SETTINGS, **self.settings})

    def env(self) -> dict[str, str]:
        """The same settings as the subprocess reads them."""
        return {f"SWITCHBOARD_{name.upper()}": str(value) for name, value in {**BASE_SETTINGS, **self.settings}.items()}

    def chat_role(self) -> ChatRoleConfig:
        return self.inference_settings("redis://unused").chat_role()


DEFAULT = Variant("default (1 replica x 2 threads)")
# Production's live_interval_s: the bridge publishes a delta at most every 0.1 s instead of every token.
BATCHED_DELTAS = Variant("default, deltas every 0.1 s", {"live_interval_s": 0.1}, concurrency=False)
# Before the replica coalesced its deltas: every token its own Ray chunk.
CHUNK_PER_TOKEN = Variant("default, a chunk per token", {"chat_stream_coalesce_s": 0}, concurrency=False)
TWO_BY_ONE = Variant("2 replicas x 1 thread", {"chat_num_replicas": 2, "chat_n_threads": 1})
# The lane then admits 4 at once and the replica queues them on its engine lock: no admission polling.
SERVE_QUEUES = Variant("default, max_ongoing_requests 4", {"chat_max_ongoing_requests": 4}, sequential=False)


@dataclass(frozen=True)
class Plan:
    """How much to measure: the default takes about 4 minutes on 2 cores, `--quick` about 1."""

    max_tokens: int = 64
    repeats: int = 3  # passes over the prompts, one request at a time
    concurrency: tuple[int, ...] = (1, 4, 8)
    batches: int = 4  # batches per concurrency level: at 1, one per prompt
    variants: tuple[Variant, ...] = (DEFAULT, CHUNK_PER_TOKEN, BATCHED_DELTAS, SERVE_QUEUES, TWO_BY_ONE)


FULL = Plan()
QUICK = Plan(max_tokens=32, repeats=1, batches=1, variants=(DEFAULT,))


@dataclass(frozen=True)
class Timing:
    """One request, timed from where its caller stands; seconds."""

    prompt: int
    ttft_s: float
    decode_s: float  # first token → end of stream
    total_s: float  # call → end of stream (in-process) or → journaled result (service)
    completion_tokens: int
    bridge_ttft_s: float | None = None  # what the bridge recorded: its model call → first chunk
    queue_s: float | None = None  # StepRequest sent → worker started it (Celery + broker)
    cpu_s: float | None = None  # in-process: CPU time of this process (llama.cpp's threads) during the call

    @property
    def tokens_per_s(self) -> float:
        return (self.completion_tokens - 1) / self.decode_s if self.completion_tokens > 1 and self.decode_s else 0.0


def chat_request(prompt: int, plan: Plan, stream_to: str | None = None) -> InferenceRequest:
    return InferenceRequest(messages=(ChatMessage(role="system", content=SYSTEM),
                                      ChatMessage(role="user", content=PROMPTS[prompt])),
                            max_tokens=plan.max_tokens, temperature=TEMPERATURE, seed=SEED, stream_to=stream_to)


# -- in-process ---------------------------------------------------------------------------------------------


def time_in_process(engine: LlamaEngine, prompt: int, plan: Plan) -> Timing:
    """One generation on the engine, as the Serve replica runs it (same request dict, same parsing)."""
    request = chat_request(prompt, plan)
    body = {"messages": [m.model_dump(include={"role", "content"}) for m in request.messages],
            "max_tokens": request.max_tokens, "temperature": request.temperature, "seed": request.seed}
    time.sleep(SETTLE_S)
    started, cpu_started = time.perf_counter(), time.process_time()
    first, done = None, {}
    for chunk in engine.stream(parse_chat_request(body)):
        if chunk["type"] == "done":
            done = chunk
        elif first is None:
            first = time.perf_counter()
    ended, cpu_ended = time.perf_counter(), time.process_time()
    assert first is not None, "the model produced no text"
    return Timing(prompt, first - started, ended - first, ended - started, done["completion_tokens"],
                  cpu_s=cpu_ended - cpu_started)


def in_process_passes(engine: LlamaEngine, plan: Plan, passes: int) -> list[Timing]:
    return [time_in_process(engine, p, plan) for _ in range(passes) for p in range(len(PROMPTS))]


# -- through the service ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Batch:
    timings: list[Timing]
    wall_s: float  # first send_task → last journaled result

    @property
    def tokens_per_s(self) -> float:
        return sum(t.completion_tokens for t in self.timings) / self.wall_s

    @property
    def model_busy_s(self) -> float:
        return sum((t.bridge_ttft_s or 0.0) + t.decode_s for t in self.timings)

    @property
    def handovers_s(self) -> list[float]:
        """For one replica answering one request at a time: how long it idled between the end of one answer and
        the start of the next (its first delta less the bridge's TTFT). The requests were sent within a few ms
        of each other, so times measured from each one's own send line up."""
        ordered = sorted(self.timings, key=lambda t: t.ttft_s)
        return [later.ttft_s - (later.bridge_ttft_s or 0.0) - (earlier.ttft_s + earlier.decode_s)
                for earlier, later in itertools.pairwise(ordered)]


class ServiceClient:
    """Sends inference steps the way the planner does and times what it sees on Redis."""

    def __init__(self, redis_url: str) -> None:
        self._app = make_celery(ServiceSettings(redis_url=redis_url), "switchboard-bench")
        self._redis = redis.Redis.from_url(redis_url)
        self._journal = SyncJournal(self._redis)
        self._wake = f"sb:wake:bench-{uuid.uuid4().hex[:8]}"
        self._ids = itertools.count()

    def batch(self, prompts: list[int], plan: Plan, timeout_s: float = ANSWER_S) -> Batch:
        """Send one request per prompt at once; wait until the journal holds every result."""
        steps = [self._step(prompt, plan) for prompt in prompts]
        live = {keys.live(step.activation_id): step.activation_id for step in steps}
        pubsub = self._redis.pubsub()
        try:
            pubsub.subscribe(self._wake, *live)
            _await_subscriptions(pubsub, len(live) + 1)
            time.sleep(SETTLE_S)
            sent = {step.activation_id: self._send(step) for step in steps}
            first, last, done = _follow(pubsub, live, self._wake, len(steps), timeout_s)
        finally:
            pubsub.close()
        timings = [self._timing(step, prompt, sent, first, last, done) for step, prompt in zip(steps, prompts,
                                                                                                 strict=True)]
        return Batch(timings, max(done.values()) - min(sent.values()))

    def _step(self, prompt: int, plan: Plan) -> StepRequest:
        activation_id = f"bench-{next(self._ids)}-{uuid.uuid4().hex[:6]}"
        return StepRequest(activation_id=activation_id, step="infer", reply_to=self._wake,
                           payload=chat_request(prompt, plan, stream_to=activation_id))

    def _send(self, step: StepRequest) -> float:
        """Send `step` stamped now (its `queued_at` is what the journal's queue time is measured from)."""
        sent_at, stamped = time.perf_counter(), step.model_copy(update={"queued_at": time.time()})
        self._app.send_task(Task.RUN_INFERENCE.value, args=[stamped.to_json()], task_id=step.task_id,
                            queue=Queue.INFERENCE.value)
        return sent_at

    def _timing(self, step: StepRequest, prompt: int, sent: dict[str, float], first: dict[str, float],
                last: dict[str, float], done: dict[str, float]) -> Timing:
        aid = step.activation_id
        recorded = self._journal.get(aid, step.step)
        if recorded is None or recorded.error is not None or not isinstance(recorded.output, InferenceResult):
            raise RuntimeError(f"step {step.task_id} failed: {recorded.error if recorded else 'no result'}")
        result = recorded.output
        queue_s = recorded.started_at - recorded.queued_at if recorded.started_at and recorded.queued_at else None
        return Timing(prompt, first[aid] - sent[aid], last[aid] - first[aid], done[aid] - sent[aid],
                      result.completion_tokens, result.time_to_first_token_s, queue_s)


def _await_subscriptions(pubsub: Any, count: int) -> None:
    """Return once Redis confirmed every subscription, so no delta can be published before we listen."""
    confirmed, deadline = 0, time.monotonic() + 10
    while confirmed < count:
        message = pubsub.get_message(timeout=1.0)
        if message and message["type"] == "subscribe":
            confirmed += 1
        if time.monotonic() > deadline:
            raise TimeoutError("Redis did not confirm the subscriptions")


def _follow(pubsub: Any, live: dict[str, str], wake: str, count: int,
            timeout_s: float) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    """Note when each activation's first and last delta, and its journal wake-up, arrive here."""
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    done: dict[str, float] = {}
    deadline = time.monotonic() + timeout_s
    while len(done) < count:
        message = pubsub.get_message(timeout=1.0)
        now = time.perf_counter()
        if message is None or message["type"] != "message":
            if time.monotonic() > deadline:
                raise TimeoutError(f"{count - len(done)} of {count} answers missing after {timeout_s:g} s")
            continue
        channel = message["channel"].decode()
        if channel == wake:
            done[parse_wake_message(message["data"])[0]] = now
        else:
            first.setdefault(live[channel], now)
            last[live[channel]] = now
    return first, last, done


def interleaved(client: ServiceClient, engine: LlamaEngine, plan: Plan,
                service_pid: int) -> tuple[list[Timing], list[Timing], dict[str, float]]:
    """Each prompt in-process, then through the service, one request at a time, `plan.repeats` times.

    Alternating puts both in the same machine state (the service idling beside the in-process call), so a
    drift in the machine's speed between two phases cannot pass for the service's cost. Returns the
    in-process and the service timings, and the CPU seconds each part spent during the service requests.
    """
    local: list[Timing] = []
    remote: list[Timing] = []
    cpu: dict[str, float] = {}
    for _ in range(plan.repeats):
        for prompt in range(len(PROMPTS)):
            local.append(time_in_process(engine, prompt, plan))
            before, client_before = cpu_by_part(service_pid), time.process_time()
            remote.extend(client.batch([prompt], plan).timings)
            client_after, after = time.process_time(), cpu_by_part(service_pid)
            cpu[CLIENT] = cpu.get(CLIENT, 0.0) + client_after - client_before
            for part, seconds in after.items():
                cpu[part] = cpu.get(part, 0.0) + seconds - before[part]
    return local, remote, cpu


def concurrent(client: ServiceClient, plan: Plan, config: dict[str, Any]) -> list[dict[str, Any]]:
    """Batches of 1, 4, 8 … simultaneous requests, round robin over the prompts.

    `model_busy` is the share of the batch's wall time times replicas that the model spent answering (the bridge's
    time to first token plus the decode time seen here): what is left, the replicas idled while requests waited.
    Only with `max_ongoing_requests` 1: a replica that takes more queues them inside the bridge's clock.
    `handover_s` is the replica's idle time between two queued answers, with a single replica.
    """
    replicas, exact = config["replicas"], config["max_ongoing_requests"] == 1
    serial = exact and replicas == 1
    levels = []
    for level in plan.concurrency:
        batches = [client.batch([(b * level + i) % len(PROMPTS) for i in range(level)], plan)
                   for b in range(plan.batches)]
        timings = [t for b in batches for t in b.timings]
        levels.append({"concurrency": level, "batches": len(batches),
                       "aggregate_tokens_per_s": summary([b.tokens_per_s for b in batches]),
                       "model_busy": summary([b.model_busy_s / (b.wall_s * replicas) for b in batches])
                       if exact else None,
                       "handover_s": summary([h for b in batches for h in b.handovers_s])
                       if serial and level > 1 else None,
                       "ttft_s": summary([t.ttft_s for t in timings]),
                       "total_s": summary([t.total_s for t in timings]),
                       "completion_tokens": sum(t.completion_tokens for t in timings)})
    return levels


def warm_up(client: ServiceClient, plan: Plan, replicas: int) -> None:
    """The first answer waits for the worker; then enough at once that every replica and thread has run one."""
    client.batch([0], plan, timeout_s=FIRST_ANSWER_S)
    client.batch([i % len(PROMPTS) for i in range(max(4, 2 * replicas))], plan, timeout_s=FIRST_ANSWER_S)


# -- CPU accounting ------------------------------------------------------------------------------------------


def _processes() -> dict[int, tuple[int, str, float]]:
    """pid → (parent pid, command line, CPU seconds so far), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        table[int(entry.name)] = (int(fields[1]), cmdline, (int(fields[11]) + int(fields[12])) / ticks)
    return table


CLIENT = "benchmark client (send_task, pub/sub, journal)"
SERVICE = "service process (Celery worker, bridge, Ray driver)"
REPLICAS = "Ray Serve replicas (llama.cpp)"
RAY = "Ray system (GCS, raylet, Serve controller, workers)"
REDIS = "redis-server"


def cpu_by_part(service_pid: int) -> dict[str, float]:
    """CPU seconds so far of the service process, its Ray replicas, the rest of its Ray, and our Redis.

    The client's own CPU is read with `time.process_time`, so the scans of /proc are not counted in it.
    """
    table = _processes()
    parts = dict.fromkeys((SERVICE, REPLICAS, RAY, REDIS), 0.0)
    for pid, (_, cmdline, cpu) in table.items():
        if pid == service_pid:
            parts[SERVICE] += cpu
        elif _descends(pid, service_pid, table):
            parts[REPLICAS if "ServeReplica" in cmdline else RAY] += cpu
        elif "redis-server" in cmdline.split(" ")[0] and _descends(pid, os.getpid(), table):
            parts[REDIS] += cpu
    return parts


def cpu_totals() -> tuple[float, float]:
    """CPU seconds so far: the machine's busy time (steal included), and this process with everything under it
    (Redis, the service, its Ray)."""
    with open("/proc/stat") as stat:
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, stat.readline().split()[1:9])
    table, me = _processes(), os.getpid()
    ours = sum(cpu for pid, (_, _, cpu) in table.items() if pid == me or _descends(pid, me, table))
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK"), ours


@contextlib.contextmanager
def others_watched(record: dict[str, float], phase: str) -> Iterator[None]:
    """Record in `record[phase]` the share of the machine that other processes (or the hypervisor) took
    meanwhile: timings taken beside a test run are not comparable, and the report says so."""
    (machine_before, ours_before), began = cpu_totals(), time.perf_counter()
    yield
    (machine_after, ours_after), wall = cpu_totals(), time.perf_counter() - began
    others = (machine_after - machine_before) - (ours_after - ours_before)
    record[phase] = round(max(0.0, others) / (wall * (os.cpu_count() or 1)), 3)


def descendants(pid: int) -> dict[int, str]:
    """The processes under `pid`, itself included (Ray's GCS, raylet, replicas and workers), with their start
    times, so that a pid the system reuses later is never taken for one of them."""
    table = _processes()
    tree = [pid] + [other for other in table if _descends(other, pid, table)]
    return {p: started for p in tree if (started := _start_time(p)) is not None}


def await_exit(processes: dict[int, str], timeout_s: float = 30.0) -> None:
    """Wait until these processes are gone, so a replica still shutting down cannot slow the next measurement;
    SIGKILL what is left after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while (alive := [p for p, started in processes.items() if _start_time(p) == started]) and \
            time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in alive:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _start_time(pid: int) -> str | None:
    """When `pid` started (clock ticks since boot), or None when it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    return None if fields[0] == "Z" else fields[19]


def _descends(pid: int, ancestor: int, table: dict[int, tuple[int, str, float]]) -> bool:
    while pid in table and pid > 1:
        pid = table[pid][0]
        if pid == ancestor:
            return True
    return False


# -- the run --------------------------------------------------------------------------------------------------


def summary(values: Iterable[float]) -> dict[str, float]:
    values = list(values)
    return {"median": statistics.median(values), "p90": percentile(values, 0.9), "n": len(values)}


def per_prompt(timings: list[Timing]) -> dict[str, Any]:
    """Medians and p90 per prompt and over all prompts, for every figure a timing carries."""
    figures: dict[str, Callable[[Timing], float | None]] = {
        "ttft_s": lambda t: t.ttft_s, "tokens_per_s": lambda t: t.tokens_per_s, "total_s": lambda t: t.total_s,
        "completion_tokens": lambda t: t.completion_tokens, "bridge_ttft_s": lambda t: t.bridge_ttft_s,
        "queue_s": lambda t: t.queue_s}
    groups = {str(p): [t for t in timings if t.prompt == p] for p in range(len(PROMPTS))} | {"all": timings}
    return {name: {figure: summary(v) for figure, get in figures.items()
                   if (v := [x for t in group if (x := get(t)) is not None])}
            for name, group in groups.items()}


def end_to_end_rate(timings: list[Timing]) -> float:
    """Tokens per second of requests run back to back, waits for first tokens included."""
    return sum(t.completion_tokens for t in timings) / sum(t.total_s for t in timings)


def describe(variant: Variant, redis_url: str) -> dict[str, Any]:
    """The chat role and bridge as the service builds them from these settings."""
    settings = variant.inference_settings(redis_url)
    role = settings.chat_role()
    return {"name": variant.name, "replicas": role.num_replicas, "threads_per_replica": role.n_threads,
            "num_cpus_per_replica": role.num_cpus, "max_ongoing_requests": role.max_ongoing_requests,
            "bridge_concurrency": settings.bridge_concurrency, "ray_num_cpus": settings.ray_num_cpus,
            "live_interval_s": settings.live_interval_s, "machine_cpus": os.cpu_count()}


def run_service(variant: Variant, plan: Plan, engine: LlamaEngine, run_dir: Path) -> dict[str, Any]:
    """Start Redis and the inference service for `variant`, measure it, stop both.

    `engine` is the in-process model at the same thread count, timed again beside the running service.
    """
    stack = Stack(StackConfig(run_dir=run_dir / f"service-{plan.variants.index(variant)}", chat_backend="llama",
                              services=("inference",), service_env={"inference": variant.env()}))
    began = time.perf_counter()
    tree: dict[int, str] = {}  # the service's processes, to see them all gone before the next measurement
    progress(f"starting the service: {variant.name}")
    try:
        stack.start()
        tree = descendants(stack.services["inference"].pid or 0)
        out: dict[str, Any] = {"config": describe(variant, stack.redis_url), "start_s": time.perf_counter() - began}
        client = ServiceClient(stack.redis_url)
        warm_up(client, plan, out["config"]["replicas"])
        service_pid = stack.services["inference"].pid
        assert service_pid is not None
        out["others_cpu_share"] = others = {}
        if variant.sequential:
            progress("one request at a time, interleaved with in-process calls")
            with others_watched(others, "sequential"):
                out |= one_at_a_time(client, engine, plan, service_pid)
        if variant.concurrency:
            progress(f"concurrent requests: {', '.join(map(str, plan.concurrency))}")
            with others_watched(others, "concurrent"):
                out["concurrent"] = concurrent(client, plan, out["config"])
        tree |= descendants(stack.services["inference"].pid or 0)
        return out
    finally:
        progress("stopping the service")
        # Its graceful shutdown does not finish within ServiceProcess's 15 s grace on this machine (the replica
        # is then killed anyway): a short grace spends less of the run waiting for it.
        if "inference" in stack.services:
            stack.services["inference"].stop(grace_s=STOP_GRACE_S)
        stack.stop()
        await_exit(tree)


def one_at_a_time(client: ServiceClient, engine: LlamaEngine, plan: Plan, service_pid: int) -> dict[str, Any]:
    local, remote, cpu = interleaved(client, engine, plan, service_pid)
    return {"in_process_beside": per_prompt(local), "sequential": per_prompt(remote),
            "sequential_tokens": sum(t.completion_tokens for t in remote),
            "in_process_cpu_ms_per_token": cpu_per_token(local),
            "cpu_s_sequential": {part: round(seconds, 3) for part, seconds in cpu.items()},
            "timings": {"in_process_beside": [asdict(t) for t in local], "service": [asdict(t) for t in remote]}}


def cpu_per_token(timings: list[Timing]) -> float:
    """Milliseconds of CPU (all of llama.cpp's threads) per completion token, in-process."""
    return sum(t.cpu_s or 0.0 for t in timings) / sum(t.completion_tokens for t in timings) * 1000


_STARTED = time.monotonic()


def progress(what: str) -> None:
    print(f"[{time.monotonic() - _STARTED:5.0f} s] {what}", flush=True)


def fits(variant: Variant) -> bool:
    """Whether the machine has a core for every llama.cpp thread of every replica."""
    role = variant.chat_role()
    return role.num_replicas * role.n_threads <= (os.cpu_count() or 1)


def baseline(role: ChatRoleConfig, plan: Plan, others: dict[str, float]) -> tuple[LlamaEngine, list[Timing]]:
    """The engine the chat replicas run, loaded here, warmed up, then timed over every prompt."""
    engine = LlamaEngine(role)
    time_in_process(engine, 0, plan)  # the first generation allocates llama.cpp's buffers
    with others_watched(others, f"in-process {role.n_threads} thread(s)"):
        timings = in_process_passes(engine, plan, plan.repeats)
    return engine, timings


def measure(plan: Plan) -> dict[str, Any]:
    """The in-process baselines first, with nothing else running, then each service variant in turn."""
    variants = [v for v in plan.variants if fits(v)]
    progress("in-process baselines")
    others: dict[str, float] = {}
    baselines = {role.n_threads: baseline(role, plan, others) for role in (v.chat_role() for v in variants)}
    report: dict[str, Any] = {
        "benchmark": "inference", "date": now_iso(), "machine": machine(), "plan": asdict(plan),
        "model": f"{DEFAULT.chat_role().model_name} Q4_1 (llama.cpp)", "prompts": list(PROMPTS), "seed": SEED,
        "temperature": TEMPERATURE, "skipped": [v.name for v in plan.variants if v not in variants],
        "others_cpu_share": others,
        "in_process": {str(threads): {"per_prompt": per_prompt(timings), "end_to_end_tokens_per_s":
                                      end_to_end_rate(timings), "cpu_ms_per_token": cpu_per_token(timings),
                                      "timings": [asdict(t) for t in timings]}
                       for threads, (_, timings) in baselines.items()}}
    with tempfile.TemporaryDirectory(prefix="switchboard-bench-inference-") as run_dir:
        report["services"] = [run_service(v, plan, baselines[v.chat_role().n_threads][0], Path(run_dir))
                              for v in variants]
    return report


# -- the report -----------------------------------------------------------------------------------------------


def print_report(report: dict[str, Any]) -> None:
    print()
    for service in report["services"]:
        print(report_line(service["config"]))
    for name in report["skipped"]:
        print(f"{name}: skipped, the machine has fewer cores than its llama.cpp threads")
    print_contention(report)
    print_per_prompt(report["services"][0])
    print_variants(report)
    print_cpu(report["services"])
    print_concurrency(report)


def print_contention(report: dict[str, Any]) -> None:
    """Warn when other processes took a noticeable share of the machine while something was measured."""
    shares = dict(report["others_cpu_share"])
    for service in report["services"]:
        shares |= {f"{service['config']['name']}, {phase}": share
                   for phase, share in service["others_cpu_share"].items()}
    busy = {phase: share for phase, share in shares.items() if share > CONTENTION_WARNING}
    print(f"Other processes took at most {max(shares.values()):.0%} of the machine while measuring")
    for phase, share in busy.items():
        print(f"WARNING: {share:.0%} during {phase}: those figures are not comparable; run again on a quiet machine")


def report_line(config: dict[str, Any]) -> str:
    return (f"{config['name']}: {config['replicas']} replica(s) x {config['threads_per_replica']} llama.cpp "
            f"thread(s), {config['num_cpus_per_replica']:g} Ray CPU each, max_ongoing_requests "
            f"{config['max_ongoing_requests']}, bridge threads {config['bridge_concurrency']}, Ray CPUs "
            f"{config['ray_num_cpus']}, deltas every {config['live_interval_s']:g} s, machine CPUs "
            f"{config['machine_cpus']}")


def print_per_prompt(service: dict[str, Any]) -> None:
    """One request at a time on one service, per prompt and over all, against the in-process calls
    interleaved with it: medians (p90)."""
    print(f"\nOne request at a time, {service['config']['name']}, in-process calls interleaved: median (p90); "
          "TTFT in ms")
    print(f"{'prompt':>6} {'in-proc TTFT':>13} {'svc TTFT':>13} {'bridge TTFT':>13} {'added':>6} "
          f"{'in-proc tok/s':>14} {'svc tok/s':>14} {'ratio':>5} {'svc total s':>12}")
    for key, local in service["in_process_beside"].items():
        remote = service["sequential"][key]
        print(f"{key:>6} {_ms(local['ttft_s']):>13} {_ms(remote['ttft_s']):>13} {_ms(remote['bridge_ttft_s']):>13} "
              f"{_added_ms(local, remote):6.1f} {_rate(local['tokens_per_s']):>14} "
              f"{_rate(remote['tokens_per_s']):>14} {_ratio(local, remote):5.2f} {_s(remote['total_s']):>12}")


def print_variants(report: dict[str, Any]) -> None:
    """Every service over all prompts, against the in-process model at its thread count: interleaved with
    the service, and alone before any service started."""
    print("\nOne request at a time, all prompts: median (p90). 'alone': in-process before any service started")
    print(f"{'service':<34} {'in-proc TTFT':>13} {'svc TTFT':>13} {'bridge TTFT':>13} {'added ms':>8} "
          f"{'alone tok/s':>14} {'in-proc tok/s':>14} {'svc tok/s':>14} {'ratio':>5} {'vs alone':>8}")
    for service in (s for s in report["services"] if "sequential" in s):
        alone = report["in_process"][str(service["config"]["threads_per_replica"])]["per_prompt"]["all"]
        local, remote = service["in_process_beside"]["all"], service["sequential"]["all"]
        print(f"{service['config']['name']:<34} {_ms(local['ttft_s']):>13} {_ms(remote['ttft_s']):>13} "
              f"{_ms(remote['bridge_ttft_s']):>13} {_added_ms(local, remote):8.1f} "
              f"{_rate(alone['tokens_per_s']):>14} {_rate(local['tokens_per_s']):>14} "
              f"{_rate(remote['tokens_per_s']):>14} {_ratio(local, remote):5.2f} {_ratio(alone, remote):8.2f}")


def print_cpu(services: list[dict[str, Any]]) -> None:
    services = [s for s in services if "sequential" in s]
    print("\nCPU per completion token, one request at a time (ms of CPU / token)")
    print(f"{'part':<55}" + "".join(f" {s['config']['name'][:24]:>24}" for s in services))
    print(f"{'in-process llama.cpp, interleaved (for comparison)':<55}"
          + "".join(f" {s['in_process_cpu_ms_per_token']:24.2f}" for s in services))
    for part in services[0]["cpu_s_sequential"]:
        print(f"{part:<55}" + "".join(f" {s['cpu_s_sequential'][part] / s['sequential_tokens'] * 1000:24.2f}"
                                      for s in services))


def print_concurrency(report: dict[str, Any]) -> None:
    print("\nConcurrent requests: aggregate tokens/s = all completion tokens / batch wall time; median (p90)")
    for service in (s for s in report["services"] if "concurrent" in s):
        config = service["config"]
        single = report["in_process"][str(config["threads_per_replica"])]["end_to_end_tokens_per_s"]
        print(f"  {config['name']}: ceiling {config['replicas']} x {single:.1f} tok/s (in-process, back to back)")
        print(f"  {'concurrent':>10} {'batches':>7} {'agg tok/s':>14} {'model busy':>11} {'handover ms':>12} "
              f"{'TTFT ms':>15} {'latency s':>13}")
        for level in service["concurrent"]:
            busy = f"{level['model_busy']['median']:.0%}" if level["model_busy"] else "-"
            handover = _ms(level["handover_s"]) if level["handover_s"] else "-"
            print(f"  {level['concurrency']:>10} {level['batches']:>7} {_rate(level['aggregate_tokens_per_s']):>14} "
                  f"{busy:>11} {handover:>12} {_ms(level['ttft_s']):>15} {_s(level['total_s']):>13}")


def _added_ms(local: dict[str, Any], remote: dict[str, Any]) -> float:
    return (remote["ttft_s"]["median"] - local["ttft_s"]["median"]) * 1000


def _ratio(local: dict[str, Any], remote: dict[str, Any]) -> float:
    return remote["tokens_per_s"]["median"] / local["tokens_per_s"]["median"]


def _ms(values: dict[str, float]) -> str:
    return f"{values['median'] * 1000:.1f} ({values['p90'] * 1000:.0f})"


def _rate(values: dict[str, float]) -> str:
    return f"{values['median']:.1f} ({values['p90']:.1f})"


def _s(values: dict[str, float]) -> str:
    return f"{values['median']:.2f} ({values['p90']:.2f})"


def inference_figures(report: dict[str, Any]) -> list[Figure]:
    """Per service variant: decode tokens/s and TTFT against the in-process model interleaved with it, and the
    aggregate at each concurrency against the in-process model back to back on as many replicas."""
    plan = report["plan"]
    figures = []
    for service in report["services"]:
        config = service["config"]
        conditions = (f"{report['model']}, {plan['max_tokens']} tokens, {config['replicas']} replica(s) x "
                      f"{config['threads_per_replica']} thread(s), {config['machine_cpus']} CPUs")
        if "sequential" in service:
            local, remote = service["in_process_beside"]["all"], service["sequential"]["all"]
            figures.append(Figure("3 inference", f"decode tok/s, {config['name']}", remote["tokens_per_s"]["median"],
                                  "tok/s", local["tokens_per_s"]["median"], "in-process", goal="ratio ≥ 0.9",
                                  met=_ratio(local, remote) >= 0.9, conditions=f"{conditions}, one at a time"))
            figures.append(Figure("3 inference", f"TTFT, {config['name']}", remote["ttft_s"]["median"] * 1000, "ms",
                                  local["ttft_s"]["median"] * 1000, "in-process", goal="≤ 50 ms added",
                                  met=_added_ms(local, remote) <= 50, conditions=f"{conditions}, one at a time"))
        for level in service.get("concurrent", []):
            single = report["in_process"][str(config["threads_per_replica"])]["end_to_end_tokens_per_s"]
            figures.append(Figure("3 inference", f"aggregate at {level['concurrency']}, {config['name']}",
                                  level["aggregate_tokens_per_s"]["median"], "tok/s", single * config["replicas"],
                                  "in-process back to back × replicas", conditions=conditions))
    return figures


def run(quick: bool = False, max_tokens: int | None = None) -> dict[str, Any]:
    plan = QUICK if quick else FULL
    if max_tokens:
        plan = replace(plan, max_tokens=max_tokens)
    report = measure(plan)
    progress("done")
    report["figures"] = [f.as_dict() for f in inference_figures(report)]
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="about 30 s: 32 tokens, one pass, default service")
    parser.add_argument("--max-tokens", type=int, help="completion tokens per request (default 64, quick 32)")
    args = parser.parse_args()
    report = run(args.quick, args.max_tokens)
    print_report(report)
    print()
    print_figures(figures_of(report))
    print(f"\nwritten to {write_report('inference', report)}")


if __name__ == "__main__":
    main()
