"""What the benchmarks share: percentiles, the machine they ran on, the figures they report, and where their
JSON reports go.

Each benchmark is a script (`python benchmarks/<name>.py`), so this module is imported as `common`: the
script's own directory is first on `sys.path`.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass
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


@dataclass(frozen=True)
class Figure:
    """One headline figure of a benchmark, beside the baseline it is read against.

    `ratio` is value ÷ baseline; `goal` says in words what the issue or design asks for, and `met` whether
    this run met it (None where there is no goal, or the figure could not be measured).
    """

    figure: str  # which of the suite's figures: "1 pipeline overhead"
    measure: str  # what exactly: "p50 at 50/s"
    value: float | None
    unit: str  # "ms", "/s", "tok/s", "s"
    baseline: float | None = None
    baseline_name: str = ""  # what the baseline is: "Redis RTT × hops"
    goal: str = ""
    met: bool | None = None
    conditions: str = ""  # rates, concurrency, model, CPUs: what the figure holds for

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.baseline:
            return None
        return self.value / self.baseline

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


def print_figures(figures: list[Figure]) -> None:
    """The suite's table: one row per figure, value beside baseline and goal."""
    rows = [("figure", "measure", "value", "baseline", "ratio", "goal", "met")]
    for f in figures:
        rows.append((f.figure, f.measure, _amount(f.value, f.unit),
                     f"{_amount(f.baseline, f.unit)} {f.baseline_name}".strip() if f.baseline is not None else "",
                     f"{f.ratio:.2f}" if f.ratio is not None else "", f.goal,
                     {True: "yes", False: "NO", None: ""}[f.met]))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            print("  ".join("-" * width for width in widths))


def _amount(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2
    return f"{value:.{digits}f} {unit}"


def figures_of(report: dict[str, Any]) -> list[Figure]:
    """The figures a benchmark's JSON report carries under "figures" (each `Figure.as_dict()`)."""
    return [Figure(**{k: v for k, v in f.items() if k != "ratio"}) for f in report.get("figures", [])]
