"""docker-compose.yml is a valid Compose file that runs what the docs promise (it cannot run here: there is
no Docker engine): Redis that keeps every write, every service as its own module with settings it really
reads, a Ray head for the models, and Prometheus, Grafana and an OTLP backend wired to the same rules and
dashboards the chart ships."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft7Validator

from tests.deploy.chart import CHART, ROOT
from tests.deploy.settings_classes import SETTINGS, stray_variables

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
SWITCHBOARD = ("gateway", "planner", "tools", "inference", "admin")
SECRET_NAME = re.compile(r"TOKEN|PASSWORD|API_KEY|SECRET")


def _bind_mounts(service: dict) -> list[tuple[str, str]]:
    mounts = []
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("./"):
            mounts.append((source, target))
    return mounts


def test_compose_file_matches_the_compose_specification() -> None:
    schema = json.loads((Path(__file__).parent / "fixtures" / "compose-spec.json").read_text())
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in Draft7Validator(schema).iter_errors(COMPOSE)]
    assert errors == []


def test_it_runs_every_service_and_the_observability_stack() -> None:
    assert set(SERVICES) >= {*SWITCHBOARD, "redis", "emulator", "ray-head", "redis-exporter", "prometheus",
                             "grafana", "otel-collector", "jaeger"}


def test_redis_keeps_every_write() -> None:
    command = SERVICES["redis"]["command"]
    pairs = dict(zip(command[1::2], command[2::2], strict=False))
    assert pairs["--appendonly"] == "yes" and pairs["--appendfsync"] == "everysec"
    assert pairs["--maxmemory-policy"] == "noeviction"
    assert "redis-data:/data" in SERVICES["redis"]["volumes"]


@pytest.mark.parametrize("name", SWITCHBOARD)
def test_each_service_runs_its_module_from_its_own_image(name: str) -> None:
    service = SERVICES[name]
    command = " ".join(service["command"])
    assert f"python -m switchboard.{name}" in command
    assert (ROOT / service["build"]["dockerfile"]).is_file()
    assert service["build"]["dockerfile"].startswith("deploy/docker/")
    assert service["user"] == "10001:10001" and service["read_only"] is True
    env = service["environment"]
    assert env["SWITCHBOARD_METRICS_HOST"] == "0.0.0.0" and env["SWITCHBOARD_REDIS_URL"].startswith("redis://redis:")
    assert stray_variables(name, set(env) - {"RAY_ADDRESS"}) == set()
    assert int(service["stop_grace_period"].rstrip("s")) > int(env["SWITCHBOARD_TASK_TIME_LIMIT_S"])
    assert service["depends_on"]["redis"]["condition"] == "service_healthy"


def test_the_settings_classes_cover_every_service() -> None:
    assert set(SETTINGS) == set(SWITCHBOARD)


def test_inference_joins_the_ray_head() -> None:
    command = SERVICES["inference"]["command"][-1]
    assert "ray start --address=ray-head:6379 --num-cpus=0" in command
    assert SERVICES["inference"]["environment"]["RAY_ADDRESS"] == "auto"
    assert "--head" in SERVICES["ray-head"]["command"]
    assert SERVICES["ray-head"]["image"] == SERVICES["inference"]["image"]


def test_credentials_are_passed_through_never_written() -> None:
    for name, service in SERVICES.items():
        for key, value in (service.get("environment") or {}).items():
            if SECRET_NAME.search(key):
                assert value is None, f"{name}: {key}"


def test_published_ports_are_local_only() -> None:
    for name, service in SERVICES.items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), name


def test_mounted_files_exist_in_the_repository() -> None:
    for name, service in SERVICES.items():
        for source, _ in _bind_mounts(service):
            assert (ROOT / source).exists(), f"{name}: {source}"


def test_prometheus_loads_the_charts_rules_and_scrapes_every_service(tmp_path: Path) -> None:
    mounts = dict(_bind_mounts(SERVICES["prometheus"]))
    assert mounts["./charts/switchboard/files/rules"] == "/etc/prometheus/rules"
    config_path = ROOT / "deploy" / "prometheus" / "prometheus.yml"
    config = yaml.safe_load(config_path.read_text())
    assert config["rule_files"] == ["rules/*.yaml"]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    # The alerts' `up{job=~"gateway|planner|tools|inference|admin"}` relies on these job names.
    assert set(jobs) >= set(SWITCHBOARD)
    for job in jobs.values():
        for target in job["static_configs"][0]["targets"]:
            assert target.split(":")[0] in SERVICES, target
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is missing: `./dev setup` installs it (Debian package prometheus)")
    shutil.copy(config_path, tmp_path / "prometheus.yml")
    shutil.copytree(CHART / "files" / "rules", tmp_path / "rules")
    result = subprocess.run([promtool, "check", "config", str(tmp_path / "prometheus.yml")],
                            capture_output=True, text=True)
    assert result.returncode == 0 and "1 rule files found" in result.stdout, result.stdout + result.stderr


@pytest.mark.parametrize("name", SWITCHBOARD)
def test_prometheus_scrapes_each_services_metrics_port(name: str) -> None:
    # The admin service's port is its metrics port, not its API's: the queue gauges are served there.
    config = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    job = next(job for job in config["scrape_configs"] if job["job_name"] == name)
    port = SERVICES[name]["environment"]["SWITCHBOARD_METRICS_PORT"]
    assert job["static_configs"][0]["targets"] == [f"{name}:{port}"]


def test_grafana_provisions_prometheus_and_the_charts_dashboards() -> None:
    mounts = dict(_bind_mounts(SERVICES["grafana"]))
    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
    provisioning = ROOT / "deploy" / "grafana" / "provisioning"
    datasources = yaml.safe_load((provisioning / "datasources" / "switchboard.yaml").read_text())["datasources"]
    prometheus = next(d for d in datasources if d["type"] == "prometheus")
    assert prometheus["url"] == "http://prometheus:9090" and prometheus["isDefault"] is True
    providers = yaml.safe_load((provisioning / "dashboards" / "switchboard.yaml").read_text())["providers"]
    assert mounts["./charts/switchboard/files/dashboards"] == providers[0]["options"]["path"]


def test_traces_flow_from_the_services_to_jaeger_through_the_collector() -> None:
    collector = yaml.safe_load((ROOT / "deploy" / "otel" / "collector.yaml").read_text())
    http = collector["receivers"]["otlp"]["protocols"]["http"]["endpoint"]
    for name in SWITCHBOARD:
        endpoint = SERVICES[name]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"]
        assert endpoint == f"http://otel-collector:{http.split(':')[1]}"
    assert collector["service"]["pipelines"]["traces"]["exporters"] == ["otlp/jaeger"]
    assert collector["exporters"]["otlp/jaeger"]["endpoint"].split(":")[0] in SERVICES
    mounts = dict(_bind_mounts(SERVICES["otel-collector"]))
    assert mounts["./deploy/otel/collector.yaml"] == "/etc/otelcol/config.yaml"
