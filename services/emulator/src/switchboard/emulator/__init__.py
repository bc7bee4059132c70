"""A local Discord (REST API + gateway) that an unmodified discord.py client can use.

``Emulator`` runs the server in-process; ``EmulatorClient`` drives a running
one over its control API from another process; ``python -m
switchboard.emulator`` runs one standalone.

``Emulator`` is imported lazily so that ``EmulatorClient`` (standard library
only) works without importing aiohttp.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .client import EmulatorClient, EmulatorRequestError
from .config import EmulatorConfig
from .errors import EmulatorTimeout

if TYPE_CHECKING:
    from .server import Emulator

__all__ = ["Emulator", "EmulatorClient", "EmulatorConfig", "EmulatorRequestError", "EmulatorTimeout"]


def __getattr__(name: str) -> Any:
    if name == "Emulator":
        from .server import Emulator

        return Emulator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
