"""Every pod the chart creates is safe to run and to stop: probes, resources, a non-root read-only
container, no API token unless needed, a grace period longer than the longest step, a disruption budget;
credentials come only from existing Secrets; the gateway shards by pod ordinal; Redis keeps every write."""

from __future__ import annotations

import re

import pytest

from tests.deploy.chart import (
    CHART,
    CI_VALUES,
    container,
    env_of,
    find,
    load_values,
    name_of,
    notes,
    of_kind,
    pod_spec,
    pod_specs,
    render,
)

ALL_VARIANTS = [{}, *(load_values(p) for p in CI_VALUES)]
WORKLOADS = ("Deployment", "StatefulSet")
# Env names that carry a credential: they may only ever come from a secretKeyRef.
SECRET_NAME = re.compile(r"TOKEN|PASSWORD|API_KEY|SECRET|AUTH(?!_MODE)")


@pytest.mark.parametrize("values", ALL_VARIANTS, ids=["defaults", *(p.stem for p in CI_VALUES)])
def test_every_pod_is_probed_bounded_and_locked_down(values: dict) -> None:
    docs = render(values)
    for name, spec in pod_specs(docs):
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        for box in spec["containers"]:
            where = f"{name}/{box['name']}"
            assert "memory" in box["resources"]["limits"] and box["resources"]["requests"], where
            assert box["securityContext"]["readOnlyRootFilesystem"] is True, where
            assert box["securityContext"]["allowPrivilegeEscalation"] is False, where
            assert box["securityContext"]["capabilities"]["drop"] == ["ALL"], where
            if spec.get("restartPolicy") != "Never":  # the helm test pod runs once
                assert box.get("livenessProbe") and box.get("readinessProbe"), where


@pytest.mark.parametrize("values", ALL_VARIANTS, ids=["defaults", *(p.stem for p in CI_VALUES)])
def test_no_pod_mounts_an_api_token_except_the_ray_autoscaler(values: dict) -> None:
    for name, spec in pod_specs(render(values)):
        if not name.endswith("/head"):  # KubeRay gives the head (its autoscaler sidecar) its own account
            assert spec["automountServiceAccountToken"] is False, name


@pytest.mark.parametrize("limit, step", [(120, 150), (600, 300)])
def test_pods_may_finish_the_longest_step_before_they_are_killed(limit: int, step: int) -> None:
    docs = render({"tasks": {"timeLimitSeconds": limit, "stepTimeoutSeconds": step, "stepResendAfterSeconds": 45},
                   "inference": {"mode": "rayCluster", "roles": {"chat": {"numGpus": 1}}}})
    for name, spec in pod_specs(docs):
        if "redis" in name or "test" in name:
            continue
        assert spec["terminationGracePeriodSeconds"] > max(limit, step), name
    planner = env_of(container(find(docs, "Deployment", name_of("planner"))))
    assert planner["SWITCHBOARD_TASK_TIME_LIMIT_S"]["value"] == str(limit)
    assert planner["SWITCHBOARD_STEP_TIMEOUT_S"]["value"] == str(step)
    assert planner["SWITCHBOARD_STEP_RESEND_AFTER_S"]["value"] == "45"


@pytest.mark.parametrize("values", ALL_VARIANTS, ids=["defaults", *(p.stem for p in CI_VALUES)])
def test_credentials_come_only_from_existing_secrets(values: dict) -> None:
    docs = render(values)
    assert of_kind(docs, "Secret") == []
    for name, spec in pod_specs(docs):
        for box in spec["containers"]:
            for entry in box.get("env", []):
                if SECRET_NAME.search(entry["name"]):
                    assert "secretKeyRef" in entry.get("valueFrom", {}), f"{name}: {entry['name']}"
                # A value may name a secret's variable (Kubernetes expands it), never hold one.
                assert ":password@" not in entry.get("value", ""), name
    for configmap in of_kind(docs, "ConfigMap"):
        assert not re.search(r"requirepass|password", str(configmap["data"]), re.IGNORECASE)


def _scalars(node: object, path: str = "") -> list[tuple[str, object]]:
    if isinstance(node, dict):
        return [leaf for key, value in node.items() for leaf in _scalars(value, f"{path}.{key}")]
    return [(path, node)]


def test_values_hold_no_credential() -> None:
    """Credentials are named (existingSecret + key), never given: no value slot for one exists."""
    for path, value in _scalars(load_values(CHART / "values.yaml")):
        assert not re.search(r"(?i)(password|token|apikey)$", path) or isinstance(value, dict), path


def test_services_reach_redis_with_the_password_from_its_secret() -> None:
    planner = env_of(container(find(render({}), "Deployment", name_of("planner"))))
    assert planner["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "switchboard-redis", "key": "password"}
    assert planner["SWITCHBOARD_REDIS_URL"]["value"] == "redis://:$(REDIS_PASSWORD)@sb-switchboard-redis.bots.svc:6379/0"


def test_external_redis_replaces_the_bundled_one() -> None:
    docs = render(load_values(CHART / "ci" / "external-redis-values.yaml"))
    assert [d for d in docs if "redis" in d["metadata"]["name"] and d["kind"] == "StatefulSet"] == []
    tools = env_of(container(find(docs, "Deployment", name_of("tools"))))
    assert tools["SWITCHBOARD_REDIS_URL"]["value"] == "rediss://:$(REDIS_PASSWORD)@redis.example.internal:6380/2"
    assert tools["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "managed-redis", "key": "redis-password"}


def test_bundled_redis_keeps_every_write() -> None:
    docs = render({})
    config = find(docs, "ConfigMap", name_of("redis"))["data"]["redis.conf"].splitlines()
    assert {"appendonly yes", "appendfsync everysec", "maxmemory-policy noeviction", "maxmemory 1536mb"} <= set(config)
    redis = find(docs, "StatefulSet", name_of("redis"))
    server = container(redis)
    assert server["image"] == "redis:7.4.2"
    assert server["args"] == ["/etc/redis/redis.conf", "--requirepass", "$(REDIS_PASSWORD)"]
    assert redis["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "8Gi"
    # redis_exporter only watches Redis itself: the stream and queue depths are the admin service's gauges.
    exporter = env_of(container(redis, 1))
    assert exporter["REDIS_ADDR"]["value"] == "redis://127.0.0.1:6379"
    assert not any(name.startswith("REDIS_EXPORTER_CHECK") for name in exporter)


@pytest.mark.parametrize("shards", [2, 5])
def test_shard_count_sets_statefulset_replicas_and_each_pods_shard(shards: int) -> None:
    docs = render({"gateway": {"sharding": {"enabled": True, "shardCount": shards}}})
    gateway = find(docs, "StatefulSet", name_of("gateway"))
    assert gateway["spec"]["replicas"] == shards
    assert gateway["spec"]["serviceName"] == name_of("gateway")
    env = env_of(container(gateway))
    assert env["SWITCHBOARD_SHARD_COUNT"]["value"] == str(shards)
    assert env["POD_INDEX"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.labels['apps.kubernetes.io/pod-index']"
    assert env["SWITCHBOARD_SHARD_IDS"]["value"] == "[$(POD_INDEX)]"
    assert [d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == name_of("gateway")] == []


def test_an_unsharded_gateway_is_one_pod_that_is_never_doubled() -> None:
    gateway = find(render({}), "Deployment", name_of("gateway"))
    assert gateway["spec"]["replicas"] == 1 and gateway["spec"]["strategy"]["type"] == "Recreate"
    env = env_of(container(gateway))
    assert env["DISCORD_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "switchboard-discord", "key": "token"}
    assert "SWITCHBOARD_SHARD_IDS" not in env
    assert container(gateway)["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_every_workload_has_a_disruption_budget_that_selects_it() -> None:
    docs = render({"inference": {"mode": "rayCluster", "roles": {"chat": {"numGpus": 1}}}})
    budgets = of_kind(docs, "PodDisruptionBudget")
    for workload in (d for d in docs if d["kind"] in WORKLOADS):
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert any(b["spec"]["selector"]["matchLabels"].items() <= labels.items() for b in budgets), \
            workload["metadata"]["name"]
    ray = find(docs, "PodDisruptionBudget", name_of("ray"))
    assert ray["spec"]["selector"]["matchLabels"] == {"ray.io/cluster": name_of("ray")}


def test_each_workload_runs_its_own_service_module() -> None:
    docs = render({})
    for component in ("gateway", "planner", "tools", "inference", "admin"):
        assert container(find(docs, "Deployment", name_of(component)))["command"] == [
            "python", "-m", f"switchboard.{component}"]


def test_keda_scales_planner_and_tools_on_their_queues() -> None:
    docs = render(load_values(CHART / "ci" / "keda-values.yaml"))
    assert of_kind(docs, "HorizontalPodAutoscaler") == []
    planner = find(docs, "ScaledObject", name_of("planner"))
    (trigger,) = planner["spec"]["triggers"]
    assert trigger["type"] == "redis-streams"
    assert trigger["metadata"]["stream"] == "sb:activations" and trigger["metadata"]["consumerGroup"] == "planners"
    assert trigger["metadata"]["lagCount"] == "10"
    assert (planner["spec"]["minReplicaCount"], planner["spec"]["maxReplicaCount"]) == (2, 20)
    tools = find(docs, "ScaledObject", name_of("tools"))
    (trigger,) = tools["spec"]["triggers"]
    assert trigger["type"] == "redis" and trigger["metadata"]["listName"] == "sb.tools"
    assert trigger["metadata"]["address"] == "sb-switchboard-redis.bots.svc:6379"
    assert trigger["authenticationRef"]["name"] == name_of("redis")
    auth = find(docs, "TriggerAuthentication", name_of("redis"))
    assert auth["spec"]["secretTargetRef"] == [
        {"parameter": "password", "name": "switchboard-redis", "key": "password"}]
    for component in ("planner", "tools"):
        assert "replicas" not in find(docs, "Deployment", name_of(component))["spec"]


def test_without_keda_planner_and_tools_fall_back_to_cpu_hpas() -> None:
    docs = render({})
    assert of_kind(docs, "ScaledObject") == []
    for component in ("planner", "tools"):
        hpa = find(docs, "HorizontalPodAutoscaler", name_of(component))
        assert hpa["spec"]["scaleTargetRef"]["name"] == name_of(component)
        assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"


def test_fixed_replicas_when_autoscaling_is_off() -> None:
    docs = render({"planner": {"replicaCount": 3, "autoscaling": {"enabled": False}}})
    assert find(docs, "Deployment", name_of("planner"))["spec"]["replicas"] == 3
    assert [h["metadata"]["name"] for h in of_kind(docs, "HorizontalPodAutoscaler")] == [name_of("tools")]


def test_tools_egress_is_limited_to_dns_redis_and_the_public_internet() -> None:
    policy = find(render({}), "NetworkPolicy", name_of("tools"))
    assert policy["spec"]["policyTypes"] == ["Egress"]
    assert policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "tools"
    rules = policy["spec"]["egress"]
    redis = next(r for r in rules if {"port": 6379, "protocol": "TCP"} in r["ports"])
    assert redis["to"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "redis"
    internet = next(r for r in rules if "to" in r and "ipBlock" in r["to"][0])
    assert "169.254.0.0/16" in internet["to"][0]["ipBlock"]["except"]  # cloud metadata endpoints
    assert "10.0.0.0/8" in internet["to"][0]["ipBlock"]["except"]
    assert {p["port"] for p in internet["ports"]} == {80, 443}


def test_tools_may_send_spans_to_the_otlp_collector() -> None:
    docs = render({"tracing": {"otlpEndpoint": "http://otel-collector.observability.svc:4318"}})
    rules = find(docs, "NetworkPolicy", name_of("tools"))["spec"]["egress"]
    assert {"ports": [{"port": 4318, "protocol": "TCP"}]} in rules


def test_admin_reads_its_tokens_from_a_secret_and_helm_test_checks_its_health() -> None:
    docs = render(load_values(CHART / "ci" / "external-redis-values.yaml"))
    admin = container(find(docs, "Deployment", name_of("admin")))
    env = env_of(admin)
    tokens = env["SWITCHBOARD_ADMIN_TOKENS"]["valueFrom"]["secretKeyRef"]
    assert tokens == {"name": "switchboard-admin", "key": "tokens"}
    assert env["SWITCHBOARD_ADMIN_HOST"]["value"] == "0.0.0.0"
    assert admin["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    service = find(docs, "Service", name_of("admin"))
    assert {p["name"] for p in service["spec"]["ports"]} == {"http", "metrics"}
    ingress = find(docs, "Ingress", name_of("admin"))
    assert ingress["spec"]["rules"][0]["host"] == "switchboard-admin.example.com"
    test = find(docs, "Pod", name_of("test-admin-health"))
    assert test["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert "http://sb-switchboard-admin:8080/healthz" in pod_spec(test)["containers"][0]["command"][-1]


def test_notes_list_the_secrets_to_create() -> None:
    text = notes({"inference": {"mode": "rayCluster", "roles": {"chat": {"numGpus": 1}}}})
    for secret in ("switchboard-discord", "switchboard-redis", "switchboard-admin", "switchboard-ray"):
        assert secret in text
