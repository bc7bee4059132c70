"""Run the emulator as a process: ``python -m switchboard.emulator``.

Prints the base URL on stdout once listening and, with ``--ready-file``,
writes it (atomically, so a watcher never reads half a URL) to that file.
Runs until SIGINT or SIGTERM, then closes connections, removes the ready
file and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
from collections.abc import Sequence
from pathlib import Path

from .config import EmulatorConfig
from .server import Emulator

log = logging.getLogger("switchboard.emulator")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    defaults = EmulatorConfig()
    parser = argparse.ArgumentParser(
        prog="python -m switchboard.emulator", description="Local Discord API and gateway emulator."
    )
    parser.add_argument("--host", default=defaults.host, help="interface to bind (default %(default)s)")
    parser.add_argument("--port", type=int, default=defaults.port, help="port to bind; 0 picks a free one (default)")
    parser.add_argument("--token", default=defaults.token, help="bot token clients must present (default %(default)s)")
    parser.add_argument("--ready-file", type=Path, help="write the base URL here once listening")
    parser.add_argument("--no-rate-limits", action="store_true", help="never answer 429")
    parser.add_argument("--heartbeat-interval-ms", type=int, default=defaults.heartbeat_interval_ms)
    parser.add_argument("--shards", type=int, default=defaults.shard_count, help="shard count GET /gateway/bot reports")
    parser.add_argument("--max-concurrency", type=int, default=defaults.max_concurrency)
    parser.add_argument("--single-guild", action="store_true", help="do not seed the second guild")
    parser.add_argument(
        "--interaction-deadline-s",
        type=float,
        default=defaults.interaction_response_deadline_s,
        help="time the bot has to answer an interaction (default %(default)s)",
    )
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    return EmulatorConfig(
        host=args.host,
        port=args.port,
        token=args.token,
        rate_limits=not args.no_rate_limits,
        heartbeat_interval_ms=args.heartbeat_interval_ms,
        shard_count=args.shards,
        max_concurrency=args.max_concurrency,
        second_guild=not args.single_guild,
        interaction_response_deadline_s=args.interaction_deadline_s,
    )


def write_ready_file(path: Path, url: str) -> None:
    """Write ``url`` to ``path`` so that the file appears complete or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(url + "\n")
    os.replace(temporary, path)


def remove_ready_file(path: Path, url: str) -> None:
    """Remove ``path`` if it still announces this process's ``url``."""
    try:
        if path.read_text().strip() == url:
            path.unlink()
    except FileNotFoundError:
        pass


async def serve(config: EmulatorConfig, ready_file: Path | None) -> None:
    """Run an emulator until SIGINT/SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    emulator = Emulator(config)
    await emulator.start()
    try:
        print(emulator.url, flush=True)
        if ready_file is not None:
            write_ready_file(ready_file, emulator.url)
        await stop.wait()
        log.info("signal received, stopping")
    finally:
        await emulator.stop()
        if ready_file is not None:
            remove_ready_file(ready_file, emulator.url)
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(serve(config_from_args(args), args.ready_file))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
