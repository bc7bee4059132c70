"""Every Discord REST call the gateway makes, in one place.

Replies never ping anyone (the client is built with `AllowedMentions.none()`), and each message
carries a nonce derived from the activation so Discord drops a second create of the same message.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import discord
import yarl

from switchboard.core.wire import InteractionRef

NONCE_MAX = 25


def nonce_for(activation_id: str, part: int = 0) -> str:
    """A nonce unique to (activation, part) that fits Discord's 25-character limit."""
    nonce = activation_id if part == 0 else f"{activation_id}.{part}"
    return nonce if len(nonce) <= NONCE_MAX else hashlib.sha256(nonce.encode()).hexdigest()[:NONCE_MAX]


def point_at_emulator(url: str) -> None:
    """Make discord.py talk to a Discord emulator at `url` instead of discord.com."""
    base = yarl.URL(url)
    discord.http.Route.BASE = str(base / "api/v10")
    ws = base.with_scheme("wss" if base.scheme == "https" else "ws") / "gateway"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = ws


class DiscordApi:
    def __init__(self, client: discord.Client) -> None:
        self._client = client

    def _channel(self, channel_id: str) -> discord.PartialMessageable:
        return self._client.get_partial_messageable(int(channel_id))

    async def send_reply(self, channel_id: str, reply_to: str, content: str, nonce: str) -> discord.Message:
        reference = discord.MessageReference(
            message_id=int(reply_to), channel_id=int(channel_id), fail_if_not_exists=False)
        return await self._channel(channel_id).send(content, reference=reference, nonce=nonce)

    async def send(self, channel_id: str, content: str, nonce: str,
                   files: Sequence[discord.File] = ()) -> discord.Message:
        if not files:
            return await self._channel(channel_id).send(content, nonce=nonce)
        return await self._channel(channel_id).send(content or None, nonce=nonce, files=list(files))

    async def answer_interaction(self, interaction: InteractionRef, content: str,
                                 files: Sequence[discord.File] = ()) -> discord.Message:
        """Answer a deferred slash command: the first followup replaces its "thinking…" response.

        Whether the answer is ephemeral was decided when the command deferred; the followup keeps it.
        """
        webhook = discord.Webhook.partial(int(interaction.application_id), interaction.token, client=self._client)
        extra = {"files": list(files)} if files else {}
        return await webhook.send(content, wait=True, **extra)

    async def react(self, channel_id: str, message_id: str, emoji: str) -> None:
        await self._channel(channel_id).get_partial_message(int(message_id)).add_reaction(emoji)

    async def edit(self, channel_id: str, message_id: int, content: str) -> None:
        await self._channel(channel_id).get_partial_message(message_id).edit(content=content)

    async def typing(self, channel_id: str) -> None:
        await self._channel(channel_id).typing()
