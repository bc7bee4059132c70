"""The PromQL this project ships: every dashboard panel's queries and every alert rule's expression."""

from __future__ import annotations

import json

import yaml

from tests.deploy.chart import CHART

DASHBOARDS = sorted((CHART / "files" / "dashboards").glob("*.json"))
RULES = CHART / "files" / "rules" / "switchboard-alerts.yaml"


def dashboard_exprs() -> list[tuple[str, str]]:
    """("<dashboard>: <panel title>", query) for every query of every panel."""
    exprs = []
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            exprs += [(f"{path.stem}: {panel['title']}", t["expr"]) for t in panel.get("targets", [])]
    return exprs


def rule_exprs() -> list[tuple[str, str]]:
    """(alert name, expression) for every alert rule."""
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [(rule["alert"], rule["expr"]) for group in groups for rule in group["rules"]]
