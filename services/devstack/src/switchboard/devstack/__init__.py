"""The embedded default: every Switchboard service on one machine, for development, tests and benchmarks."""
