"""Every benchmark, one after another, in one table: each figure beside the baseline measured in its run.

    ./dev bench                  # the whole suite (about 15 minutes on 2 cores)
    ./dev bench --quick          # every benchmark's quick mode (a few minutes)
    ./dev bench --only 1,7       # some figures

Each benchmark is a script in this folder with a `run(quick)` that starts what it needs, measures, stops it
all, and returns its report; its headline figures sit under "figures". The suite writes one JSON file with
every report, and carries on past a benchmark that fails (its error goes in the report; the exit status says
one failed).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback

from common import Figure, figures_of, machine, now_iso, print_figures, write_report

BENCHMARKS = {  # figure number → the script that measures it
    "1": "pipeline",
    "2": "throughput",
    "3": "inference",
    "4": "gateway",
    "5": "replay",
    "6": "agents",
    "7": "tracing",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="each benchmark's quick mode")
    parser.add_argument("--only", default=",".join(BENCHMARKS), help="figure numbers, comma separated")
    args = parser.parse_args()
    chosen = [n.strip() for n in args.only.split(",")]
    if unknown := [n for n in chosen if n not in BENCHMARKS]:
        parser.error(f"no figure {', '.join(unknown)}; figures are {', '.join(BENCHMARKS)}")

    suite = {"benchmark": "suite", "date": now_iso(), "machine": machine(), "quick": args.quick, "reports": {},
             "errors": {}}
    figures: list[Figure] = []
    for number in chosen:
        name = BENCHMARKS[number]
        print(f"\n=== figure {number}: {name} ===", flush=True)
        began = time.monotonic()
        try:
            report = importlib.import_module(name).run(args.quick)
        except Exception:  # one broken benchmark must not cost the others' figures
            suite["errors"][name] = traceback.format_exc()
            print(suite["errors"][name], file=sys.stderr, flush=True)
            continue
        report["wall_s"] = round(time.monotonic() - began, 1)
        suite["reports"][name] = report
        figures += figures_of(report)
        print(f"figure {number} took {report['wall_s']:.0f} s", flush=True)

    print(f"\nSwitchboard benchmarks, {suite['date']}, {suite['machine']['cpus']} CPUs, "
          f"{suite['machine']['platform']}{' (quick)' if args.quick else ''}\n")
    print_figures(figures)
    for name in suite["errors"]:
        print(f"\n{name}: FAILED (its traceback is in the report)")
    print(f"\nwritten to {write_report('suite', suite)}")
    sys.exit(1 if suite["errors"] else 0)


if __name__ == "__main__":
    main()
