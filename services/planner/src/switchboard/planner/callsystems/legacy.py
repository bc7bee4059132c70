"""`cs.switchboard.legacy`: persona + channel history + the replied-to message + attached files → one
streamed model call → one reply.

Attached images are described by the vision role (all in one wave), so the model reads what they show;
without a vision model it reads their names and sizes. The model may ask for a picture by writing a
line `[imagine: what to draw]`: the line is taken out of the reply and the picture, drawn by the image
role, attached (one per reply); without an image model the reply says image generation is not configured.

"Amnesia": after two empty answers in a row in a channel, the channel's history is reset (it is
usually what derails a small model) and the reply says so.
"""

from __future__ import annotations

import re
from datetime import date

from switchboard.core.errors import RoleNotConfigured, Superseded, SwitchboardError, ToolError
from switchboard.core.plugins import CallContext, Callsystem, Persona
from switchboard.core.wire import Activation, AttachmentRef, ChatMessage, HistoryMessage, Outcome, Reply

EMPTY_REPLIES = "empty_replies"
AMNESIA_AFTER = 2
AMNESIA_NOTE = "🌀 I lost my train of thought, so I cleared this channel's history. Could you ask again?"
TEXT_FILE_CHARS = 4000
IMAGINE_HINT = ("If a picture would help, you may ask for one: write a line `[imagine: what to draw]` "
                "and it is drawn and attached to your reply (one picture per reply).")
IMAGINE_MARKER = re.compile(r"[ \t]*\[imagine:\s*([^\]\n]+?)\s*\][ \t]*\n?", re.IGNORECASE)
NO_IMAGE_ROLE = "(I wanted to draw this, but image generation is not configured on this bot.)"


class Legacy(Callsystem):
    package_id = "cs.switchboard.legacy"
    version = "1.1.0"
    release_date = date(2026, 11, 21)
    capabilities = frozenset({"text", "vision", "image"})
    tools = frozenset({"clock"})

    history_limit = 20
    max_tokens = 200

    async def activate(self, ctx: CallContext) -> Reply:
        messages = await build_prompt(ctx, self.history_limit, describe_images=True, hint=IMAGINE_HINT)
        result = await ctx.infer(messages, max_tokens=self.max_tokens, stream=True)
        text, images = await draw_on_request(ctx, result.text.strip())
        return await answer(ctx, text, images)


async def build_prompt(ctx: CallContext, history_limit: int, *, describe_images: bool = False,
                       hint: str = "") -> list[ChatMessage]:
    """Persona (with the time and `hint`) + the channel's history + the trigger, with its attached files, last.

    `describe_images`: say what attached images show (the vision role), not only their names.
    """
    history, now = await ctx.gather(ctx.history(limit=history_limit), current_time(ctx))
    system = ctx.persona.system_prompt(time=now) + (f"\n\n{hint}" if hint else "")
    turns = conversation(history, ctx.activation, ctx.persona)
    if notes := await attachment_notes(ctx, describe_images):
        turns[-1] = ChatMessage(role="user", content=f"{turns[-1].content}\n\n{notes}")
    return [ChatMessage(role="system", content=system), *turns]


async def current_time(ctx: CallContext) -> str:
    """The time from the clock tool (journaled, so a replay sees the original time); "unknown" if refused."""
    try:
        return (await ctx.tool("clock", {}))["iso"]
    except ToolError as exc:
        ctx.log.info("no clock: %s", exc)
        return "unknown"


async def draw_on_request(ctx: CallContext, text: str) -> tuple[str, tuple[AttachmentRef, ...]]:
    """The text without `[imagine: ...]` lines, and the picture the first one asked for (at most one)."""
    prompts = [found.group(1) for found in IMAGINE_MARKER.finditer(text)]
    if not prompts:
        return text, ()
    text = IMAGINE_MARKER.sub("\n", text).strip()
    try:
        drawn = await ctx.imagine(prompts[0])
    except RoleNotConfigured:
        return f"{text}\n\n{NO_IMAGE_ROLE}".strip(), ()
    except Superseded:
        raise
    except SwitchboardError as exc:  # the words are still worth sending
        ctx.log.info("picture not drawn: %s", exc)
        return f"{text}\n\n(I could not draw this: `{exc.code}`.)".strip(), ()
    return text or f"🎨 {prompts[0][:300]}", drawn.images[:1]


async def answer(ctx: CallContext, text: str, images: tuple[AttachmentRef, ...] = ()) -> Reply:
    """The reply for the model's text (and pictures), counting empty answers towards amnesia."""
    empties = await ctx.recall(EMPTY_REPLIES, scope="channel") or 0
    if text or images:
        if empties:
            await ctx.remember(EMPTY_REPLIES, 0, scope="channel")
        return ctx.reply(text, images=images)
    if empties + 1 >= AMNESIA_AFTER:
        await ctx.forget_history()
        await ctx.remember(EMPTY_REPLIES, 0, scope="channel")
        return ctx.reply(AMNESIA_NOTE)
    await ctx.remember(EMPTY_REPLIES, empties + 1, scope="channel")
    return ctx.reply("", Outcome.SILENT)


def conversation(history: list[HistoryMessage], activation: Activation, persona: Persona) -> list[ChatMessage]:
    """History as chat turns as `persona` reads them (its history template), ending with the triggering
    message; the replied-to message is included."""
    seen = {message.message_id for message in history}
    window = list(history)
    replied = activation.replied_to
    if replied is not None and replied.message_id not in seen:
        window = [m for m in window if m.message_id != activation.message_id] + [replied]
        seen.add(replied.message_id)
    turns = [persona.turn(message) for message in window if message.message_id != activation.message_id]
    turns.append(persona.turn(HistoryMessage(message_id=activation.message_id, author_id=activation.author_id,
                                             author_name=activation.author_name, content=activation.content,
                                             created_at=activation.accepted_at)))
    return turns


async def attachment_notes(ctx: CallContext, describe_images: bool = False) -> str:
    """The attached files as the model sees them: text files inline (capped), images by name and size,
    and with `describe_images` what they show (described in one wave)."""
    images = [ref for ref in ctx.activation.attachments if ref.media == "image"]
    shown = await ctx.gather(*(what_it_shows(ctx, ref) for ref in images)) if describe_images and images else []
    descriptions = iter(shown)  # in the order of the images
    notes = []
    for ref in ctx.activation.attachments:
        where = " (on the replied-to message)" if ref.from_reply else ""
        if ref.media == "image":
            size = f", {ref.width}×{ref.height}" if ref.width and ref.height else ""
            seen = f": it shows {description}" if (description := next(descriptions, None)) else ""
            notes.append(f"[image {ref.filename}{size}{where}{seen}]")
            continue
        data = await ctx.blobs.get(ref.sha256)
        if data is None:
            notes.append(f"[file {ref.filename}{where}: no longer available]")
            continue
        text = data.decode("utf-8", errors="replace")
        cut = "\n[…truncated]" if len(text) > TEXT_FILE_CHARS else ""
        notes.append(f"[file {ref.filename}{where}]\n{text[:TEXT_FILE_CHARS]}{cut}")
    return "\n\n".join(notes)


async def what_it_shows(ctx: CallContext, image: AttachmentRef) -> str | None:
    """What the vision role sees in an image; None when there is no vision model or it failed."""
    try:
        return (await ctx.describe_image(image)).describe()
    except Superseded:
        raise
    except SwitchboardError as exc:  # never fail an answer over a description
        ctx.log.info("image %s not described: %s", image.filename, exc)
        return None
