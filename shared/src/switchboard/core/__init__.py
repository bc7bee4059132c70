"""Switchboard's common package: wire models, names, settings, errors, journal, tracing and metrics.

Every service imports from here; nothing in this package connects to anything at import time.
"""
