"""`python -m switchboard.devstack`: run the whole system on this machine.

Without `DISCORD_TOKEN`: Redis, the Discord emulator, the four services, and a terminal chat.
With `DISCORD_TOKEN`: the same services connected to Discord; talk to the bot there.
Ctrl-C stops everything, gateway first, Redis last.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
from pathlib import Path

from switchboard.devstack.chat import TerminalChat
from switchboard.devstack.stack import Stack, StackConfig
from switchboard.emulator.client import EmulatorClient


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="switchboard.devstack", description=__doc__.splitlines()[0])
    parser.add_argument("--echo", action="store_true", help="use the instant echo model instead of SmolLM2")
    parser.add_argument("--run-dir", type=Path, default=Path(".run"), help="Redis data and service logs")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    token = os.environ.get("DISCORD_TOKEN") or None
    stack = Stack(StackConfig(run_dir=args.run_dir.resolve(), chat_backend="echo" if args.echo else "llama",
                              discord_token=token))
    print(f"starting Switchboard (logs in {stack.log_dir}) ...", flush=True)
    try:
        stack.start()
        print("ready.", flush=True)
        print(f"operations console: {stack.admin_url}/console/  (token: {stack.admin_token})", flush=True)
        if stack.emulator_url is None:
            print("connected to Discord: talk to the bot there. Ctrl-C stops.", flush=True)
            _wait_for_interrupt()
        else:
            print(f"Discord emulator at {stack.emulator_url}", flush=True)
            TerminalChat(EmulatorClient(stack.emulator_url)).run()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the orderly stop short
        print("\nstopping ...", flush=True)
        stack.stop()
        print("stopped.", flush=True)


def _wait_for_interrupt() -> None:
    threading.Event().wait()


if __name__ == "__main__":
    main()
