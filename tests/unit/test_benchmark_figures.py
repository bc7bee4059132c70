"""The benchmark suite's judgement of its own figures: ratios, goals, and when a rate counts as held."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))  # benchmarks are scripts, not a package

from common import Figure, figures_of, print_figures
from pipeline import pipeline_figures
from throughput import held


def rate(offered_rate: float, p50_ms: float, p99_ms: float, replied: int = 100, duplicated: int = 0,
         achieved: float | None = None) -> dict:
    return {"offered_rate": offered_rate, "channels": 32, "offered": 100, "replied": replied,
            "duplicated": duplicated, "p50_s": p50_ms / 1000, "p99_s": p99_ms / 1000, "max_s": p99_ms / 1000,
            "achieved_rate": achieved if achieved is not None else offered_rate,
            "redis_commands_per_activation": 100.0}


def pipeline_report(*rates: dict) -> dict:
    return {"redis_rtt": {"p50": 50e-6, "p99": 90e-6}, "machine": {"cpus": 2}, "rates": list(rates)}


def test_a_figure_reads_as_a_ratio_of_its_baseline_and_survives_json() -> None:
    figure = Figure("1 pipeline overhead", "p50 at 10/s", 25.0, "ms", 5.0, "floor", goal="≤ 10× floor", met=True)
    assert figure.ratio == 5.0
    assert figures_of({"figures": [figure.as_dict()]}) == [figure]
    assert Figure("x", "y", None, "ms", 5.0).ratio is None
    assert Figure("x", "y", 3.0, "ms", 0.0).ratio is None


def test_the_table_has_a_row_per_figure(capsys: pytest.CaptureFixture[str]) -> None:
    print_figures([Figure("2 throughput", "sustained 60 s", 64.0, "/s", 440.0, "bare Celery no-op"),
                   Figure("1 pipeline overhead", "p99 at 50/s", 80.0, "ms", goal="< 50 ms", met=False)])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    assert "64.0 /s" in lines[2] and "440 /s bare Celery no-op" in lines[2] and "0.15" in lines[2]
    assert lines[3].rstrip().endswith("NO")


def test_pipeline_goals_hold_only_without_loss_and_within_their_bounds() -> None:
    figures = pipeline_figures(pipeline_report(rate(10, 20, 30), rate(50, 40, 60), rate(200, 6000, 9000,
                                                                                         achieved=65)))
    by_measure = {f.measure: f for f in figures}
    assert by_measure["p50 at 10/s"].baseline == pytest.approx(0.3)  # 50 µs × 6 hand-offs
    assert by_measure["p50 at 10/s"].met is False  # 20 ms, over 10 × 0.3 ms
    assert by_measure["p99 at 50/s"].met is False  # 60 ms, not under 50
    assert by_measure["p50 at 200/s"].met is None and "saturated at 65/s" in by_measure["p50 at 200/s"].conditions

    fast = {f.measure: f for f in pipeline_figures(pipeline_report(rate(10, 2, 3)))}
    assert fast["p50 at 10/s"].met is True  # 2 ms ≤ 10 × 0.3 ms
    lossy = {f.measure: f for f in pipeline_figures(pipeline_report(rate(10, 2, 3, replied=99)))}
    assert lossy["p50 at 10/s"].met is False


def test_a_rate_is_held_only_with_every_reply_once_and_a_queue_that_kept_up() -> None:
    assert held(rate(50, 40, 300))
    assert not held(rate(50, 40, 300, replied=99))
    assert not held(rate(50, 40, 300, duplicated=1))
    assert not held(rate(50, 400, 4000))
