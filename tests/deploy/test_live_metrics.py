"""The dashboards and alerts read series the running services really export.

The whole system runs as processes (Redis, the Discord emulator, planner, tools, inference with the echo
chat model on Ray, gateway, admin), a few mentions go through it, and Debian's Prometheus scrapes every
service with the scrape config docker-compose ships (its targets moved to the services' loopback ports)
and the chart's alert rules. Through Prometheus' HTTP API: every metric a panel or a rule reads has a
series, the queue gauges count what went through, and every rule loaded and evaluates without error.

This is the slow test of tests/deploy (it starts the whole system, Ray included): `-m "not slow"` leaves it
out.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from switchboard.core import keys
from switchboard.core.keys import Queue, Stream
from switchboard.devstack.ports import free_port
from switchboard.devstack.stack import SERVICES, Stack, StackConfig
from switchboard.emulator.client import EmulatorClient
from tests.conftest import wait_until
from tests.deploy.chart import CHART, ROOT
from tests.deploy.promql import metric_names
from tests.deploy.queries import dashboard_exprs, rule_exprs

pytestmark = [pytest.mark.slow, pytest.mark.timeout(170)]

PROMETHEUS = "/usr/bin/prometheus"
SHIPPED_CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
ASKED = ("What is a switchboard?", "Say hello.", "Count to three.")
STACK_START_S = 120
REPLY_S = 30
PROMETHEUS_S = 30

# Series that exist only under conditions this test does not create, each with the condition.
NOT_CREATED = {
    "switchboard_discord_rate_limited_total": "Discord answers 429",
    "switchboard_lane_refusals_total": "a lane full or pushing back",
    "redis_up": "redis_exporter, which does not run here",
    "redis_memory_used_bytes": "redis_exporter, which does not run here",
    "redis_memory_max_bytes": "redis_exporter, which does not run here",
}


def _read_names() -> dict[str, set[str]]:
    """Metric name -> the panels and alerts that read it."""
    readers: dict[str, set[str]] = {}
    for where, expr in dashboard_exprs() + rule_exprs():
        for name in metric_names(expr):
            readers.setdefault(name, set()).add(where)
    return readers


class PrometheusApi:
    """Just enough of Prometheus' HTTP API (`/api/v1/...`) for these tests."""

    def __init__(self, url: str) -> None:
        self.url = url

    def get(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}{query}", timeout=5) as response:
            document = json.load(response)
        assert document["status"] == "success", document
        return document["data"]

    def names(self) -> set[str]:
        """Every metric name with at least one series."""
        return set(self.get("label/__name__/values"))

    def value(self, expr: str) -> float | None:
        """The value of an expression that yields one sample; None when it yields none."""
        result = self.get("query", query=expr)["result"]
        assert len(result) <= 1, result
        return float(result[0]["value"][1]) if result else None

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False


def scrape_config(metrics_ports: dict[str, int]) -> dict[str, Any]:
    """docker-compose's Prometheus config, each Switchboard job pointed at its service's loopback metrics
    port, the jobs of what does not run here (redis_exporter, Ray's nodes) left out, scraped every second."""
    shipped = yaml.safe_load(SHIPPED_CONFIG.read_text())
    jobs = [{**job, "static_configs": [{"targets": [f"127.0.0.1:{metrics_ports[job['job_name']]}"]}]}
            for job in shipped["scrape_configs"] if job["job_name"] in metrics_ports]
    assert {job["job_name"] for job in jobs} == set(SERVICES), "the shipped config scrapes every service"
    return {**shipped, "global": {"scrape_interval": "1s", "evaluation_interval": "1s"}, "scrape_configs": jobs}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Every service as a process, after `ASKED` were each answered."""
    running = Stack(StackConfig(run_dir=Path(tmp_path_factory.mktemp("live-stack")), chat_backend="echo"))
    try:
        running.start(timeout=STACK_START_S)
        assert running.emulator_url is not None
        emulator = EmulatorClient(running.emulator_url)
        asked = [emulator.inject_message(content, channel_id="general", author=author, mention_bot=True)
                 for content, author in zip(ASKED, ("alice", "bob", "alice"), strict=True)]
        with redis.Redis.from_url(running.redis_url, decode_responses=True) as store:
            for message in asked:
                wait_until(lambda m=message: store.exists(keys.posted(m["id"])), REPLY_S,
                           f"a reply to {message['id']}")
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def prometheus(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusApi]:
    if not Path(PROMETHEUS).is_file():
        pytest.fail("prometheus is missing: `./dev setup` installs it (Debian package prometheus)")
    home = Path(tmp_path_factory.mktemp("prometheus"))
    shutil.copytree(CHART / "files" / "rules", home / "rules")  # where the shipped config's rule_files look
    (home / "prometheus.yml").write_text(yaml.safe_dump(scrape_config(stack.metrics_ports)))
    port = free_port()
    log = (home / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [PROMETHEUS, f"--config.file={home / 'prometheus.yml'}", f"--storage.tsdb.path={home / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    log.close()
    api = PrometheusApi(f"http://127.0.0.1:{port}")
    try:
        wait_until(lambda: api.ready() or process.poll() is not None, PROMETHEUS_S, "Prometheus to be ready")
        assert process.poll() is None, (home / "prometheus.log").read_text()
        # `up` is committed with the samples of its scrape: once every job's is 1 in the database, each
        # service's series, all recorded before Prometheus started, are there too.
        wait_until(lambda: api.value("count(up == 1)") == len(SERVICES), PROMETHEUS_S,
                   "a successful scrape of every service")
        yield api
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_every_metric_a_panel_or_an_alert_reads_has_a_series(prometheus: PrometheusApi) -> None:
    readers = _read_names()
    assert set(NOT_CREATED) <= set(readers), "an excused name nothing reads any more: drop it"
    missing = {name: sorted(readers[name]) for name in set(readers) - set(NOT_CREATED) - prometheus.names()}
    assert missing == {}


def test_the_queue_gauges_count_what_went_through(prometheus: PrometheusApi) -> None:
    read = prometheus.value
    # A gateway acknowledges a reply just after marking it posted: wait for a scrape that saw that.
    wait_until(lambda: read("sum(switchboard_stream_pending)") == 0, PROMETHEUS_S,
               "every stream entry to be acknowledged", interval=0.5)
    assert read('sum(switchboard_activations_total{outcome="replied"})') == len(ASKED)
    assert read("switchboard_queue_scrape_ok") == 1
    for stream in (Stream.ACTIVATIONS, Stream.REPLIES):  # every entry kept, delivered and acknowledged
        assert read(f'switchboard_stream_length{{stream="{stream}"}}') == len(ASKED)
        assert read(f'switchboard_stream_lag{{stream="{stream}"}}') == 0
        assert read(f'switchboard_stream_oldest_pending_age_seconds{{stream="{stream}"}}') == 0
    for queue in Queue:
        assert read(f'switchboard_celery_queue_length{{queue="{queue}"}}') == 0
    assert read("switchboard_dead_letters") == 0


def test_every_alert_rule_loads_and_evaluates_without_error(prometheus: PrometheusApi) -> None:
    def rules() -> list[dict[str, Any]]:
        return [rule for group in prometheus.get("rules")["groups"] for rule in group["rules"]]

    wait_until(lambda: all(not r["lastEvaluation"].startswith("0001-") for r in rules()), PROMETHEUS_S,
               "every rule to be evaluated once", interval=0.5)
    loaded = rules()
    assert sorted(r["name"] for r in loaded) == sorted(name for name, _ in rule_exprs())
    assert [(r["name"], r.get("lastError")) for r in loaded if r["health"] != "ok"] == []
    # Nothing is wrong with this system: no alert is even pending.
    assert [(r["name"], r["state"]) for r in loaded if r["state"] != "inactive"] == []
