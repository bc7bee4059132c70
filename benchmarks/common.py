"""What the benchmarks share: percentiles, the machine they ran on, and where their JSON reports go.

Each benchmark is a script (`python benchmarks/<name>.py`), so this module is imported as `common`: the
script's own directory is first on `sys.path`.
"""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def percentile(values: list[float], q: float) -> float:
    """The value at rank `q` (0..1) of `values`, nearest rank: no interpolation between two samples."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def machine() -> dict[str, Any]:
    """What a figure depends on besides the code: cores, platform, Python."""
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def write_report(name: str, report: dict[str, Any]) -> Path:
    """Write `report` as `results/<name>-<UTC timestamp>.json` and return the path."""
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{name}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(report, indent=2))
    return out
