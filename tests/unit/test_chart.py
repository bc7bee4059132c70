"""The Helm chart renders, lints clean, and keeps secrets out of values."""

from __future__ import annotations

from pathlib import Path

import helm_python
import pytest
import yaml

CHART = Path(__file__).parents[2] / "charts" / "switchboard"


def render(values: dict) -> list[dict]:
    with helm_python.Chart.load(str(CHART)) as chart:
        files = chart.render(values, name="sb", namespace="bots")
    return [doc for name, text in files.items() if name.endswith(".yaml")
            for doc in yaml.safe_load_all(text) if doc]


def test_chart_lints_without_errors() -> None:
    assert helm_python.lint(str(CHART))["errors"] == []


def test_every_service_is_a_deployment_with_recommended_labels() -> None:
    deployments = {d["metadata"]["labels"]["app.kubernetes.io/component"]: d
                   for d in render({}) if d["kind"] == "Deployment"}
    assert set(deployments) == {"gateway", "planner", "tools", "inference"}
    for name, deployment in deployments.items():
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["command"] == ["python", "-m", f"switchboard.{name}"]
        assert deployment["metadata"]["labels"]["app.kubernetes.io/instance"] == "sb"
        assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True


@pytest.mark.parametrize("service", ["gateway", "planner"])
def test_secrets_come_from_existing_secrets_only(service: str) -> None:
    deployment = next(d for d in render({}) if d["metadata"]["name"] == f"sb-switchboard-{service}")
    env = {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["SWITCHBOARD_REDIS_URL"]["valueFrom"]["secretKeyRef"]["name"] == "switchboard-redis"
    if service == "gateway":
        assert "value" not in env["DISCORD_TOKEN"]
        assert env["DISCORD_TOKEN"]["valueFrom"]["secretKeyRef"]["name"] == "switchboard-discord"


def test_replicas_and_extra_settings_come_from_values() -> None:
    values = {"services": {"inference": {"replicas": 3, "env": {"SWITCHBOARD_CHAT_NUM_GPUS": "1"}}}}
    inference = next(d for d in render(values) if d["metadata"]["name"] == "sb-switchboard-inference")
    assert inference["spec"]["replicas"] == 3
    env = inference["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "SWITCHBOARD_CHAT_NUM_GPUS", "value": "1"} in env
