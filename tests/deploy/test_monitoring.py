"""The Grafana dashboards and alert rules read only series the code (or a deployed exporter) really
exports, with label values the code really uses, in valid PromQL; the alerts fire as their promtool tests
say; and the chart ships exactly these files."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from switchboard.core.keys import Group, Queue, Stream
from switchboard.core.wire import Outcome, Trigger
from switchboard.devstack.redis_server import RedisServer
from tests.deploy.chart import ROOT, container, env_of, find, name_of, of_kind, render
from tests.deploy.exported import EXTERNAL, queue_metric_names, switchboard_metric_names
from tests.deploy.promql import matchers, metric_names
from tests.deploy.queries import DASHBOARDS, RULES, dashboard_exprs, rule_exprs

RULE_TESTS = sorted((ROOT / "deploy" / "prometheus" / "tests").glob("*.test.yaml"))
SERVICE_SOURCES = [*(ROOT / "services").glob("*/src/**/*.py"), *(ROOT / "shared" / "src").glob("**/*.py")]
# Grafana's variables, replaced by what they stand for so promtool can parse the expressions.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$namespace": ".*"}
ALL_EXPRS = dashboard_exprs() + rule_exprs()


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is missing: `./dev setup` installs it (Debian package prometheus)")
    return path


def test_there_are_dashboards_for_each_concern() -> None:
    assert {p.stem for p in DASHBOARDS} == {"switchboard-pipeline", "switchboard-queues", "switchboard-inference",
                                           "switchboard-gateway"}


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_dashboard_is_importable_anywhere(path: Path) -> None:
    board = json.loads(path.read_text())
    assert board["uid"] == path.stem and board["title"].startswith("Switchboard / ")
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["query"] == "prometheus"
    for panel in board["panels"]:
        box = panel["gridPos"]
        assert box["x"] + box["w"] <= 24, panel["title"]
        if panel["type"] != "row":
            # No data source uid baked in: the dashboard works with whatever Prometheus Grafana has.
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
            assert panel["targets"] and panel.get("description"), panel["title"]


def test_every_series_read_is_exported(redis_server: RedisServer) -> None:
    known = switchboard_metric_names() | queue_metric_names(redis_server.url) | set(EXTERNAL)
    unknown = {(where, name) for where, expr in ALL_EXPRS for name in metric_names(expr) if name not in known}
    assert unknown == set()


def test_label_values_are_ones_the_code_uses() -> None:
    source = "\n".join(path.read_text() for path in SERVICE_SOURCES)
    allowed = {
        "outcome": {o.value for o in Outcome}, "trigger": {t.value for t in Trigger},
        "stream": {s.value for s in Stream}, "group": {g.value for g in Group},
        "queue": {q.value for q in Queue},
    }
    for where, expr in ALL_EXPRS:
        for label, operator, value in matchers(expr):
            if label == "hop":
                for hop in value.split("|"):
                    assert hop.startswith("step_") or f'"{hop}"' in source, f"{where}: hop {hop}"
            elif label in allowed:
                values = value.replace("\\.", ".").split("|") if operator == "=~" else [value]
                assert set(values) <= allowed[label], f"{where}: {label}={value}"


def test_dashboard_queries_are_valid_promql(promtool: str, tmp_path: Path) -> None:
    rules = []
    for index, (_, expr) in enumerate(dashboard_exprs()):
        for variable, stands_for in GRAFANA_VARIABLES.items():
            expr = expr.replace(variable, stands_for)
        rules.append({"record": f"dashboard:query_{index}", "expr": expr})
    check = tmp_path / "dashboards.rules.yaml"
    check.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = subprocess.run([promtool, "check", "rules", str(check)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_rules_are_valid(promtool: str) -> None:
    result = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", RULE_TESTS, ids=lambda p: p.name)
def test_alerts_fire_as_their_promtool_tests_say(promtool: str, path: Path) -> None:
    result = subprocess.run([promtool, "test", "rules", path.name], cwd=path.parent, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_promtool_test() -> None:
    tested = {test["alertname"] for path in RULE_TESTS for case in yaml.safe_load(path.read_text())["tests"]
              for test in case.get("alert_rule_test", [])}
    assert {name for name, _ in rule_exprs()} <= tested


MONITORED = {"metrics": {"serviceMonitor": {"enabled": True, "additionalLabels": {"release": "kps"}},
                         "prometheusRule": {"enabled": True, "additionalLabels": {"release": "kps"}},
                         "rayPodMonitor": {"enabled": True, "additionalLabels": {"release": "kps"}},
                         "grafanaDashboards": {"enabled": True}},
             "inference": {"mode": "rayCluster", "roles": {"chat": {"numGpus": 1}}}}


def test_the_chart_ships_the_same_rules_and_dashboards() -> None:
    docs = render(MONITORED)
    rule = find(docs, "PrometheusRule", "sb-switchboard")
    assert rule["spec"] == yaml.safe_load(RULES.read_text())
    configmaps = {d["metadata"]["name"]: d for d in of_kind(docs, "ConfigMap") if "dashboard" in d["metadata"]["name"]}
    assert len(configmaps) == len(DASHBOARDS)
    for path in DASHBOARDS:
        configmap = configmaps[f"sb-switchboard-dashboard-{path.stem}"]
        assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert json.loads(configmap["data"][path.name]) == json.loads(path.read_text())


def test_monitors_carry_the_labels_prometheus_selects_by() -> None:
    docs = render(MONITORED)
    for kind, name in (("ServiceMonitor", "sb-switchboard"), ("PrometheusRule", "sb-switchboard"),
                       ("PodMonitor", name_of("ray"))):
        assert find(docs, kind, name)["metadata"]["labels"]["release"] == "kps"
    monitor = find(docs, "ServiceMonitor", "sb-switchboard")
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    # The `job` label is the component, as the alerts' `up{job=~...}` expects.
    assert monitor["spec"]["jobLabel"] == "app.kubernetes.io/component"


def test_the_admin_service_is_scraped_for_the_queue_gauges() -> None:
    docs = render(MONITORED)
    selector = find(docs, "ServiceMonitor", "sb-switchboard")["spec"]["selector"]["matchLabels"]
    service = find(docs, "Service", name_of("admin"))
    assert selector.items() <= service["metadata"]["labels"].items()
    assert service["metadata"]["labels"]["app.kubernetes.io/component"] == "admin"  # job="admin"
    port = next(p for p in service["spec"]["ports"] if p["name"] == "metrics")
    admin = container(find(docs, "Deployment", name_of("admin")))
    assert {"name": "metrics", "containerPort": port["port"]} in admin["ports"]
    assert env_of(admin)["SWITCHBOARD_METRICS_PORT"]["value"] == str(port["port"])
