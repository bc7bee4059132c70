"""Test-only helpers (receivers and probes that stand in for external systems)."""
