"""Agent group: how long three personas take to answer one message on the local model, beside one persona.

Starts the whole system (Redis, Discord emulator, gateway, planner, tools, inference on Ray with the
packaged SmolLM2-135M on llama.cpp, the default chat role), sets up an agent group of three personas in one
channel as an operator does (`/persona create` three times, then `/persona group`), and mentions the bot
there with a fixed list of messages, each once the previous turn ended (the final reply posted). Per
message: the time from injecting it into the emulator to the first persona's answer being posted, and to
the last; how many personas answered; and the turn plan the group journaled (its predicted times and
whether they fit the budgets, personas it dropped). Then a few messages arriving at once (the channel
answers them in order, so the later ones wait for the earlier turns).

The budgets are the design's: 10 s from a message to the first persona's reply, 30 s to every reply.

**Baseline: one persona answering the same message in the same stack.** The group's first persona
(`ada`, `/persona set ada`) alone in a channel of its own, answered by the default `legacy` callsystem,
each message sent there right after the group's turn (interleaved, so both see the machine in the same
state). It pays the same pipeline (gateway, planner, Celery, Ray), the same model and the same persona
instructions ("one or two sentences"); only the callsystem differs. On one local replica the group's
personas answer one after another, so its all-replies time should read as about three such answers and
its first reply as about one: the ratios say what answering as a group costs beyond answering once. The
model alone would be the wrong floor here: it hides the pipeline the user waits on, and it would not
show whether the group's plan, prompts and posting add anything beyond the model's work. The answers
differ in length (legacy allows 200 tokens, the group plans at most 120, and each persona's prompt also
carries the earlier personas' answers), so every model call's prompt and answer tokens are reported too.

Where the group's time goes is read from the journal: each generation's Celery dispatch, its run on the
inference worker (lane admission, Ray, llama.cpp: time to first token and the whole call), the planner's gap
before the next wave, and the gateway's lag to post each turn. Beside each message: the chat lane's
averages the plan read, and the share of the machine other processes took meanwhile (timings taken beside
other work are not comparable).

    .venv/bin/python benchmarks/agents.py            # about 3½ minutes on 2 cores: 6 messages, 3 at once
    .venv/bin/python benchmarks/agents.py --quick    # about 1 minute: 2 messages, 2 at once
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from common import Figure, figures_of, machine, now_iso, percentile, print_figures, write_report
from inference import others_watched
from pipeline import BotReply, ReplyClock

from switchboard.core import keys
from switchboard.core.lanes import CHAT_ROLE
from switchboard.core.wire import ActivationRecord, InferenceResult, StepResult, TurnPlan
from switchboard.devstack.stack import Stack, StackConfig
from switchboard.emulator.client import EmulatorClient

FIGURE = "6 agent group"
MODEL = "SmolLM2-135M-Instruct Q4_1 (llama.cpp, 1 replica x 2 threads)"
FIRST_BUDGET_S = 10.0
ALL_BUDGET_S = 30.0
SINGLE_MAX_TOKENS = 200  # the legacy callsystem's
PERSONAS = {
    "ada": "You are Ada, a cheerful mathematician. Answer in one or two sentences.",
    "bob": "You are Bob, an old sailor. Answer in one or two sentences.",
    "cy": "You are Cy, a poet. Answer in one or two sentences.",
}
MESSAGES = (
    "Hello everyone! What do you each like best?",
    "What should I cook for dinner tonight?",
    "Any tips for a rainy weekend?",
    "What is your favourite season, and why?",
    "Can you recommend a book to read?",
    "How do you stay calm before a big exam?",
)
AT_ONCE = ("Quick one: tea or coffee?", "And what do you have for breakfast?", "Also, cats or dogs?")
ALONE = "ada"  # the baseline's persona: the group's first speaker, answering alone
WARM_UP = ("Hi there, is everybody awake?", "Good morning!")
TURN_TIMEOUT_S = 120.0  # one message, from injection to the final reply posted
COMMAND_TIMEOUT_S = 15.0
POLL_S = 0.05
CONTENTION_WARNING = 0.05  # other processes' share of the machine that makes a message's timings suspect
UNPOSTED_AFTER_S = 10.0  # recorded but not posted for this long: an activation that ends without a post
PLAN_NOTE = "turn plan: "  # how the group quotes its plan on the activation record


@dataclass(frozen=True)
class Plan:
    messages: int  # sent one after another, each once the previous turn ended
    at_once: int  # then sent together
    seconds: float  # no further message one after another is sent once this much of the run has passed


FULL = Plan(messages=len(MESSAGES), at_once=3, seconds=120)
QUICK = Plan(messages=2, at_once=2, seconds=45)


def speaker_of(content: str) -> str | None:
    """The persona heading a group turn (`**ada**: ...`), None for an unheaded answer."""
    if content.startswith("**") and "**" in content[2:]:
        return content[2:].split("**", 1)[0]
    return None


# -- setting up ---------------------------------------------------------------------------------------------


def command(emulator: EmulatorClient, name: str, subcommand: str, channel: str, options: dict[str, str]) -> str:
    """Invoke a slash command and return its answer's text."""
    interaction = emulator.invoke_command(name, subcommand=subcommand, channel_id=channel, options=options)
    emulator.wait_for_interaction_response(interaction, timeout=COMMAND_TIMEOUT_S)
    deadline = time.monotonic() + COMMAND_TIMEOUT_S
    while time.monotonic() < deadline:
        view = emulator.interaction(interaction)
        texts = [m["content"] for m in [view["original"], *view["followups"]] if m and m.get("content")]
        if texts:
            return texts[-1]
        time.sleep(POLL_S)
    raise TimeoutError(f"/{name} {subcommand} did not answer in {COMMAND_TIMEOUT_S:g} s")


def set_up(emulator: EmulatorClient, group: str, single: str) -> None:
    """The personas; the group in `group`; the group's first persona alone (and no group) in `single`."""
    for name, instructions in PERSONAS.items():
        command(emulator, "persona", "create", group, {"name": name, "instructions": instructions})
    made = command(emulator, "persona", "group", group, {"names": " ".join(PERSONAS)})
    if not made.startswith("👥"):
        raise RuntimeError(f"/persona group refused: {made}")
    chosen = command(emulator, "persona", "set", single, {"name": ALONE})
    if not chosen.startswith("🎭"):
        raise RuntimeError(f"/persona set refused: {chosen}")


# -- one message --------------------------------------------------------------------------------------------


@dataclass
class Sent:
    channel: str
    message_id: str
    content: str
    injected_at: float


@dataclass
class Answered:
    """What one message got: times from its injection, in seconds."""

    kind: str  # "group" or "single"
    content: str
    first_s: float | None
    all_s: float | None
    answered: list[str]  # speakers, in the order they were posted ("" for an unheaded answer)
    outcome: str | None
    error: str | None
    shown_s: float | None = None  # single persona: first streamed text visible
    others: float | None = None  # share of the machine other processes took meanwhile
    lane: dict[str, Any] | None = None  # the chat lane as the plan read it (just before the message was sent)
    posted: list[dict[str, Any]] = field(default_factory=list)  # every bot message answering it, notices too:
    # {"s": seconds from injection to its final text, "text": that text}
    notes: list[str] = field(default_factory=list)  # what the callsystem noted on the activation record
    plan: dict[str, Any] | None = None
    generations: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)  # steps that ended in a typed error
    timeline: dict[str, Any] = field(default_factory=dict)


def send(emulator: EmulatorClient, channel: str, content: str) -> Sent:
    injected_at = time.time()
    message = emulator.inject_message(content, channel_id=channel, author="alice", mention_bot=True)
    return Sent(channel, message["id"], content, injected_at)


def await_done(store: redis.Redis, sent: Sent, deadline: float) -> None:
    """Return once the activation's record is written and its final reply posted (or it ended unposted)."""
    recorded_at = None
    while time.monotonic() < deadline:
        if recorded_at is None and store.exists(keys.record(sent.message_id)):
            recorded_at = time.monotonic()
        if recorded_at is not None and (store.exists(keys.posted(sent.message_id))
                                        or time.monotonic() - recorded_at > UNPOSTED_AFTER_S):
            return
        time.sleep(POLL_S)
    raise TimeoutError(f"message {sent.content!r} not answered in {TURN_TIMEOUT_S:g} s")


def outcome_of(kind: str, store: redis.Redis, clock: ReplyClock, sent: Sent) -> Answered:
    posted = sorted((p for p in clock.of(sent.message_id) if p.final_at is not None), key=lambda p: p.final_at)
    record = ActivationRecord.from_json(store.get(keys.record(sent.message_id)))
    steps = journal(store, sent.message_id)
    answers = [p for p in posted if speaker_of(p.first_text) is not None] if kind == "group" else posted
    times = [p.final_at - sent.injected_at for p in answers]
    shown = [p.shown_at - sent.injected_at for p in posted if p.shown_at is not None]
    plan = turn_plan(record, steps)
    return Answered(
        kind, sent.content, first_s=min(times, default=None), all_s=max(times, default=None),
        answered=[speaker_of(p.first_text) or "" for p in answers], outcome=record.outcome.value,
        error=record.error.code if record.error else None, shown_s=min(shown, default=None),
        posted=[{"s": p.final_at - sent.injected_at, "text": p.text} for p in posted], notes=list(record.notes),
        plan=plan.model_dump(exclude={"kind", "schema_version"}) | {"fits": plan.fits} if plan else None,
        generations=generations(steps), timeline=timeline(record, steps, answers, sent),
        failed=[{"step": s.step, "code": s.error.code, "message": last_line(s.error.message)}
                for s in steps.values() if s.error is not None])


def last_line(message: str) -> str:
    """Where a remote traceback ends: the exception that was raised."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def turn_plan(record: ActivationRecord, steps: dict[str, StepResult]) -> TurnPlan | None:
    """The group's journaled plan; else the one its record's notes quote; None for a single persona."""
    if plan := next((s.output for s in steps.values() if isinstance(s.output, TurnPlan)), None):
        return plan
    quoted = next((note.removeprefix(PLAN_NOTE) for note in record.notes if note.startswith(PLAN_NOTE)), None)
    return TurnPlan.model_validate_json(quoted) if quoted else None


def journal(store: redis.Redis, activation_id: str) -> dict[str, StepResult]:
    recorded = store.hgetall(keys.journal(activation_id))
    return {step.decode(): StepResult.from_json(raw) for step, raw in recorded.items()}


def generations(steps: dict[str, StepResult]) -> list[dict[str, Any]]:
    """Each model call of the activation, in the order it was queued."""
    calls = sorted(((s, s.output) for s in steps.values() if isinstance(s.output, InferenceResult)),
                   key=lambda call: call[0].queued_at or 0)
    return [{"step": s.step, "prompt_tokens": out.prompt_tokens, "completion_tokens": out.completion_tokens,
             "finish_reason": out.finish_reason, "ttft_s": out.time_to_first_token_s, "queued_at": s.queued_at,
             "started_at": s.started_at, "finished_at": s.finished_at, "text": out.text} for s, out in calls]


def timeline(record: ActivationRecord, steps: dict[str, StepResult], answers: list[BotReply],
             sent: Sent) -> dict[str, Any]:
    """Where the activation's time went, from the journal's stamps (seconds).

    `accept`: injection → the gateway queued it; `to_planner`: → the planner started it (includes waiting
    for earlier activations of the channel); `before_model`: → the first model call was queued (history,
    clock, plan); per model call `dispatch` (queued → the worker started it), `run` (→ its result was
    journaled: lane admission, Ray, generation) and `gap` (the previous result → this call queued: the
    planner between waves); `post_lag`: each answer's result journaled → posted in the channel.
    """
    accepted = record.activation.accepted_at
    calls = generations(steps)
    result: dict[str, Any] = {"accept": accepted - sent.injected_at, "to_planner": record.started_at - accepted}
    if not calls:
        return result
    result["before_model"] = calls[0]["queued_at"] - record.started_at
    result["dispatch"] = [c["started_at"] - c["queued_at"] for c in calls]
    result["run"] = [c["finished_at"] - c["started_at"] for c in calls]
    result["gap"] = [later["queued_at"] - earlier["finished_at"] for earlier, later in itertools.pairwise(calls)]
    finished = sorted(c["finished_at"] for c in calls)
    posted = sorted(p.final_at for p in answers if p.final_at is not None)
    result["post_lag"] = [p - f for f, p in zip(finished, posted, strict=False)]  # an empty answer is not posted
    result["model_s"] = sum(result["run"])
    return result


def ask(kind: str, emulator: EmulatorClient, store: redis.Redis, clock: ReplyClock, channel: str,
        content: str) -> Answered:
    lane, others = chat_lane(store), {}
    with others_watched(others, kind):
        sent = send(emulator, channel, content)
        await_done(store, sent, time.monotonic() + TURN_TIMEOUT_S)
    answered = outcome_of(kind, store, clock, sent)
    answered.others, answered.lane = others[kind], lane
    return answered


def chat_lane(store: redis.Redis) -> dict[str, Any] | None:
    raw = store.hget(keys.LANES, CHAT_ROLE)
    return None if raw is None else json.loads(raw)


def at_once(kind: str, emulator: EmulatorClient, store: redis.Redis, clock: ReplyClock, channel: str,
            contents: tuple[str, ...]) -> list[Answered]:
    """Send `contents` back to back, then wait for every turn."""
    lane, others = chat_lane(store), {}
    with others_watched(others, kind):
        sent = [send(emulator, channel, content) for content in contents]
        deadline = time.monotonic() + TURN_TIMEOUT_S * len(sent)
        for one in sent:
            await_done(store, one, deadline)
    answered = [outcome_of(kind, store, clock, one) for one in sent]
    for one in answered:
        one.others, one.lane = others[kind], lane
    return answered


# -- the run ------------------------------------------------------------------------------------------------


def progress(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def measure(stack: Stack, plan: Plan) -> dict[str, Any]:
    assert stack.emulator_url is not None
    emulator = EmulatorClient(stack.emulator_url)
    store = redis.Redis.from_url(stack.redis_url)
    group = emulator.create_channel("bench-group")["id"]
    single = emulator.create_channel("bench-single")["id"]
    set_up(emulator, group, single)
    sequential: list[tuple[Answered, Answered]] = []
    with ReplyClock(emulator) as clock:
        progress("warm-up")
        for content in WARM_UP:  # the model loaded, and the lane's averages past their first (cold) sample
            ask("single", emulator, store, clock, single, content)
        until = time.monotonic() + plan.seconds
        for content in MESSAGES[:plan.messages]:
            if sequential and time.monotonic() > until:
                progress(f"{plan.seconds:g} s passed: no more messages one after another")
                break
            pair = (ask("group", emulator, store, clock, group, content),
                    ask("single", emulator, store, clock, single, content))
            progress(f"{content!r}: group first {_s(pair[0].first_s)}, all {_s(pair[0].all_s)}; "
                     f"single {_s(pair[1].all_s)}")
            sequential.append(pair)
        burst = AT_ONCE[:plan.at_once]
        progress(f"{len(burst)} at once")
        group_burst = at_once("group", emulator, store, clock, group, burst)
        single_burst = at_once("single", emulator, store, clock, single, burst)
    return {
        "benchmark": "agents", "date": now_iso(), "machine": machine(), "model": MODEL,
        "budgets": {"first_s": FIRST_BUDGET_S, "all_s": ALL_BUDGET_S},
        "personas": list(PERSONAS), "lane": chat_lane(store),
        "sequential": [{"group": vars(g), "single": vars(s)} for g, s in sequential],
        "at_once": {"group": [vars(o) for o in group_burst], "single": [vars(o) for o in single_burst]},
    }


def figures(report: dict[str, Any]) -> list[Figure]:
    """Headline figures: the group's first-reply and all-replies times beside its first persona answering alone.

    All replies are counted only for messages every persona answered. The max figures speak for every
    message: one that no persona answered (refused, or every call failed) misses both, one that not every
    persona answered misses the all-replies max.
    """
    group = [pair["group"] for pair in report["sequential"]]
    alone = [pair["single"] for pair in report["sequential"]]
    single = [one["all_s"] for one in alone if one["all_s"] is not None]
    tokens = sorted({g["plan"]["max_tokens"] for g in group if g["plan"]})
    conditions = (f"{report['model']}; group max_tokens {'/'.join(map(str, tokens)) or '-'}, one persona "
                  f"{SINGLE_MAX_TOKENS}; {report['machine']['cpus']} CPUs, others took ≤ {_share(group + alone)}; "
                  f"{len(group)} messages one after another, {sum(map(every_persona, group))} answered by every "
                  "persona")
    rows = []
    for key, measure, budget in (("first_s", "first reply", FIRST_BUDGET_S), ("all_s", "all replies", ALL_BUDGET_S)):
        values = [g[key] for g in group if g[key] is not None and (key == "first_s" or every_persona(g))]
        missing = len(values) < len(group)
        for name, q in (("p50", 0.5), ("max", 1.0)):
            value = percentile(values, q) if values else None
            every = name == "max"  # the max speaks for every message: one left unanswered misses it
            rows.append(Figure(FIGURE, f"{measure} {name}", value, "s",
                               percentile(single, q) if single else None, f"one persona {name}",
                               f"≤ {budget:g} s", value is not None and value <= budget and not (every and missing),
                               conditions))
    burst = report["at_once"]["group"]
    single_last = report["at_once"]["single"][-1]["all_s"]
    outcomes = ", ".join(f"{len(b['answered'])}/{len(PERSONAS)}" if b["answered"] else b["error"] or b["outcome"]
                         for b in burst)
    burst_conditions = (f"{report['model']}; {len(burst)} messages sent at once, answered in order ({outcomes}); "
                        f"the last one's times; {report['machine']['cpus']} CPUs, others took ≤ "
                        f"{_share(burst + report['at_once']['single'])}")
    for key, measure, budget in (("first_s", "first reply", FIRST_BUDGET_S), ("all_s", "all replies", ALL_BUDGET_S)):
        value = burst[-1][key]
        rows.append(Figure(FIGURE, f"{measure}, last of {len(burst)} at once", value, "s", single_last,
                           "one persona, last of as many", f"≤ {budget:g} s",
                           value is not None and value <= budget, burst_conditions))
    return rows


def every_persona(answered: dict[str, Any]) -> bool:
    return sorted(answered["answered"]) == sorted(PERSONAS)


def _share(measured: list[dict[str, Any]]) -> str:
    """The largest share of the machine that other processes took during any of these messages."""
    shares = [one["others"] for one in measured if one["others"] is not None]
    return f"{max(shares):.0%}" if shares else "-"


def run(quick: bool = False) -> dict[str, Any]:
    """Start the system, measure, stop it; the report with its headline figures under "figures"."""
    plan = QUICK if quick else FULL
    with tempfile.TemporaryDirectory(prefix="switchboard-bench-") as run_dir:
        generous = json.dumps({"capacity": 1000, "per_seconds": 1})  # several messages a second from one author
        stack = Stack(StackConfig(run_dir=Path(run_dir), chat_backend="llama", service_env={
            "gateway": {"SWITCHBOARD_USER_RATE": generous},
            "inference": {"SWITCHBOARD_VISION_BACKEND": "none"},  # text only: no image model to load
        }))
        try:
            progress("starting the system")
            started = time.monotonic()
            stack.start()
            progress(f"started in {time.monotonic() - started:.0f} s")
            report = measure(stack, plan)
        finally:
            stack.stop()
    report["plan"] = vars(plan)
    report["figures"] = [f.as_dict() for f in figures(report)]
    return report


# -- printing -----------------------------------------------------------------------------------------------


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _verdict(outcome: dict[str, Any]) -> str:
    plan = outcome["plan"]
    if plan is None:
        return outcome["error"] or "-"
    dropped = f", drops {','.join(d['persona'] for d in plan['dropped'])}" if plan["dropped"] else ""
    return (f"{'fits' if plan['fits'] else 'over'} {plan['predicted_first_s']:.1f}/{plan['predicted_all_s']:.1f} s,"
            f" {plan['max_tokens']} tok{dropped}")


def _lane(outcome: dict[str, Any]) -> str:
    lane = outcome["lane"]
    return "-" if lane is None else f"{lane['time_to_first_token_s']:.2f} s {lane['tokens_per_s']:.0f} tok/s"


def print_report(report: dict[str, Any]) -> None:
    print(f"\nAgent group of {len(report['personas'])} ({', '.join(report['personas'])}) on {report['model']}; "
          f"budgets {FIRST_BUDGET_S:g} s to the first reply, {ALL_BUDGET_S:g} s to all; seconds from injection")
    header = (f"{'message':<36} {'first':>6} {'all':>6} {'answered':>10} {'one':>6} {'first/one':>9} "
              f"{'all/one':>7} {'others':>7}  {'lane read (TTFT, rate)':<22}  plan: predicted first/all")
    print("\nOne after another\n" + header)
    for pair in report["sequential"]:
        print_row(pair["group"], pair["single"])
    print(f"\n{len(report['at_once']['group'])} sent at once (each row against the single persona's same message)\n"
          + header)
    for group, single in zip(report["at_once"]["group"], report["at_once"]["single"], strict=True):
        print_row(group, single)
    print_notices([pair["group"] for pair in report["sequential"]] + report["at_once"]["group"])
    print("others: the share of the machine other processes took during the group's / the one persona's "
          "messages; timings taken beside other work are not comparable")
    print_calls(report)
    print_timeline(report)


def print_row(group: dict[str, Any], single: dict[str, Any]) -> None:
    def ratio(key: str) -> str:
        return f"{group[key] / single['all_s']:.2f}" if group[key] and single["all_s"] else "-"

    answered = f"{len(group['answered'])}/{len(PERSONAS)}" if group["answered"] else group["outcome"]
    others = "/".join(f"{x['others']:.0%}" if x["others"] is not None else "-" for x in (group, single))
    print(f"{group['content'][:36]:<36} {_s(group['first_s']):>6} {_s(group['all_s']):>6} {answered:>10} "
          f"{_s(single['all_s']):>6} {ratio('first_s'):>9} {ratio('all_s'):>7} {others:>7}  {_lane(group):<22}  "
          f"{_verdict(group)}")


def print_notices(group: list[dict[str, Any]]) -> None:
    """What the group posted besides its personas' answers (refusals, errors), and its failed steps."""
    for answered in group:
        for notice in (posted for posted in answered["posted"] if speaker_of(posted["text"]) is None):
            print(f"  {answered['content'][:36]!r}: after {_s(notice['s'])} s, notice {notice['text']!r}")
        for failed in answered["failed"]:
            print(f"  {answered['content'][:36]!r}: step {failed['step']} failed, {failed['code']}: "
                  f"{failed['message'][:120]}")


def print_calls(report: dict[str, Any]) -> None:
    """Every model call of the one-after-another messages: prompt and answer tokens, TTFT, the whole call."""
    print("\nModel calls, one after another (TTFT: the bridge's model call → first chunk; call: worker start → "
          "result journaled)")
    print(f"{'message':<36} {'who':<6} {'prompt':>6} {'answer':>6} {'end':>6} {'TTFT s':>7} {'call s':>7}")
    for n, pair in enumerate(report["sequential"]):
        for kind in ("group", "single"):
            answered = pair[kind]
            plan = answered["plan"]
            names = list(plan["speakers"]) if plan else ["one"] * len(answered["generations"])
            for m, (name, call) in enumerate(zip(names, answered["generations"], strict=False)):
                print(f"{answered['content'][:36] if m == 0 else '':<36} {name:<6} "
                      f"{call['prompt_tokens']:>6} {call['completion_tokens']:>6} {call['finish_reason']:>6} "
                      f"{_s(call['ttft_s']):>7} {_s(call['finished_at'] - call['started_at']):>7}")
        if n < len(report["sequential"]) - 1:
            print()


def print_timeline(report: dict[str, Any]) -> None:
    """Medians over the one-after-another group turns, in ms."""
    turns = [pair["group"]["timeline"] for pair in report["sequential"] if "run" in pair["group"]["timeline"]]
    if not turns:
        return

    def median_ms(values: list[float]) -> str:
        return f"{statistics.median(values) * 1000:9.1f}" if values else f"{'-':>9}"

    print("\nWhere a group turn's time goes (median ms over the one-after-another messages)")
    for name, values in (
            ("injected → queued by the gateway", [t["accept"] for t in turns]),
            ("queued → planner started", [t["to_planner"] for t in turns]),
            ("planner started → first model call queued", [t["before_model"] for t in turns]),
            ("model call queued → worker started (each)", [v for t in turns for v in t["dispatch"]]),
            ("worker started → result journaled (each)", [v for t in turns for v in t["run"]]),
            ("result journaled → next call queued (each)", [v for t in turns for v in t["gap"]]),
            ("result journaled → answer posted (each)", [v for t in turns for v in t["post_lag"]])):
        print(f"  {name:<48} {median_ms(values)}")
    group = [pair["group"] for pair in report["sequential"] if pair["group"]["all_s"] and pair["group"]["generations"]]
    own = [g["all_s"] - g["timeline"]["model_s"] for g in group]
    print(f"  {'all replies less the model calls (per turn)':<48} {median_ms(own)}")
    calls = [c for g in group for c in g["generations"]]
    if calls:
        ttft, whole = sum(c["ttft_s"] or 0 for c in calls), sum(c["finished_at"] - c["started_at"] for c in calls)
        print(f"  time to first token: {ttft / whole:.0%} of the model calls' time")
    alone = [c for pair in report["sequential"] for c in pair["single"]["generations"]]
    for name, made in (("the group's personas", calls), ("one persona alone", alone)):
        if made:
            tokens = sum(c["completion_tokens"] for c in made)
            print(f"  {name}: {len(made)} calls, {statistics.fmean(c['prompt_tokens'] for c in made):.0f} prompt "
                  f"and {tokens / len(made):.0f} answer tokens each, "
                  f"{sum(c['finished_at'] - c['started_at'] for c in made) / max(1, tokens) * 1000:.0f} ms of call "
                  f"per answer token")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="about 1 minute: 2 messages, then 2 at once")
    args = parser.parse_args()
    report = run(args.quick)
    print_report(report)
    print()
    print_figures(figures_of(report))
    measured = [one for pair in report["sequential"] for one in pair.values()] + report["at_once"]["group"]
    if (busiest := max((one["others"] or 0.0 for one in measured), default=0.0)) > CONTENTION_WARNING:
        print(f"\nWARNING: other processes took up to {busiest:.0%} of the machine during a message: those "
              "timings are not comparable; run again on a quiet machine")
    print(f"\nwritten to {write_report('agents', report)}")


if __name__ == "__main__":
    main()
