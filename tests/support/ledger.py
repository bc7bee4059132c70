"""The oracle of the fault tests: what was asked of the bot on the Discord emulator, and what it posted back.

Every message a test sends through `Ledger.ask` mentions the bot; `Ledger.settle` waits until each has an
answer (or the deadline passes) and reports, per message, how many answers the bot posted. An answer is a
bot message replying to the asked message with the activation's nonce (notices carry other nonces), so an
answer posted twice counts twice. The promise under test: every count is exactly 1. Answers that are typed
error notices (they end with the error's code, "(`step_timeout`)") are counted apart: the promise allows them,
but a test can say how many it met.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field

from switchboard.emulator.client import EmulatorClient

ERROR_NOTICE = re.compile(r"\(`[a-z_]+`\)\s*$")


@dataclass
class Settled:
    asked: int
    answered: int
    missing: list[str] = field(default_factory=list)
    duplicated: dict[str, int] = field(default_factory=dict)
    error_notices: dict[str, str] = field(default_factory=dict)  # message id -> the notice's text

    @property
    def exactly_once(self) -> bool:
        return not self.missing and not self.duplicated

    def __str__(self) -> str:
        return (f"{self.answered}/{self.asked} answered ({len(self.error_notices)} with an error notice), "
                f"{len(self.missing)} missing {self.missing[:5]}, "
                f"{len(self.duplicated)} answered more than once {dict(list(self.duplicated.items())[:5])}")


class Ledger:
    def __init__(self, emulator: EmulatorClient) -> None:
        self._emulator = emulator
        self.asked: list[str] = []

    def ask(self, channel_id: str, content: str, author: str = "alice") -> str:
        message = self._emulator.inject_message(content, channel_id=channel_id, author=author, mention_bot=True)
        self.asked.append(message["id"])
        return message["id"]

    def answers(self) -> Counter[str]:
        return Counter(m["nonce"] for m in self._answer_messages())

    def _answer_messages(self) -> list[dict]:
        asked = set(self.asked)
        return [m for m in self._emulator.messages(author="bot")
                if m.get("nonce") in asked and (m.get("message_reference") or {}).get("message_id") == m.get("nonce")]

    def settle(self, timeout_s: float, quiet_s: float = 2.0) -> Settled:
        """Wait until every message has an answer (then `quiet_s` more, for late duplicates) or `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and len(self.answers()) < len(self.asked):
            time.sleep(0.5)
        time.sleep(quiet_s)
        answers = self._answer_messages()
        counts = Counter(m["nonce"] for m in answers)
        return Settled(asked=len(self.asked), answered=len(counts),
                       missing=[m for m in self.asked if m not in counts],
                       duplicated={m: n for m, n in counts.items() if n > 1},
                       error_notices={m["nonce"]: m["content"] for m in answers
                                      if ERROR_NOTICE.search(m.get("content") or "")})
