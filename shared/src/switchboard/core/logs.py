"""Logging setup shared by every service's entry point."""

from __future__ import annotations

import logging

# Libraries whose debug lines carry message content (discord.py logs every gateway event and REST body):
# user data stays out of the logs even when a service runs at DEBUG.
CHATTY = ("discord",)


def setup_logging(service: str, level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format=f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s",
    )
    for name in CHATTY:
        logging.getLogger(name).setLevel(max(logging.INFO, logging.getLogger().level))
