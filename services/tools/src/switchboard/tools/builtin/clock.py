"""The current date and time, optionally in an IANA time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from switchboard.core.errors import InvalidToolArguments
from switchboard.tools.registry import Tool


def now(timezone: str = "UTC") -> dict[str, Any]:
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidToolArguments(f"clock: unknown time zone {timezone!r}") from exc
    moment = datetime.now(UTC).astimezone(zone)
    return {"iso": moment.isoformat(timespec="seconds"), "timezone": timezone,
            "weekday": moment.strftime("%A")}


CLOCK = Tool(
    name="clock",
    description="The current date, time and weekday, in UTC or a given IANA time zone.",
    parameters={
        "type": "object",
        "properties": {"timezone": {"type": "string", "minLength": 1, "maxLength": 64}},
        "additionalProperties": False,
    },
    run=now,
    timeout_s=1.0,
)
