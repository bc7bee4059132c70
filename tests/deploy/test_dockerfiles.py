"""One image per service, each multi-stage, non-root, from pinned base images and pinned packages, running
its own module; the chart's default image names are these images."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.deploy.chart import ROOT, render

DOCKER = ROOT / "deploy" / "docker"
IMAGES = {"gateway", "planner", "tools", "inference", "inference-gpu", "admin", "emulator"}
CONSTRAINTS = DOCKER / "constraints.txt"


def _instructions(path: Path) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", path.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_there_is_a_dockerfile_per_image() -> None:
    assert {p.name.removesuffix(".Dockerfile") for p in DOCKER.glob("*.Dockerfile")} == IMAGES


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_image_is_multi_stage_non_root_and_pinned(image: str) -> None:
    steps = _instructions(DOCKER / f"{image}.Dockerfile")
    args = dict(arg.split("=", 1) for op, arg in steps if op == "ARG" and "=" in arg)
    bases = [args.get(base.split()[0].strip("${}"), base.split()[0]) for op, base in steps if op == "FROM"]
    assert len(bases) >= 2, "multi-stage"
    for base in bases:
        if ":" in base:  # a registry image, not a stage name
            assert re.search(r":v?\d+\.\d+\.\d+", base), f"unpinned base image {base}"
    assert [arg for op, arg in steps if op == "USER"][-1] == "10001:10001"
    module = "inference" if image.startswith("inference") else image
    assert f'"switchboard.{module}"' in [arg for op, arg in steps if op == "CMD"][-1]
    for op, arg in steps:
        if op == "COPY" and not arg.startswith("--from"):
            assert (ROOT / arg.split()[0]).exists(), arg
        if op == "RUN" and "pip install" in arg and "./" in arg:
            assert "--constraint constraints.txt" in arg, arg


def test_every_constraint_is_an_exact_pin() -> None:
    lines = [line for line in CONSTRAINTS.read_text().splitlines() if line and not line.startswith("#")]
    assert lines and all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[^=\s]+", line) for line in lines)


def test_constraints_agree_with_the_services_pins() -> None:
    pins = dict(line.lower().replace("_", "-").split("==") for line in CONSTRAINTS.read_text().splitlines()
                if "==" in line)
    for pyproject in [*ROOT.glob("services/*/pyproject.toml"), ROOT / "shared" / "pyproject.toml"]:
        for name, version in re.findall(r'"([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^"]+)"', pyproject.read_text()):
            assert pins.get(name.lower().replace("_", "-")) == version, f"{pyproject}: {name}"


def test_the_charts_default_images_are_these_images() -> None:
    values = {"inference": {"mode": "rayCluster", "rayCluster": {"additionalWorkerGroups": {
        "cpu": {"enabled": True, "gpusPerWorker": 0, "replicas": 1, "minReplicas": 1, "maxReplicas": 2}}}}}
    images = set()
    for doc in render(values):
        spec = doc["spec"].get("template", {}).get("spec") if doc["kind"] in ("Deployment", "StatefulSet") else None
        if doc["kind"] == "RayCluster":
            images |= {g["template"]["spec"]["containers"][0]["image"] for g in doc["spec"]["workerGroupSpecs"]}
            images.add(doc["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["image"])
        elif spec:
            images |= {c["image"] for c in spec["containers"]}
    ours = {i.split(":")[0].removeprefix("switchboard-") for i in images if i.startswith("switchboard-")}
    assert ours == IMAGES - {"emulator"}
