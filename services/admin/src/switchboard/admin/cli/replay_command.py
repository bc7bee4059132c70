"""`switchboard replay`: replay activations by id, or those a selection finds, and report each.

    switchboard replay 1234                                   # recorded, with the original's callsystem
    switchboard replay 1234 --callsystem cs.switchboard.integrations@1.2.0
    switchboard replay 1234 --mode live                       # run it again now (posts nothing)
    switchboard replay --outcome model_unavailable --since 1h --mode live --deliver

Exit status: 0 when every replay ran (and, in recorded mode, answered as its original); 1 when a recorded
replay differs (or asked for a step that was not recorded); 2 for a usage error; 3 when a replay could not
run (no record, unknown callsystem, no planner finished it, Redis unreachable). A live replay that answers
differently is not a failure: it asked the models again.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import socket
import sys
from typing import Any

from redis.exceptions import RedisError

from switchboard.admin.cli.render import progress_text, report_text, selection_text, summary_text
from switchboard.admin.cli.when import point_in_time
from switchboard.core.redis_client import connect_async
from switchboard.core.wire import Outcome
from switchboard.planner.replay.build import build_replayer
from switchboard.planner.replay.engine import Replayer
from switchboard.planner.replay.records import Selection
from switchboard.planner.replay.report import ReplayReport, Verdict
from switchboard.planner.settings import PlannerSettings

OK, DIFFERS, USAGE, FAILED = 0, 1, 2, 3


def add_to(commands: Any) -> None:
    parser = commands.add_parser("replay", help="replay activations (recorded or live)",
                                 description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("ids", nargs="*", metavar="ID", help="activation ids (the triggering messages' ids)")
    parser.add_argument("--mode", choices=("recorded", "live"), default="recorded",
                        help="recorded: against the journal, nothing is called; live: run again now")
    parser.add_argument("--callsystem", help="the version to run, package_id@version (default: the original's)")
    parser.add_argument("--deliver", action="store_true", help="post the replay's reply through the normal path")
    parser.add_argument("--force", action="store_true", help="with --deliver: post even if the original was posted")
    parser.add_argument("--json", action="store_true", help="print JSON for machines")
    chosen = parser.add_argument_group("selection (instead of, or to filter, ids)")
    chosen.add_argument("--outcome", action="append", choices=[o.value for o in Outcome], default=[],
                        metavar="OUTCOME", help="the original's outcome, repeatable: " + ", ".join(Outcome))
    chosen.add_argument("--since", type=point_in_time, help="finished since: 1h, 30m, 2d, an ISO time or epoch")
    chosen.add_argument("--until", type=point_in_time, help="finished until (same forms)")
    chosen.add_argument("--guild", help="guild id")
    chosen.add_argument("--channel", help="channel id (a thread's parent matches too)")
    chosen.add_argument("--original-callsystem", help="the callsystem the original ran: package_id[@version]")
    chosen.add_argument("--include-replays", action="store_true", help="select replays too")
    chosen.add_argument("--limit", type=int, default=100, help="replay at most this many (default 100)")
    chosen.add_argument("--dry-run", action="store_true", help="list what the selection finds; replay nothing")
    parser.add_argument("--concurrency", type=int, default=4, help="replays at once (default 4)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds a live replay waits (default 300)")
    parser.add_argument("--operator", default=default_operator(), help="who replays, for the audit log")
    parser.set_defaults(run=run)


def default_operator() -> str:
    return os.environ.get("SWITCHBOARD_OPERATOR") or f"{getpass.getuser()}@{socket.gethostname()}"


def selection_of(args: argparse.Namespace) -> Selection | None:
    """The selection the flags describe; None when only ids are given (each is replayed, found or not)."""
    filtered = (args.outcome or args.since is not None or args.until is not None or args.guild or args.channel
                or args.original_callsystem or args.include_replays or args.dry_run)
    if not filtered:
        return None
    return Selection(ids=tuple(args.ids), since=args.since, until=args.until, guild_id=args.guild,
                     channel_id=args.channel, callsystem=args.original_callsystem,
                     outcomes=frozenset(Outcome(o) for o in args.outcome), include_replays=args.include_replays,
                     limit=args.limit)


def run(args: argparse.Namespace) -> int:
    if not args.ids and selection_of(args) is None:
        print("switchboard replay: name activation ids or a selection (--outcome, --since, --channel, ...)",
              file=sys.stderr)
        return USAGE
    if args.force and not args.deliver:
        print("switchboard replay: --force only means something with --deliver", file=sys.stderr)
        return USAGE
    try:
        return asyncio.run(_run(args, PlannerSettings()))
    except RedisError as exc:
        print(f"switchboard replay: Redis: {exc}", file=sys.stderr)
        return FAILED


async def _run(args: argparse.Namespace, settings: PlannerSettings) -> int:
    client, blob_client = connect_async(settings), connect_async(settings, decode_responses=False)
    try:
        replayer = build_replayer(settings, client, blob_client, live_timeout_s=args.timeout)
        return await _replay(args, replayer)
    finally:
        await client.aclose()
        await blob_client.aclose()


async def _replay(args: argparse.Namespace, replayer: Replayer) -> int:
    ids, known = list(args.ids), None
    if (selection := selection_of(args)) is not None:
        records = await replayer.records.select(selection)
        if args.dry_run:
            print(json.dumps([r.activation.id for r in records]) if args.json else selection_text(records))
            return OK
        ids = [record.activation.id for record in records]
        known = {record.activation.id: record for record in records}  # read once: not again to replay them
    many = len(ids) > 1

    def progress(done: int, total: int, report: ReplayReport) -> None:
        if many:
            print(progress_text(done, total, report), file=sys.stderr, flush=True)

    reports = await replayer.replay_many(
        ids, operator=args.operator, concurrency=args.concurrency, progress=progress, known=known, mode=args.mode,
        callsystem=args.callsystem, deliver=args.deliver, force=args.force)
    _print(reports, args.json)
    return exit_status(reports)


def _print(reports: list[ReplayReport], as_json: bool) -> None:
    if as_json:
        counts = {verdict.value: sum(r.verdict == verdict for r in reports) for verdict in Verdict}
        print(json.dumps({"reports": [r.as_json() for r in reports], "summary": {"total": len(reports), **counts}}))
        return
    print("\n\n".join(report_text(report) for report in reports) if reports else "no activation matches")
    if len(reports) > 1:
        print(f"\n{summary_text(reports)}")


def exit_status(reports: list[ReplayReport]) -> int:
    if any(report.verdict == Verdict.FAILED for report in reports):
        return FAILED
    if any(report.verdict == Verdict.DIFFERS and report.mode == "recorded" for report in reports):
        return DIFFERS
    return OK
