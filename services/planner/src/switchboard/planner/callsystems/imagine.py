"""`cs.switchboard.imagine`: the prompt → the `image` role → the images, attached to the reply.

`/imagine` always runs it, whatever the channel's callsystem; set as a channel's callsystem, every
message there becomes a prompt.
"""

from __future__ import annotations

from datetime import date

from switchboard.core.plugins import CallContext, Callsystem
from switchboard.core.wire import Reply

IMAGINE = "cs.switchboard.imagine@latest"


class Imagine(Callsystem):
    package_id = "cs.switchboard.imagine"
    version = "1.0.0"
    release_date = date(2026, 11, 21)
    capabilities = frozenset({"image"})

    async def activate(self, ctx: CallContext) -> Reply:
        prompt = ctx.activation.content.strip()
        result = await ctx.imagine(prompt)
        caption = f"🎨 **{prompt[:300]}**"
        if result.revised_prompt and result.revised_prompt != prompt:
            caption += f"\n-# drawn as: {result.revised_prompt[:600]}"
        return ctx.reply(caption, images=result.images)
