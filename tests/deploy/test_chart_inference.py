"""Inference values land where they act: GPUs per worker on the pod's limit and on `ray start`, worker
groups sized and placed as asked, the model roles' sizing in the bridge's settings, and a chart that
refuses to render a cluster the roles could never start on."""

from __future__ import annotations

import json

import helm_python
import pytest

from tests.deploy.chart import CHART, container, env_of, find, load_values, name_of, ray_pod_specs, render

GPU = load_values(CHART / "ci" / "gpu-values.yaml")


def _cluster(values: dict) -> dict:
    return find(render(values), "RayCluster", name_of("ray"))


def _groups(values: dict) -> dict[str, dict]:
    return {g["groupName"]: g for g in _cluster(values)["spec"]["workerGroupSpecs"]}


def _bridge_env(values: dict) -> dict[str, dict]:
    return env_of(container(find(render(values), "Deployment", name_of("inference"))))


@pytest.mark.parametrize("gpus", [1, 2, 4])
def test_gpus_per_worker_set_both_the_limit_and_ray_num_gpus(gpus: int) -> None:
    values = {"inference": {"mode": "rayCluster", "rayCluster": {"worker": {"gpusPerWorker": gpus}}}}
    group = _groups(values)["gpu"]
    worker = group["template"]["spec"]["containers"][0]
    assert worker["resources"]["limits"]["nvidia.com/gpu"] == gpus
    assert group["rayStartParams"]["num-gpus"] == str(gpus)
    assert worker["image"] == "switchboard-inference-gpu:0.1.0"


def test_ray_start_params_cannot_contradict_the_gpu_count() -> None:
    values = {"inference": {"mode": "rayCluster", "rayCluster": {"worker": {
        "gpusPerWorker": 2, "rayStartParams": {"num-gpus": "8", "object-store-memory": "1000000000"}}}}}
    group = _groups(values)["gpu"]
    assert group["rayStartParams"]["num-gpus"] == "2"
    assert group["rayStartParams"]["object-store-memory"] == "1000000000"


def test_worker_groups_are_sized_and_placed_as_the_values_say() -> None:
    groups = _groups(GPU)
    assert set(groups) == {"l4", "imagegen"}
    l4, imagegen = groups["l4"], groups["imagegen"]
    assert (l4["replicas"], l4["minReplicas"], l4["maxReplicas"]) == (3, 3, 8)
    assert (imagegen["replicas"], imagegen["minReplicas"], imagegen["maxReplicas"]) == (1, 1, 2)
    assert imagegen["rayStartParams"]["num-gpus"] == "2"
    pod = imagegen["template"]["spec"]
    assert pod["containers"][0]["resources"]["limits"] == {"memory": "64Gi", "nvidia.com/gpu": 2}
    assert pod["nodeSelector"] == {"cloud.google.com/gke-accelerator": "nvidia-tesla-a100"}
    assert pod["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert pod["runtimeClassName"] == "nvidia"
    assert "nodeAffinity" in pod["affinity"]
    assert l4["template"]["spec"]["nodeSelector"] == {"cloud.google.com/gke-accelerator": "nvidia-l4"}


def test_a_disabled_additional_group_is_left_out() -> None:
    values = {"inference": {"mode": "rayCluster", "rayCluster": {"additionalWorkerGroups": {
        "spare": {"enabled": False, "gpusPerWorker": 1}}}}}
    assert set(_groups(values)) == {"gpu"}


def test_the_ray_autoscaler_and_head_are_configured() -> None:
    spec = _cluster(GPU)["spec"]
    assert spec["enableInTreeAutoscaling"] is True
    assert spec["autoscalerOptions"]["idleTimeoutSeconds"] == 300
    assert spec["rayVersion"] == "2.60.0"
    # The head runs no replica: every model lands on a worker group.
    assert spec["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"
    assert spec["authOptions"] == {"mode": "token", "secretName": "switchboard-ray"}


def test_every_ray_pod_exports_metrics_and_mounts_the_models() -> None:
    for group, spec in ray_pod_specs(_cluster(GPU)):
        ray = spec["containers"][0]
        assert {"name": "metrics", "containerPort": 8080} in ray["ports"], group
        assert {"name": "models", "mountPath": "/models", "readOnly": True} in ray["volumeMounts"], group
        assert {"name": "models", "persistentVolumeClaim": {"claimName": "switchboard-models"}} in spec["volumes"]


def test_role_sizing_reaches_the_bridge_settings() -> None:
    env = _bridge_env(GPU)
    assert env["SWITCHBOARD_CHAT_NUM_GPUS"]["value"] == "1"
    assert env["SWITCHBOARD_CHAT_NUM_CPUS"]["value"] == "2"
    assert env["SWITCHBOARD_CHAT_MEMORY_BYTES"]["value"] == "17179869184"
    assert env["SWITCHBOARD_CHAT_MAX_ONGOING_REQUESTS"]["value"] == "1"
    assert json.loads(env["SWITCHBOARD_CHAT_AUTOSCALING"]["value"]) == {
        "min_replicas": 2, "max_replicas": 6, "target_ongoing_requests": 1}
    assert env["SWITCHBOARD_EMBED_NUM_GPUS"]["value"] == "0.25"
    assert env["SWITCHBOARD_IMAGE_BACKEND"]["value"] == "diffusers"
    assert env["SWITCHBOARD_IMAGE_MODEL_PATH"]["value"] == "/models/sdxl"
    assert "SWITCHBOARD_IMAGE_AUTOSCALING" not in env


def test_the_bridge_joins_the_cluster_as_a_node_without_resources() -> None:
    bridge = container(find(render(GPU), "Deployment", name_of("inference")))
    shell = bridge["command"][-1]
    assert "ray start --address=sb-switchboard-ray-head-svc.bots.svc:6379 --num-cpus=0 --num-gpus=0" in shell
    assert shell.endswith("exec python -m switchboard.inference")
    env = env_of(bridge)
    assert env["RAY_ADDRESS"]["value"] == "auto"
    assert env["RAY_AUTH_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "switchboard-ray", "key": "auth_token"}


def test_local_mode_starts_ray_in_the_bridge_with_its_gpus() -> None:
    values = {"inference": {"local": {"gpus": 1, "rayNumCpus": 4}, "runtimeClassName": "nvidia",
                            "roles": {"chat": {"numGpus": 1}}}}
    docs = render(values)
    assert not [d for d in docs if d["kind"] == "RayCluster"]
    bridge = find(docs, "Deployment", name_of("inference"))
    assert bridge["spec"]["template"]["spec"]["runtimeClassName"] == "nvidia"
    assert container(bridge)["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert container(bridge)["command"] == ["python", "-m", "switchboard.inference"]
    assert env_of(container(bridge))["SWITCHBOARD_RAY_NUM_CPUS"]["value"] == "4"


def _render_error(values: dict) -> str:
    with helm_python.Chart.load(str(CHART)) as chart, pytest.raises(helm_python.HelmError) as caught:
        chart.render(values, name="sb", namespace="bots")
    return str(caught.value)


def test_roles_needing_more_gpus_than_the_groups_keep_fail_to_render() -> None:
    values = {"inference": {"mode": "rayCluster",
                            "roles": {"chat": {"numGpus": 1, "numReplicas": 3}},
                            "rayCluster": {"worker": {"gpusPerWorker": 1, "minReplicas": 2}}}}
    assert "start with 3 GPUs but the Ray worker groups keep only 2" in _render_error(values)


def test_gpu_roles_in_local_mode_need_the_pod_to_hold_gpus() -> None:
    assert "inference.local.gpus is 0" in _render_error({"inference": {"roles": {"chat": {"numGpus": 1}}}})


def test_two_bridges_on_one_ray_cluster_fail_to_render() -> None:
    values = {"inference": {"mode": "rayCluster", "replicaCount": 2}}
    assert "inference.replicaCount must be 1" in _render_error(values)


def test_hosted_providers_get_their_keys_from_secrets_by_the_variable_they_name() -> None:
    env = _bridge_env(GPU)
    providers = json.loads(env["SWITCHBOARD_PROVIDERS"]["value"])
    assert providers == {"anthropic": {"kind": "anthropic", "capacity": 8, "timeout_s": 60,
                                       "api_key_env": "PROVIDER_ANTHROPIC_API_KEY"}}
    key = env[providers["anthropic"]["api_key_env"]]
    assert key["valueFrom"]["secretKeyRef"] == {"name": "switchboard-providers", "key": "anthropic"}
    assert json.loads(env["SWITCHBOARD_MODELS"]["value"]) == [{
        "name": "claude", "provider": "anthropic", "model": "claude-sonnet-4",
        "capabilities": ["stream", "tools", "vision_input"], "context_tokens": 200000}]
    assert json.loads(env["SWITCHBOARD_MODEL_ALIASES"]["value"]) == {"vision": "claude"}
