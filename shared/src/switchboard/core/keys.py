"""Every Redis key, stream, consumer group, pub/sub channel and Celery queue/task name, declared once.

Call sites use these names; a string literal naming a key anywhere else is a bug. Helm values and
dashboards refer to the same names.
"""

from __future__ import annotations

from enum import StrEnum

PREFIX = "sb"


class Stream(StrEnum):
    """Durable Redis streams."""

    ACTIVATIONS = "sb:activations"
    REPLIES = "sb:replies"
    DEAD_LETTERS = "sb:dlq"
    AUDIT = "sb:audit"  # operators' actions (`AuditEntry`): replays, and what later admin tools do


class Group(StrEnum):
    """Consumer groups on the streams above."""

    PLANNERS = "planners"
    GATEWAYS = "gateways"


class Queue(StrEnum):
    """Celery queues (kombu on Redis)."""

    TOOLS = "sb.tools"
    INFERENCE = "sb.inference"


class Task(StrEnum):
    """Celery task names: one task per queue, the step request says what to do."""

    RUN_TOOL = "sb.tools.run"
    RUN_INFERENCE = "sb.inference.run"


# The field under which a stream entry carries its JSON document.
STREAM_FIELD = "data"


def accepted(activation_id: str) -> str:
    """`SET NX` guard: the gateway enqueues an activation id at most once."""
    return f"{PREFIX}:accepted:{activation_id}"


def journal(activation_id: str) -> str:
    """Hash of step key → recorded `StepResult` JSON (first writer wins)."""
    return f"{PREFIX}:journal:{activation_id}"


def attempts(activation_id: str) -> str:
    """Hash: step key -> how many times its task was delivered to a worker (`journal.SyncJournal`)."""
    return f"{PREFIX}:attempts:{activation_id}"


def step_run(activation_id: str, step: str) -> str:
    """Held (with a lease) while a delivery of the step's task runs it: another copy of the task skips it."""
    return f"{PREFIX}:step-run:{activation_id}:{step}"


def wake(planner_id: str) -> str:
    """Pub/sub channel a planner listens on for 'a step you wait for was recorded'."""
    return f"{PREFIX}:wake:{planner_id}"


def live(activation_id: str) -> str:
    """Pub/sub channel of an activation's token deltas (lossy by design)."""
    return f"{PREFIX}:live:{activation_id}"


LIVE_PATTERN = f"{PREFIX}:live:*"


def reply_written(activation_id: str) -> str:
    """Marker that the planner has written this activation's reply (reply written once)."""
    return f"{PREFIX}:reply-written:{activation_id}"


def posted(activation_id: str) -> str:
    """Discord message id of the posted reply; present means 'posted, never post again'."""
    return f"{PREFIX}:posted:{activation_id}"


def posting(activation_id: str) -> str:
    """Short lease held by the gateway replica that is posting a reply right now."""
    return f"{PREFIX}:posting:{activation_id}"


def placeholder(activation_id: str) -> str:
    """Discord message id of the streaming placeholder the final reply edits."""
    return f"{PREFIX}:placeholder:{activation_id}"


def record(activation_id: str) -> str:
    """The activation's `ActivationRecord` JSON."""
    return f"{PREFIX}:record:{activation_id}"


# Sorted set: activation id → when its record was written; what replays select from by time. Trimmed by age
# with the records themselves (an id older than the retention has no record left).
RECORDS = f"{PREFIX}:records"


def channel_records(channel_id: str) -> str:
    """Sorted set like `RECORDS`, of one channel's activations: whose records and journals a message deleted on
    Discord may be in. Trimmed by age, and gone with the retention after the channel's last activation."""
    return f"{PREFIX}:records:channel:{channel_id}"


# Sorted set of deletes still owed to activations that were running when their message was deleted: member
# `{"activation", "messages"}` JSON, scored by when to give up (`redaction.Redactor`). Short-lived.
REDACTIONS_PENDING = f"{PREFIX}:redactions-pending"


def guild_records(tenant_id: str) -> str:
    """Sorted set like `RECORDS`, of one guild's activations (`tenant`): what a purge of the guild deletes."""
    return f"{PREFIX}:records:guild:{tenant_id}"


def history(channel_id: str) -> str:
    """List of a channel's recent messages (`HistoryMessage` JSON, newest first)."""
    return f"{PREFIX}:history:{channel_id}"


def guild_config(guild_id: str) -> str:
    """The guild's `ConfigPatch` JSON (defaults for all its channels)."""
    return f"{PREFIX}:config:guild:{guild_id}"


def channel_config(channel_id: str) -> str:
    """A channel's (or thread's) `ConfigPatch` JSON."""
    return f"{PREFIX}:config:channel:{channel_id}"


def rate_bucket(scope: str, scope_id: str) -> str:
    """Token bucket of a user or guild (`scope`), for activation rate limits."""
    return f"{PREFIX}:rate:{scope}:{scope_id}"


def notice_sent(scope: str, scope_id: str) -> str:
    """Present once a notice (throttled, busy channel, queue position) went to this scope: one, not many."""
    return f"{PREFIX}:notice:{scope}:{scope_id}"


# Personas (`personas.PersonaStore`). A guild's own are the guild's data: capped per guild, purged with it.
# Shared ones are the deployment's: only operators create them (admin API, CLI), and every guild sees them.
SHARED_PERSONAS = f"{PREFIX}:personas:shared"  # hash: persona name → `PersonaRecord` JSON
# Before personas had owners, every guild wrote this one hash; `switchboard personas migrate` empties it
# into the shared personas, for operators to review.
LEGACY_PERSONAS = f"{PREFIX}:personas"


def guild_personas(guild_id: str) -> str:
    """Hash: persona name → `PersonaRecord` JSON of the personas guild `guild_id` created."""
    return f"{PREFIX}:personas:guild:{guild_id}"


TOOLS = f"{PREFIX}:tools"  # hash: tool name → its declaration JSON, published by the tools workers
CALLSYSTEMS = f"{PREFIX}:callsystems"  # set of `package_id@version` the running planners can load
LANES = f"{PREFIX}:lanes"  # hash: model role → `LaneStats` JSON, kept by the inference service


def answered_by(message_id: str) -> str:
    """The activation whose reply is Discord message `message_id` (for "Show context window")."""
    return f"{PREFIX}:answered-by:{message_id}"

DISCORD_REST_BUDGET = f"{PREFIX}:discord:rest-budget"  # token bucket shared by every gateway replica


def identify_bucket(bucket: int) -> str:
    """5-second lease on a Discord IDENTIFY rate-limit bucket, shared by every gateway replica."""
    return f"{PREFIX}:discord:identify:{bucket}"


def busy(channel_id: str) -> str:
    """Sorted set of a channel's activations in flight (score: accepted time), for double-texting."""
    return f"{PREFIX}:busy:{channel_id}"


def turn_freed(channel_id: str) -> str:
    """Pub/sub channel the gateway rings when it frees a turn of the channel (a reply posted, or an activation
    replaced), so planners waiting for that channel's turn look again at once."""
    return f"{PREFIX}:turn-freed:{channel_id}"


TURN_FREED_PATTERN = turn_freed("*")


def superseded(activation_id: str) -> str:
    """Present when a newer message replaced this activation (interrupt / merge): the planner stops it."""
    return f"{PREFIX}:superseded:{activation_id}"


def blob(sha256: str) -> str:
    """Bytes of a content-addressed blob."""
    return f"{PREFIX}:blob:{sha256}"


DM_TENANT = "dm"  # the tenant of direct messages: no guild owns them, each key below it names its user or channel


def tenant(guild_id: str | None) -> str:
    """The tenant a guild's (or a DM's) data is kept under in the keys that carry one."""
    return guild_id or DM_TENANT


def memory(tenant_id: str, scope: str, owner: str) -> str:
    """Hash of a user's (within one guild) or a channel's remembered values (JSON); capped in fields, with a TTL
    renewed on every write (`memory.MemoryStore`); purged with the guild."""
    return f"{PREFIX}:memory:{tenant_id}:{scope}:{owner}"


def memory_pattern(tenant_id: str) -> str:
    """Every memory hash of one tenant (for its purge)."""
    return f"{PREFIX}:memory:{tenant_id}:*"


def lane_slots(lane: str) -> str:
    """Sorted set of a lane's slot leases, scored by expiry (`leases.LaneSlots`)."""
    return f"{PREFIX}:lane-slots:{lane}"


def lane_freed(lane: str) -> str:
    """List with one entry per slot given back (capped at the capacity), which waiters block on (`leases.LaneSlots`)."""
    return f"{PREFIX}:lane-freed:{lane}"


def lane_waiters(lane: str) -> str:
    """Sorted set of the callers waiting for a lane's slot, scored by when they give up (`leases.LaneSlots`)."""
    return f"{PREFIX}:lane-waiters:{lane}"


def asleep(channel_id: str) -> str:
    """Present (with a TTL) while the bot sleeps in a channel: only mentions, replies and DMs wake it."""
    return f"{PREFIX}:asleep:{channel_id}"


# Guild purges (`guild_purge.GuildPurges`): the bot left a guild; its data goes once the grace has passed.
PURGES_DUE = f"{PREFIX}:purges"  # sorted set: guild id → when its purge is due (epoch seconds)


def purge_channels(guild_id: str) -> str:
    """Set of the channel and thread ids a guild had when the bot left it: whose keys its purge deletes."""
    return f"{PREFIX}:purge-channels:{guild_id}"


def purging(guild_id: str) -> str:
    """Lease held by the replica purging a guild now (another one skips it until it expires)."""
    return f"{PREFIX}:purging:{guild_id}"


def usage(tenant_id: str, day: str) -> str:
    """Hash of one guild's usage on one UTC day (`YYYY-MM-DD`): `tokens_in`, `tokens_out`, `model_seconds`,
    `tool_calls`, `images`, and the same per user as `user:<id>:<field>` (`usage.UsageLedger`). Kept for the
    usage retention, purged with the guild."""
    return f"{PREFIX}:usage:{tenant_id}:{day}"


def usage_pattern(tenant_id: str) -> str:
    """Every usage hash of one tenant (for its purge)."""
    return f"{PREFIX}:usage:{tenant_id}:*"


def quota(guild_id: str) -> str:
    """The guild's `Quota` JSON, set by operators only; unset: the deployment's default quota."""
    return f"{PREFIX}:quota:{guild_id}"
