"""Turning an answer into Discord messages: pieces of at most 2000 characters that keep code blocks
and words whole.

A piece is cut at a paragraph break, else a line break, else a space, in the second half of the
allowed length; only text with no break there (a very long URL) is cut hard. A cut inside a fenced code
block closes the fence at the end of the piece and reopens it, with its language, in the next one.
"""

from __future__ import annotations

from dataclasses import dataclass

from switchboard.core.wire import Outcome, Reply

MESSAGE_LIMIT = 2000
FENCE = "```"
CLOSE_FENCE = "\n" + FENCE


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Pieces of at most `limit` characters; joining them (less the added fences) gives back `text`."""
    pieces: list[str] = []
    fence: str | None = None  # the fence line open at the start of the next piece
    text = text.strip("\n")
    while text:
        prefix = f"{fence}\n" if fence else ""
        if len(prefix) + len(text) <= limit:
            pieces.append(prefix + text)
            break
        cut = _cut_point(text, limit - len(prefix) - len(CLOSE_FENCE))
        head, text = text[:cut].rstrip(), _drop_break(text[cut:])
        fence = _open_fence_after(head, fence)
        pieces.append(prefix + head + (CLOSE_FENCE if fence else ""))
    return pieces or [""]


def _cut_point(text: str, budget: int) -> int:
    for separator in ("\n\n", "\n", " "):
        at = text.rfind(separator, budget // 2, budget)
        if at > 0:
            return at
    return max(1, budget)  # no break point: a hard cut, always making progress


def _drop_break(rest: str) -> str:
    """The text after a cut, without the one break we cut at (indentation inside code is kept)."""
    if rest.startswith("\n\n"):
        return rest[2:]
    return rest[1:] if rest[:1] in ("\n", " ") else rest


def _open_fence_after(text: str, fence: str | None) -> str | None:
    """The fence line still open at the end of `text`, given the one open at its start."""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(FENCE):
            fence = None if fence else stripped.split()[0][:32]  # the fence and its language only
    return fence


@dataclass(frozen=True)
class Outgoing:
    """One message to post: text, and optionally a file."""

    content: str
    attachment: bytes | None = None
    filename: str = "answer.md"


def compose(text: str, attach_over_chars: int) -> list[Outgoing]:
    """The messages that carry an answer: split pieces, or past `attach_over_chars` a note plus a file."""
    if len(text) > attach_over_chars:
        note = f"📎 The answer is long ({len(text):,} characters), so it is attached as a file."
        return [Outgoing(note), Outgoing("", attachment=text.encode())]
    return [Outgoing(piece) for piece in split_message(text)]


def command_answer(reply: Reply) -> str:
    """The text that answers a slash command: one message, so a long answer is cut, not split."""
    text = reply.text or ("(no answer)" if reply.outcome == Outcome.SILENT else "")
    if reply.replay_of is not None:
        text = (f"🔁 Replayed `{reply.replay_of}` live (not posted in the channel); "
                f"outcome `{reply.outcome.value}`:\n>>> {text}")
    return text if len(text) <= MESSAGE_LIMIT else text[:MESSAGE_LIMIT - 20] + "\n… (truncated)"


def spoken(reply: Reply) -> str:
    """The reply's text, headed by its speaker's name when an agent group's persona says it."""
    return f"**{reply.speaker}**: {reply.text}" if reply.speaker else reply.text
