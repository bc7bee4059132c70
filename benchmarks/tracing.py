"""Cost of tracing: the pipeline-overhead figure with tracing off, then on (every span sampled and exported).

Two runs of the pipeline benchmark in one process, each with a fresh system: first with no OTLP endpoint
(tracing is a no-op), then with every service exporting every span (`OTEL_TRACES_SAMPLER=always_on`) over
OTLP/HTTP to a receiver in this process, which counts what it got, so an "on" that exported nothing cannot
pass for cheap tracing. Prometheus metrics are on in both (they always are). Same rates, same duration.

    ./dev bench tracing
    ./dev bench tracing --quick
"""

from __future__ import annotations

import argparse

import pipeline
from common import Figure, figures_of, machine, now_iso, print_figures, write_report

RATES = [10.0, 50.0]


def run(quick: bool = False) -> dict:
    off = pipeline.run(quick, RATES, tracing=False)
    on = pipeline.run(quick, RATES, tracing=True)
    figures = []
    for rate_off, rate_on in zip(off["rates"], on["rates"], strict=True):
        rate = f"{rate_on['offered_rate']:g}/s"
        conditions = (f"echo model, {machine()['cpus']} CPUs, {rate_on['offered']} activations per side; "
                      f"{on['spans_received']} spans received with tracing on")
        for key, label in (("p50_s", "p50"), ("p99_s", "p99")):
            value, baseline = rate_on[key], rate_off[key]
            figures.append(Figure("7 tracing cost", f"{label} at {rate}, tracing on",
                                  value * 1000 if value is not None else None, "ms",
                                  baseline * 1000 if baseline is not None else None, "tracing off",
                                  conditions=conditions))
    return {"benchmark": "tracing", "date": now_iso(), "machine": machine(), "off": off, "on": on,
            "figures": [f.as_dict() for f in figures]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 s per rate")
    report = run(parser.parse_args().quick)
    for side in ("off", "on"):
        print(f"\ntracing {side}:")
        pipeline.print_report(report[side])
    print()
    print_figures(figures_of(report))
    print(f"\nwritten to {write_report('tracing', report)}")


if __name__ == "__main__":
    main()
