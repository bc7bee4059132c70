"""Callsystems shipped with Switchboard; the registry sweeps every module of this package."""
