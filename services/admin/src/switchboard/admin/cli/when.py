"""Points in time as operators type them: an age (`90s`, `15m`, `1h`, `2d`), an ISO date-time, or epoch seconds."""

from __future__ import annotations

import argparse
import re
import time
from datetime import UTC, datetime

_AGE = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def point_in_time(text: str, now: float | None = None) -> float:
    """Epoch seconds for `text`; an age counts back from `now`; a date-time without a zone is UTC."""
    text = text.strip()
    if match := _AGE.match(text):
        return (time.time() if now is None else now) - float(match.group(1)) * _UNIT_S[match.group(2)]
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an age (90s, 15m, 1h, 2d), an ISO date-time or epoch seconds") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
