"""Replay reports as an operator reads them in a terminal (`--json` prints the reports' own JSON instead)."""

from __future__ import annotations

import textwrap
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

from switchboard.core.wire import ActivationRecord
from switchboard.planner.replay.report import ReplayReport, ReplyView, Verdict

TEXT_CHARS = 600  # of a reply's text, shown; the JSON has it all


def report_text(report: ReplayReport) -> str:
    with_ = f" with {report.callsystem}" if report.callsystem else ""
    lines = [f"{report.mode} replay of {report.activation_id}{with_}: {report.verdict.value.upper()} "
             f"({report.duration_s:.2f} s, by {report.operator}"
             + (f", as {report.replay_id})" if report.replay_id else ")")]
    if report.original is not None:
        lines += _reply(f"original ({report.original_callsystem})", report.original)
    if report.replayed is not None:
        lines += _reply("replayed", report.replayed)
    if report.error is not None:
        lines.append(f"  did not finish: {report.error.code}: {report.error.message}")
    if report.not_recorded:
        lines.append(f"  not recorded: {', '.join(report.not_recorded)} (the run stopped there; nothing was sent)")
    if report.steps_used:
        how = "from the journal" if report.mode == "recorded" else "run again"
        lines.append(f"  steps {how} ({len(report.steps_used)}): {', '.join(report.steps_used)}")
    if report.unused:
        lines.append(f"  recorded, not asked for: {', '.join(report.unused)}")
    if report.original_stop:
        lines.append(f"  ended where the original did: at {report.original_stop}")
    lines += [f"  note: {note}" for note in report.notes]
    if report.original is not None:
        lines.append(f"  delivery: {report.delivery}")
    return "\n".join(lines)


def _reply(label: str, reply: ReplyView) -> list[str]:
    error = f" ({reply.error})" if reply.error else ""
    images = f", {len(reply.images)} image(s)" if reply.images else ""
    head = f"  {label}: {reply.outcome.value}{error}{images}"
    if reply.text is None:
        return [f"{head}; its text was not recorded"]
    text = reply.text if len(reply.text) <= TEXT_CHARS else reply.text[:TEXT_CHARS] + " …"
    return [head, textwrap.indent(text or "(no text)", "    │ ", lambda _: True)]


def summary_text(reports: Sequence[ReplayReport]) -> str:
    counts = Counter(report.verdict for report in reports)
    return f"{len(reports)} replayed: " + ", ".join(f"{counts[v]} {v.value}" for v in Verdict)


def progress_text(done: int, total: int, report: ReplayReport) -> str:
    return f"[{done}/{total}] {report.activation_id}: {report.verdict.value}"


def selection_text(records: Sequence[ActivationRecord]) -> str:
    if not records:
        return "no activation matches"
    return "\n".join(
        f"{r.activation.id}  {datetime.fromtimestamp(r.finished_at, UTC):%Y-%m-%d %H:%M:%S}  {r.outcome.value:<17} "
        f"{r.callsystem}@{r.callsystem_version}  channel {r.activation.channel_id}" for r in records)
