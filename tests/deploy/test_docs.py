"""The deployment and operations guides stay true: docs/deploy.md's values examples are ones the chart
accepts and renders; docs/operations.md has a section for every alert and every dashboard (each panel
explained), and every `switchboard` command it shows is one the CLI accepts."""

from __future__ import annotations

import argparse
import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

from switchboard.admin.cli import ops_commands, replay_command
from tests.deploy.chart import ROOT, find, name_of, render
from tests.deploy.queries import DASHBOARDS, rule_exprs

DOC = ROOT / "docs" / "deploy.md"
EXAMPLES = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.DOTALL)
OPERATIONS = (ROOT / "docs" / "operations.md").read_text()


def test_the_guide_has_values_examples() -> None:
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.splitlines()[0][:40])
def test_values_example_renders(example: str) -> None:
    docs = render(yaml.safe_load(example))
    assert find(docs, "Deployment", name_of("planner"))


def _sections(level: str) -> dict[str, str]:
    """Heading -> body of every section at `level` ("##", "###") of docs/operations.md."""
    parts = re.split(rf"^{level} (.+)$", OPERATIONS, flags=re.MULTILINE)
    return {heading.strip(): body for heading, body in zip(parts[1::2], parts[2::2], strict=True)}


def test_every_alert_has_a_section_and_every_alert_section_an_alert() -> None:
    alerts = {name for name, _ in rule_exprs()}
    documented = {heading: body for heading, body in _sections("###").items() if heading.startswith("Switchboard")}
    assert set(documented) == alerts
    for alert, body in documented.items():
        assert all(part in body for part in ("**Means:**", "**First checks:**", "**Do:**")), alert


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_every_dashboard_panel_is_explained(path: Path) -> None:
    board = json.loads(path.read_text())
    section = _sections("###")[board["title"].removeprefix("Switchboard / ")]
    explained = {row.split("|")[1].strip() for row in section.splitlines() if row.startswith("| ")}
    assert {panel["title"] for panel in board["panels"] if panel["type"] != "row"} == explained - {"panel", "---"}


def _cli() -> argparse.ArgumentParser:
    """The `switchboard` command's parser, as its `main` builds it."""
    parser = argparse.ArgumentParser(prog="switchboard", exit_on_error=False)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    replay_command.add_to(commands)
    ops_commands.add_to(commands)
    return parser


def _documented_commands() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", OPERATIONS, re.DOTALL)
    lines = [line.strip() for block in blocks for line in block.splitlines()]
    inline = re.findall(r"`(switchboard [^`]+)`", OPERATIONS)
    return sorted({line for line in lines + inline if line.startswith("switchboard ")})


def test_operations_shows_the_replay_and_dead_letter_commands() -> None:
    verbs = {shlex.split(line, comments=True)[1] for line in _documented_commands()}
    assert {"activations", "replay", "dead-letters", "queues", "lanes"} <= verbs
    assert "/console/" in OPERATIONS and "SWITCHBOARD_ADMIN_TOKENS" in OPERATIONS


@pytest.mark.parametrize("line", _documented_commands())
def test_every_documented_command_parses(line: str) -> None:
    try:
        _cli().parse_args(shlex.split(line, comments=True)[1:])
    except (argparse.ArgumentError, SystemExit) as exc:
        pytest.fail(f"{line}: {exc}")
