"""`switchboard`: the operator's command line: `replay`, and the admin API's other verbs (`ops_commands`).

It talks to Redis with the services' own settings (`SWITCHBOARD_REDIS_URL`, ...), so it runs wherever a
planner could: beside the deployment, or in a planner's container.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from switchboard.admin.cli import ops_commands, replay_command


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="switchboard", description="Operate a Switchboard deployment.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    replay_command.add_to(commands)
    ops_commands.add_to(commands)
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
