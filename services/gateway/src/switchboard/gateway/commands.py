"""Slash commands and the "Show context window" message command.

Every command answers within Discord's 3 s (deferring first when it reads more than a key or two),
answers errors ephemerally, and checks permissions at run time as well as through Discord's defaults:
changing how the bot behaves needs Manage Server (or Manage Channels for `/silent`, Manage Messages
for `/forget`). Config changes are written to Redis and apply to the next message.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Literal

import discord
import redis.asyncio as aioredis
from discord import app_commands

from switchboard.core import keys
from switchboard.core.config import ConfigPatch, ConfigStore
from switchboard.core.errors import ConfigError
from switchboard.core.history import ChannelHistory
from switchboard.core.journal import Journal
from switchboard.core.personas import PersonaStore
from switchboard.core.plugins import DEFAULT_HISTORY_TEMPLATE
from switchboard.core.status import queue_status
from switchboard.core.usage import Quota, Usage, UsageLedger
from switchboard.core.wire import ActivationRecord, HistoryWindow
from switchboard.gateway.policy import parent_of

log = logging.getLogger(__name__)

Scope = Literal["channel", "server"]
GROUP_CALLSYSTEM = "cs.switchboard.group@latest"
MIN_GROUP, MAX_GROUP = 2, 8
PERSONA_SCOPE_LABELS = {"builtin": " (built in)", "shared": " (shared)", "guild": ""}


@dataclass(frozen=True)
class CommandServices:
    redis: aioredis.Redis
    config: ConfigStore
    personas: PersonaStore
    history: ChannelHistory
    usage: UsageLedger


def install_commands(tree: app_commands.CommandTree, services: CommandServices) -> None:
    """Add every command to `tree` and route their errors to an ephemeral answer."""
    tree.add_command(silent_command(services))
    tree.add_command(forget_command(services))
    tree.add_command(callsystem_group(services))
    tree.add_command(persona_group(services))
    tree.add_command(status_command(services))
    tree.add_command(usage_command(services))
    tree.add_command(context_window_menu(services))
    tree.on_error = report_error


async def report_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
    cause = getattr(error, "original", error)
    if isinstance(error, app_commands.MissingPermissions):
        text = f"🚫 You need the {', '.join(p.replace('_', ' ') for p in error.missing_permissions)} permission."
    elif isinstance(cause, ConfigError):
        text = f"⚠️ {cause}"
    elif isinstance(error, app_commands.CheckFailure):
        text = str(error)
    else:
        log.exception("command %s failed", interaction.command and interaction.command.name, exc_info=cause)
        text = "❌ That command failed on my side; it has been logged."
    await say(interaction, text, ephemeral=True)


async def say(interaction: discord.Interaction, text: str, ephemeral: bool = False) -> None:
    """Answer, or follow up when the interaction was already answered or deferred."""
    if interaction.response.is_done():
        await interaction.followup.send(text, ephemeral=ephemeral)
    else:
        await interaction.response.send_message(text, ephemeral=ephemeral)


def where(interaction: discord.Interaction) -> tuple[str | None, str, str | None]:
    """(guild id, channel id, parent channel id for a thread) of an interaction."""
    channel = interaction.channel
    guild = str(interaction.guild_id) if interaction.guild_id else None
    return guild, str(interaction.channel_id), parent_of(channel) if channel else None


async def update(services: CommandServices, interaction: discord.Interaction, scope: Scope,
                 patch: ConfigPatch) -> None:
    guild, channel, _ = where(interaction)
    if scope == "server":
        if guild is None:
            raise ConfigError("there is no server here; use scope channel")
        await services.config.update_guild(guild, patch)
    else:
        await services.config.update_channel(channel, patch)


def silent_command(services: CommandServices) -> app_commands.Command:
    @app_commands.command(name="silent", description="Sleep until mentioned in this channel, or wake up")
    @app_commands.describe(state="on: only answer mentions, replies and DMs; off: back to the usual rules")
    @app_commands.default_permissions(manage_channels=True)
    @app_commands.checks.has_permissions(manage_channels=True)
    async def silent(interaction: discord.Interaction, state: Literal["on", "off"]) -> None:
        await update(services, interaction, "channel", ConfigPatch(silent=state == "on"))
        await say(interaction, "🔕 I'll stay quiet here until someone mentions me." if state == "on"
                  else "🔔 I'm listening here again.")

    return silent


def forget_command(services: CommandServices) -> app_commands.Command:
    @app_commands.command(name="forget", description="Clear what I remember of this channel")
    @app_commands.default_permissions(manage_messages=True)
    @app_commands.checks.has_permissions(manage_messages=True)
    async def forget(interaction: discord.Interaction) -> None:
        await services.history.clear(str(interaction.channel_id))
        await say(interaction, "🧹 I forgot this channel's history.")

    return forget


def callsystem_group(services: CommandServices) -> app_commands.Group:
    group = app_commands.Group(name="callsystem", description="Which callsystem answers here",
                               default_permissions=discord.Permissions(manage_guild=True))

    @group.command(name="list", description="Callsystems the planners can run")
    async def list_(interaction: discord.Interaction) -> None:
        names = sorted(await services.redis.smembers(keys.CALLSYSTEMS))
        await say(interaction, "\n".join(f"• `{n}`" for n in names) or "No planner has announced itself yet.",
                  ephemeral=True)

    @group.command(name="show", description="The callsystem that answers in this channel")
    async def show(interaction: discord.Interaction) -> None:
        config = await services.config.resolve(*where(interaction))
        await say(interaction, f"This channel uses `{config.callsystem or 'the default callsystem'}`.",
                  ephemeral=True)

    @group.command(name="set", description="Switch the callsystem (applies to the next message)")
    @app_commands.describe(callsystem="package_id, package_id@version or package_id@latest",
                           scope="this channel, or the whole server")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def set_(interaction: discord.Interaction, callsystem: str, scope: Scope = "channel") -> None:
        known = await services.redis.smembers(keys.CALLSYSTEMS)
        package_id, _, version = callsystem.partition("@")
        if not any(k == callsystem or (k.startswith(f"{package_id}@") and version in ("", "latest")) for k in known):
            raise ConfigError(f"no planner can run {callsystem}; see /callsystem list")
        await update(services, interaction, scope, ConfigPatch(callsystem=callsystem))
        await say(interaction, f"✅ The {scope} now uses `{callsystem}` from the next message on.")

    return group


def persona_group(services: CommandServices) -> app_commands.Group:
    # Discord shows the whole group only to members who can manage the server; each subcommand checks again.
    group = app_commands.Group(name="persona", description="The instruction set I answer with",
                               default_permissions=discord.Permissions(manage_guild=True), guild_only=True)

    for add in (_persona_reading, _persona_choosing, _persona_editing):
        add(group, services)
    return group


def _persona_reading(group: app_commands.Group, services: CommandServices) -> None:
    @group.command(name="list", description="Personas available in this server")
    async def list_(interaction: discord.Interaction) -> None:
        entries = await services.personas.available(where(interaction)[0])
        await say(interaction, "\n".join(f"• `{e.persona.name}`{PERSONA_SCOPE_LABELS[e.scope]}" for e in entries),
                  ephemeral=True)

    @group.command(name="show", description="The persona of this channel and its instructions")
    async def show(interaction: discord.Interaction) -> None:
        guild, channel, parent = where(interaction)
        config = await services.config.resolve(guild, channel, parent)
        persona = await services.personas.get(config.persona, guild) or services.personas.builtin
        await say(interaction, f"**{persona.name}**\n>>> {persona.instructions[:1800]}", ephemeral=True)


def _persona_choosing(group: app_commands.Group, services: CommandServices) -> None:
    @group.command(name="set", description="Switch persona; this clears the channel's history")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def set_(interaction: discord.Interaction, name: str) -> None:
        if await services.personas.get(name, where(interaction)[0]) is None:
            raise ConfigError(f"there is no persona {name!r}; see /persona list")
        await update(services, interaction, "channel", ConfigPatch(persona=name))
        # The old persona's answers in the history would pull the new one back into the old voice.
        await services.history.clear(str(interaction.channel_id))
        await say(interaction, f"🎭 This channel now talks to `{name}`. I cleared the channel's history so "
                               "the previous persona's answers don't carry over.")

    @group.command(name="group", description="Let several personas share this channel (an agent group)")
    @app_commands.describe(names=f"{MIN_GROUP} to {MAX_GROUP} persona names, separated by spaces; 'off' ends the group")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def group_(interaction: discord.Interaction, names: str) -> None:
        wanted = list(dict.fromkeys(name for name in re.split(r"[\s,]+", names.strip().lower()) if name))
        if wanted == ["off"]:
            await update(services, interaction, "channel", ConfigPatch(group=()))
            await say(interaction, "👤 This channel is no longer an agent group.")
            return
        if not MIN_GROUP <= len(wanted) <= MAX_GROUP:
            raise ConfigError(f"an agent group has {MIN_GROUP} to {MAX_GROUP} personas")
        found = {persona.name for persona in await services.personas.get_many(wanted, where(interaction)[0])}
        if missing := [name for name in wanted if name not in found]:
            raise ConfigError(f"no persona named {', '.join(missing)}; see /persona list")
        await update(services, interaction, "channel", ConfigPatch(group=tuple(wanted), callsystem=GROUP_CALLSYSTEM))
        await say(interaction, f"👥 {', '.join(f'`{name}`' for name in wanted)} now share this channel. "
                               "Name one to hear from it alone.")


def _persona_editing(group: app_commands.Group, services: CommandServices) -> None:
    @group.command(name="create", description="Create (or replace) one of this server's personas")
    @app_commands.describe(name="lowercase name", instructions="the system prompt; {name} and {time} are filled in",
                           history_template="how others' messages read to it, e.g. [{author}] {content}")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def create(interaction: discord.Interaction, name: str, instructions: str,
                     history_template: str = DEFAULT_HISTORY_TEMPLATE) -> None:
        await services.personas.create(where(interaction)[0], name, instructions, created_by=str(interaction.user.id),
                                       history_template=history_template)
        await say(interaction, f"✅ Persona `{name}` saved for this server. Use `/persona set {name}` to use it here.",
                  ephemeral=True)

    @group.command(name="delete", description="Delete one of this server's personas")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def delete(interaction: discord.Interaction, name: str) -> None:
        guild = where(interaction)[0]
        if guild is None or not await services.personas.delete(name, guild):
            raise ConfigError(f"this server has no persona {name!r} of its own; see /persona list")
        await say(interaction, f"🗑️ Persona `{name}` deleted; channels that used it answer as "
                               f"`{services.personas.builtin.name}` until set again.", ephemeral=True)


def status_command(services: CommandServices) -> app_commands.Command:
    @app_commands.command(name="status", description="Queue depths and ages, and the workers behind them")
    async def status(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        report = await queue_status(services.redis)
        lines = [f"**{s.stream}**: {s.length} entries, {s.pending} in progress, {s.lag} waiting, "
                 f"oldest in progress {_age(s.oldest_pending_age_s)}, {s.consumers_active} active consumer(s)"
                 for s in report.streams]
        lines += [f"**{queue}**: {depth} task(s) queued" for queue, depth in report.celery_queues.items()]
        await say(interaction, "\n".join(lines), ephemeral=True)

    return status


def usage_command(services: CommandServices) -> app_commands.Command:
    @app_commands.command(name="usage", description="What this server used today and this week, against its quota")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @app_commands.checks.has_permissions(manage_guild=True)
    async def usage(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        guild = str(interaction.guild_id)
        days, quota = await services.usage.days(guild, 7), await services.usage.quota(guild)
        await say(interaction, usage_report(days, quota), ephemeral=True)

    return usage


def usage_report(days: list[tuple[str, Usage]], quota: Quota) -> str:
    """Today against each limit, then the week's totals (what `/usage` shows)."""
    (_, now), week = days[0], sum((usage for _, usage in days), Usage())

    def against(used: float, limit: float | None) -> str:
        return f"{used:g}" if limit is None else f"{used:g} of {limit:g}"

    return "\n".join([
        "**Today (UTC)**",
        f"• tokens: {against(now.tokens, quota.tokens_per_day)} ({now.tokens_in:g} in, {now.tokens_out:g} out)",
        f"• model time: {against(round(now.model_seconds, 1), quota.model_seconds_per_day)} s",
        f"• tool calls: {against(now.tool_calls, quota.tool_calls_per_day)}",
        f"• images: {against(now.images, quota.images_per_day)}",
        f"**Last {len(days)} days**: {week.tokens:g} tokens, {week.model_seconds:.1f} s of model time, "
        f"{week.tool_calls:g} tool calls, {week.images:g} images"])


def context_window_menu(services: CommandServices) -> app_commands.ContextMenu:
    async def show_context(interaction: discord.Interaction, message: discord.Message) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await say(interaction, await context_window(services.redis, str(message.id), where(interaction)[0]),
                  ephemeral=True)

    return app_commands.ContextMenu(name="Show context window", callback=show_context)


async def context_window(client: aioredis.Redis, message_id: str, guild_id: str | None) -> str:
    """What the bot saw when it wrote message `message_id` (an answer in guild `guild_id`): callsystem, persona and
    history window."""
    activation_id = await client.get(keys.answered_by(message_id))
    raw_record = await client.get(keys.record(activation_id)) if activation_id else None
    record = ActivationRecord.from_json(raw_record) if raw_record is not None else None
    if record is None or record.activation.guild_id != guild_id:  # never another guild's, whatever the id
        return "I have no record of answering that message (or it has expired)."
    window = await Journal(client).get(activation_id, "history:0")
    lines = [f"**{record.callsystem}@{record.callsystem_version}**, persona `{record.persona}`, "
             f"outcome `{record.outcome.value}`"]
    if window is not None and isinstance(window.output, HistoryWindow):
        lines += [f"`{m.author_name}`: {m.content}" for m in window.output.messages]
    text = "\n".join(lines)
    return text if len(text) <= 1900 else text[:1900] + "\n… (truncated)"


def _age(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds:.1f} s"
