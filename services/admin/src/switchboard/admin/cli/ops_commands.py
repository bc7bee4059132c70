"""The admin API's verbs on the command line, straight to Redis with the services' settings.

    switchboard activations --since 1h --outcome model_unavailable     # search records
    switchboard activation 1234                                        # one, with its timeline
    switchboard dead-letters                                           # list
    switchboard dead-letters replay 1700000000000-0                    # run it again live, post the reply
    switchboard dead-letters purge [ID ...] [--before 7d]              # remove
    switchboard config channel 10 [--guild 1]                          # stored and in force
    switchboard config channel 10 --set '{"callsystem": "cs.switchboard.integrations"}'
    switchboard personas [--guild 1]                                   # what a guild can use
    switchboard personas create ada --instructions "You are Ada."      # a shared persona (every guild)
    switchboard personas delete ada [--guild 1]                        # shared, or a guild's own
    switchboard personas migrate                                       # the old ownerless ones → shared
    switchboard guild 1 usage [--days 7]                               # usage per day against the quota
    switchboard guild 1 quota --set '{"tokens_per_day": 200000}'       # or --clear: back to the default
    switchboard guild 1 purge                                          # delete what the guild owns, now
    switchboard queues | lanes | callsystems | audit

Every verb takes `--json` (the admin API's JSON). Exit status: 0 done, 1 not found or refused, 3 Redis away.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from redis.exceptions import RedisError

from switchboard.admin import guild_changes, operations, persona_changes
from switchboard.admin.cli.render import report_text
from switchboard.admin.cli.replay_command import default_operator
from switchboard.admin.cli.when import point_in_time
from switchboard.admin.config_changes import apply_config, config_problems, jsonable_config
from switchboard.admin.dead_letters import DeadLetterNotFound, NotReplayable, replay_dead_letter
from switchboard.admin.deps import AdminDeps
from switchboard.admin.settings import AdminSettings
from switchboard.admin.views import ActivationSummary, detail
from switchboard.core import keys
from switchboard.core.config import ConfigPatch
from switchboard.core.errors import ConfigError
from switchboard.core.plugins import DEFAULT_HISTORY_TEMPLATE
from switchboard.core.usage import Quota
from switchboard.core.wire import Outcome
from switchboard.planner.replay import Selection

OK, REFUSED, FAILED = 0, 1, 3
Verb = Callable[[AdminDeps, argparse.Namespace], Awaitable[tuple[Any, str]]]  # (JSON-able, text)


def add_to(commands: Any) -> None:
    search = _verb(commands, "activations", "search activation records", _activations)
    search.add_argument("--since", type=point_in_time, help="finished since: 1h, 30m, 2d, an ISO time or epoch")
    search.add_argument("--until", type=point_in_time)
    search.add_argument("--guild")
    search.add_argument("--channel")
    search.add_argument("--callsystem", help="package_id[@version]")
    search.add_argument("--outcome", action="append", default=[], choices=[o.value for o in Outcome])
    search.add_argument("--limit", type=int, default=50)
    _verb(commands, "activation", "one activation: record, timeline, reply message ids", _activation).add_argument(
        "id")
    dead = _verb(commands, "dead-letters", "list, replay or purge dead letters", _dead_letters)
    dead.add_argument("action", nargs="?", choices=("list", "show", "replay", "purge"), default="list")
    dead.add_argument("ids", nargs="*", metavar="ID")
    dead.add_argument("--before", type=point_in_time, help="purge: only those dead-lettered before this")
    dead.add_argument("--operator", default=default_operator(), help="who acts, for the audit log")
    config = _verb(commands, "config", "read or change a guild's or channel's settings", _config)
    config.add_argument("level", choices=("guild", "channel"))
    config.add_argument("id")
    config.add_argument("--guild", help="channel: its guild, for the settings in force")
    config.add_argument("--set", dest="patch", help="JSON patch merged into the stored settings (audited)")
    config.add_argument("--operator", default=default_operator(), help="who acts, for the audit log")
    guild = _verb(commands, "guild", "a guild's usage and quota; purge its data", _guild)
    guild.add_argument("id")
    guild.add_argument("action", choices=("usage", "quota", "purge"))
    guild.add_argument("--days", type=int, default=7, help="usage: how many days back")
    guild.add_argument("--set", dest="quota", help="quota: the guild's daily quota, JSON (audited)")
    guild.add_argument("--clear", action="store_true", help="quota: back to the default (audited)")
    guild.add_argument("--operator", default=default_operator(), help="who acts, for the audit log")
    _verb(commands, "queues", "stream and queue depths and ages", _queues)
    _verb(commands, "lanes", "slots in use, waiters and capacity per lane", _lanes)
    _verb(commands, "callsystems", "callsystems and versions", _callsystems)
    personas = _verb(commands, "personas", "list, create or delete personas; migrate the old ones", _personas)
    personas.add_argument("action", nargs="?", choices=("list", "create", "delete", "migrate"), default="list")
    personas.add_argument("name", nargs="?")
    personas.add_argument("--guild", help="list: what this guild sees; delete: this guild's own persona")
    personas.add_argument("--instructions", help="create: the system prompt")
    personas.add_argument("--history-template", default=DEFAULT_HISTORY_TEMPLATE)
    personas.add_argument("--operator", default=default_operator(), help="who acts, for the audit log")
    _verb(commands, "audit", "operators' actions, newest first", _audit)


def _verb(commands: Any, name: str, help_text: str, verb: Verb) -> argparse.ArgumentParser:
    parser = commands.add_parser(name, help=help_text, description=help_text)
    parser.add_argument("--json", action="store_true", help="print JSON for machines")
    parser.set_defaults(run=lambda args: _run(verb, args))
    return parser


def _run(verb: Verb, args: argparse.Namespace) -> int:
    async def go() -> tuple[Any, str]:
        deps = AdminDeps.build(AdminSettings())
        try:
            return await verb(deps, args)
        finally:
            await deps.close()

    try:
        document, text = asyncio.run(go())
    except (DeadLetterNotFound, NotReplayable, LookupError, ConfigError) as exc:
        print(f"switchboard {args.command}: {exc}", file=sys.stderr)
        return REFUSED
    except RedisError as exc:
        print(f"switchboard {args.command}: Redis: {exc}", file=sys.stderr)
        return FAILED
    print(json.dumps(_jsonable(document)) if args.json else text)
    return OK


def _jsonable(document: Any) -> Any:
    if isinstance(document, BaseModel):
        return document.model_dump(mode="json")
    if isinstance(document, list):
        return [_jsonable(item) for item in document]
    if isinstance(document, dict):
        return {key: _jsonable(value) for key, value in document.items()}
    return document


def _when(at: float | None) -> str:
    return "-" if at is None else datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S")


async def _activations(deps: AdminDeps, args: argparse.Namespace) -> tuple[Any, str]:
    selection = Selection(since=args.since, until=args.until, guild_id=args.guild, channel_id=args.channel,
                          callsystem=args.callsystem, outcomes=frozenset(Outcome(o) for o in args.outcome),
                          limit=args.limit)
    found = [ActivationSummary.of(record) for record in await deps.replayer.records.select(selection)]
    lines = [f"{_when(s.finished_at)}  {s.id:<22} {s.outcome.value:<17} {s.duration_s:7.2f} s  {s.callsystem}  "
             f"#{s.channel_id} {s.author_name}: {s.excerpt[:60]!r}" for s in found]
    return {"activations": found}, "\n".join(lines) or "no activation matches"


async def _activation(deps: AdminDeps, args: argparse.Namespace) -> tuple[Any, str]:
    record = await deps.replayer.records.get(args.id)
    if record is None:
        raise LookupError(f"no record of activation {args.id} (never finished, or expired)")
    shown = detail(record, await deps.journal.steps(args.id), await deps.client.get(keys.posted(args.id)))
    s = shown.summary
    lines = [f"{s.id}: {s.outcome.value} in {s.duration_s:.3f} s with {s.callsystem} as {s.persona} "
             f"(trace {s.trace_id or '-'})", f"  #{s.channel_id} {s.author_name}: {s.excerpt!r}",
             f"  reply messages: {', '.join(shown.reply_message_ids) or '-'}"]
    for bar in shown.timeline:
        span = "-" if bar.finished is None else f"{bar.started or 0:8.3f} → {bar.finished:8.3f} s"
        extra = " ".join(part for part in (bar.lane, f"attempt {bar.attempt}" if bar.attempt else "",
                                           f"{bar.result_bytes} B" if bar.result_bytes is not None else "",
                                           "journal" if bar.from_journal else "", bar.error or "") if part)
        lines.append(f"  {bar.name:<16} {span}  {extra}")
    return shown, "\n".join(lines)


async def _dead_letters(deps: AdminDeps, args: argparse.Namespace) -> tuple[Any, str]:
    store = deps.dead_letters
    if args.action == "replay":
        reports = [await replay_dead_letter(store, deps.replayer, entry_id, args.operator) for entry_id in args.ids]
        return [r.as_json() for r in reports], "\n\n".join(report_text(r) for r in reports)
    if args.action == "purge":
        if args.ids:
            removed = await store.remove(args.ids)
        else:
            removed = await store.purge(args.before)
        return {"purged": removed}, f"purged {removed} dead letter(s)"
    entries = [await store.get(entry_id) for entry_id in args.ids] if args.ids else await store.list()
    missing = [entry_id for entry_id, entry in zip(args.ids, entries, strict=False) if entry is None]
    if missing:
        raise DeadLetterNotFound(f"no dead letter {', '.join(missing)}")
    lines = [f"{_when(d.at)}  {d.id:<20} {d.source:<15} {d.activation_id or '-':<22} {d.reason}"
             for d in entries if d is not None]
    return {"dead_letters": entries}, "\n".join(lines) or "no dead letters"


async def _config(deps: AdminDeps, args: argparse.Namespace) -> tuple[Any, str]:
    key = keys.guild_config(args.id) if args.level == "guild" else keys.channel_config(args.id)
    if args.patch is not None:
        try:
            patch = ConfigPatch.model_validate_json(args.patch)
        except ValidationError as exc:
            raise LookupError(f"not a settings patch: {exc.errors()[0]['msg']}") from None
        problems = await config_problems(deps, patch, args.id if args.level == "guild" else args.guild)
        if problems:
            raise LookupError("; ".join(message for _, message in problems))
        await apply_config(deps, args.operator, args.level, args.id, patch)
    raw = await deps.client.get(key)
    stored = (ConfigPatch.from_json(raw) if raw else ConfigPatch()).model_dump(exclude_none=True,
                                                                              exclude={"kind", "schema_version"})
    document: dict[str, Any] = {"stored": stored}
    if args.level == "channel":
        document["effective"] = jsonable_config(await deps.config.resolve(args.guild, args.id))
    return document, json.dumps(document, indent=2)


async def _guild(deps: AdminDeps, args: argparse.Namespace) -> tuple[Any, str]:
    if args.action == "purge":
        purged = await guild_changes.purge(deps, args.operator, args.id)
        return vars(purged), f"purged guild {args.id}: {purged.keys_deleted} keys, {purged.activations} activations"
    if args.action == "quota" and (args.quota or args.clear):
        try:
            quota = None if args.clear else Quota.model_validate_json(args.quota)
        except ValidationError as exc:
            raise LookupError(f"not a quota: {exc.errors()[0]['msg']}") from None
        shown = await guild_changes.set_quota(deps, args.operator, args.id, quota)
    else:
        shown = await guild_changes.usage_of(deps, args.id, args.days)
    limits = shown.quota.model_dump(exclude_none=True, exclude={"kind", "schema_version"})
    lines = [f"guild {shown.guild_id}: quota {json.dumps(limits) if limits else 'none'}"
             f"{'' if shown.own_quota else ' (the default)'}"]
    lines += [f"  {d.day}  {d.usage.tokens:>9g} tokens  {d.usage.model_seconds:8.1f} s  "
              f"{d.usage.tool_calls:>5g} tools  {d.usage.images:>4g} images" for d in shown.days]
    return shown, "\n".join(lines)


async def _queues(deps: AdminDeps, _: argparse.Namespace) -> tuple[Any, str]:
    queues = await operations.queues(deps.client)
    lines = [f"{s.stream:<16} length {s.length:>6}  pending {s.pending:>5}  lag {s.lag:>5}  oldest pending "
             f"{'-' if s.oldest_pending_age_s is None else f'{s.oldest_pending_age_s:.1f} s'}  "
             f"consumers {s.consumers_active}" for s in queues.streams]
    lines += [f"{name:<16} waiting {depth:>6}" for name, depth in queues.celery.items()]
    lines.append(f"{'dead letters':<16} {queues.dead_letters:>6}")
    return queues, "\n".join(lines)


async def _lanes(deps: AdminDeps, _: argparse.Namespace) -> tuple[Any, str]:
    lanes = await operations.lanes(deps.client)
    lines = [f"{lane.lane:<24} in use {lane.in_use:>3}/{lane.capacity or '?':<3} waiting {lane.waiting:>3}"
             for lane in lanes]
    return {"lanes": lanes}, "\n".join(lines) or "no lanes yet"


async def _callsystems(deps: AdminDeps, _: argparse.Namespace) -> tuple[Any, str]:
    found = operations.callsystems(deps.registry)
    return {"callsystems": found}, "\n".join(f"{c.key:<40} tools: {', '.join(c.tools) or '-'}" for c in found)


async def _personas(deps: AdminDeps, args: argparse.Namespace) -> tuple[Any, str]:
    if args.action == "migrate":
        moved = await persona_changes.migrate(deps, args.operator)
        return {"moved": moved}, f"moved {len(moved)} persona(s) into the shared ones: {', '.join(moved) or '-'}"
    if args.action != "list" and not args.name:
        raise LookupError(f"personas {args.action} needs a persona name")
    if args.action == "create":
        if not args.instructions:
            raise LookupError("personas create needs --instructions")
        saved = await persona_changes.save_shared(deps, args.operator, args.name, args.instructions,
                                                  args.history_template)
        return saved, f"saved shared persona {saved.name}"
    if args.action == "delete":
        if not await persona_changes.delete(deps, args.operator, args.name, args.guild):
            raise LookupError(f"no persona {args.name!r} {'of guild ' + args.guild if args.guild else 'shared'}")
        return {"deleted": args.name}, f"deleted persona {args.name}"
    found = await persona_changes.personas_of(deps, args.guild)
    return {"personas": found}, "\n".join(f"{p.name:<20} {p.scope:<8} {p.instructions[:80]!r}" for p in found)


async def _audit(deps: AdminDeps, _: argparse.Namespace) -> tuple[Any, str]:
    entries = await deps.replayer.audit.latest(50)
    lines = [f"{_when(e.at)}  {e.operator:<24} {e.action:<20} {e.target} {e.mode or ''} {e.detail or ''}".rstrip()
             for e in entries]
    return {"entries": entries}, "\n".join(lines) or "no actions yet"
