"""Free loopback ports for services started later.

A port handed out now is bound by its service only a few seconds later. Taken from the kernel's ephemeral
range (what binding port 0 gives), it could meanwhile be given to anyone else who binds port 0: Ray does,
for a dozen internal servers, while the inference service starts. So ports come from a range below the
ephemeral one, checked free by binding them, and never handed out twice by this process.
"""

from __future__ import annotations

import itertools
import os
import random
import socket
import threading

# Below Linux's default ephemeral range (32768-60999) and clear of Ray's fixed ports (6379, 8265, 10001).
FIRST_PORT, LAST_PORT = 20_000, 32_000

_lock = threading.Lock()
# Start where another process's sequence is unlikely to be, so parallel test runs rarely probe the same ports.
_start = FIRST_PORT + random.Random(os.getpid()).randrange(LAST_PORT - FIRST_PORT)
_candidates = itertools.cycle([*range(_start, LAST_PORT), *range(FIRST_PORT, _start)])
_given: set[int] = set()


def free_port() -> int:
    """A loopback port nobody is bound to now, outside the ephemeral range; raises OSError when none is."""
    with _lock:
        for port in itertools.islice(_candidates, LAST_PORT - FIRST_PORT):
            if port not in _given and _bindable(port):
                _given.add(port)
                return port
    raise OSError(f"no free loopback port in {FIRST_PORT}-{LAST_PORT}")


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
