"""Slash commands that queue work for the planners: `/imagine` and `/replay`.

Both defer at once (the work takes longer than Discord's 3 s) and queue an activation that carries the
interaction; the reply poster answers in the command's response once a planner is done. Command work
runs beside the channel's conversation, not in its turn order.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import discord
import redis.asyncio as aioredis
from discord import app_commands

from switchboard.core import keys
from switchboard.core.activation_queue import ActivationQueue
from switchboard.core.audit import AuditLog
from switchboard.core.config import ConfigStore
from switchboard.core.errors import ConfigError
from switchboard.core.tracing import inject_context
from switchboard.core.usage import UsageLedger
from switchboard.core.wire import Activation, ActivationRecord, AuditEntry, InteractionRef, Trigger
from switchboard.gateway.commands import say, where
from switchboard.gateway.throttle import ActivationLimiter, quota_notice, throttle_notice

# A message link (https://discord.com/channels/<guild>/<channel>/<message>) or a bare id.
_ACTIVATION_REF = re.compile(r"(?:/channels/(?:\d+|@me)/\d+/)?(\d{1,20})/?$")


@dataclass(frozen=True)
class WorkServices:
    redis: aioredis.Redis
    queue: ActivationQueue
    limiter: ActivationLimiter
    config: ConfigStore
    audit: AuditLog
    usage: UsageLedger
    operator_role_ids: frozenset[str] = frozenset()


class NotOperator(app_commands.CheckFailure):
    def __str__(self) -> str:
        return "🚫 Only operators (Administrator, or an operator role) can do that."


def install_work_commands(tree: app_commands.CommandTree, services: WorkServices) -> None:
    tree.add_command(imagine_command(services))
    tree.add_command(replay_command(services))


def imagine_command(services: WorkServices) -> app_commands.Command:
    @app_commands.command(name="imagine", description="Draw a picture from a prompt")
    @app_commands.describe(prompt="what to draw")
    async def imagine(interaction: discord.Interaction, prompt: app_commands.Range[str, 1, 1000]) -> None:
        guild, channel, parent = where(interaction)
        if (limit := await services.usage.exceeded(guild, str(interaction.user.id))) is not None:
            await say(interaction, quota_notice(limit), ephemeral=True)
            return
        config = await services.config.resolve(guild, channel, parent)
        admission = await services.limiter.admit(str(interaction.user.id), guild, config.user_rate,
                                                 config.guild_rate)
        if not admission.allowed:
            await say(interaction, throttle_notice(admission), ephemeral=True)
            return
        await interaction.response.defer(thinking=True)
        activation = Activation(
            id=str(interaction.id), trigger=Trigger.COMMAND, guild_id=guild, channel_id=channel,
            thread_parent_id=parent, message_id=str(interaction.id), author_id=str(interaction.user.id),
            author_name=interaction.user.display_name, content=prompt,
            interaction=interaction_ref(interaction, "imagine"), trace_context=inject_context())
        await services.queue.enqueue(activation, in_channel_order=False)

    return imagine


def replay_command(services: WorkServices) -> app_commands.Command:
    def operator_only(interaction: discord.Interaction) -> bool:
        if not is_operator(interaction, services.operator_role_ids):
            raise NotOperator()
        return True

    @app_commands.command(name="replay", description="Run an activation again now; the answer is shown only to you")
    @app_commands.describe(activation="the activation id (the triggering message's id) or a link to that message")
    @app_commands.default_permissions(administrator=True)
    @app_commands.guild_only()
    @app_commands.check(operator_only)
    async def replay(interaction: discord.Interaction, activation: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        original = await own_activation(services.redis, activation_id_of(activation), where(interaction)[0])
        again = original.model_copy(update={
            "id": f"replay-{interaction.id}", "replay_of": original.id, "accepted_at": time.time(),
            "interaction": interaction_ref(interaction, "replay"), "trace_context": inject_context()})
        # Audited before it is queued, as the CLI and the admin API do, so a replay that fails half-way is on record.
        await services.audit.append(AuditEntry(
            action="replay", operator=f"discord:{interaction.user.id}", target=original.id, mode="live",
            result_id=again.id, detail=f"/replay in guild {original.guild_id}"))
        await services.queue.enqueue(again, in_channel_order=False)

    return replay


async def own_activation(client: aioredis.Redis, activation_id: str, guild_id: str | None) -> Activation:
    """The recorded activation `activation_id` if it belongs to guild `guild_id`; raises `ConfigError` otherwise,
    with the same words whether it is another guild's or does not exist (an id says nothing across guilds)."""
    raw = await client.get(keys.record(activation_id))
    original = ActivationRecord.from_json(raw).activation if raw is not None else None
    if original is None or guild_id is None or original.guild_id != guild_id:
        raise ConfigError(f"there is no record of activation {activation_id} in this server (or it has expired)")
    return original


def interaction_ref(interaction: discord.Interaction, command: str) -> InteractionRef:
    return InteractionRef(id=str(interaction.id), application_id=str(interaction.application_id),
                          token=interaction.token, command=command)


def is_operator(interaction: discord.Interaction, operator_role_ids: frozenset[str]) -> bool:
    if interaction.permissions.administrator:
        return True
    roles = getattr(interaction.user, "roles", [])  # a Member in a guild; a DM's User has none
    return any(str(role.id) in operator_role_ids for role in roles)


def activation_id_of(text: str) -> str:
    """The activation id in a bare id or a message link; raises `ConfigError` for anything else."""
    match = _ACTIVATION_REF.search(text.strip())
    if match is None:
        raise ConfigError(f"{text[:100]!r} is not an activation id or a message link")
    return match.group(1)
