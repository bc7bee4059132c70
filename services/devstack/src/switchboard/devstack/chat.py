"""The terminal chat of the embedded default: type as a member of the test guild, watch the bot answer.

Lines you type are injected into the Discord emulator as messages from `alice` in #general; write
`@bot` (or `@Switchboard`) to mention the bot. Every message the bot posts, and every edit of it while
the answer streams in, is printed as it happens.
"""

from __future__ import annotations

import re
import sys
import threading
from typing import Any

from switchboard.emulator.client import EmulatorClient

MENTION = re.compile(r"@(bot|switchboard)\b", re.IGNORECASE)
STREAMING_CURSOR = "▌"
PREVIEW = 100  # characters of a streaming answer shown per edit


class TerminalChat:
    def __init__(self, client: EmulatorClient, channel: str = "general", author: str = "alice") -> None:
        self._client = client
        self._channel = channel
        self._author = author
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def run(self) -> None:
        """Read lines until EOF or Ctrl-C; bot activity is printed from a background thread."""
        state = self._client.state()
        self._bot_id = state["bot_user"]["id"]
        self._show(f"You are {self._author} in #{self._channel}. Mention the bot with @bot. Ctrl-C quits.")
        threading.Thread(target=self._follow, daemon=True).start()
        try:
            for line in sys.stdin:
                if line.strip():
                    self._say(line.strip())
        finally:
            self._stop.set()

    def _say(self, text: str) -> None:
        content = MENTION.sub(f"<@{self._bot_id}>", text)
        self._client.inject_message(channel_id=self._channel, author=self._author, content=content)

    def _follow(self) -> None:
        after = self._client.events(after=0, timeout=0)["last_seq"]
        while not self._stop.is_set():
            feed = self._client.events(after=after, timeout=5)
            for event in feed["events"]:
                self._print_event(event)
            after = feed["last_seq"]

    def _print_event(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "typing":
            self._show("  Switchboard is typing…")
        elif kind in ("message_create", "message_edit"):
            content = event["content"]
            verb = "posts" if kind == "message_create" else "edits"
            if content.endswith(STREAMING_CURSOR):  # still streaming: one line, the newest words
                text = " ".join(content.removesuffix(STREAMING_CURSOR).split())
                self._show(f"  Switchboard {verb} … {'…' if len(text) > PREVIEW else ''}{text[-PREVIEW:]}")
            else:
                self._show(f"  Switchboard {verb} ✓\n" + "\n".join(f"    {line}" for line in content.splitlines()))

    def _show(self, line: str) -> None:
        with self._lock:
            print(line, flush=True)
