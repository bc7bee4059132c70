"""Rendering the Helm chart offline (Helm as a library) and finding objects in what it renders."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python
import yaml

ROOT = Path(__file__).parents[2]
CHART = ROOT / "charts" / "switchboard"
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
RELEASE, NAMESPACE = "sb", "bots"

Doc = dict[str, Any]


def load_values(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text()) or {}


def render(values: dict[str, Any] | None = None) -> list[Doc]:
    """Every object the chart renders with these values (hooks included), parsed."""
    return list(_render(json.dumps(values or {}, sort_keys=True)))


@functools.cache
def _render(values_json: str) -> tuple[Doc, ...]:
    with helm_python.Chart.load(str(CHART)) as chart:
        files = chart.render(json.loads(values_json), name=RELEASE, namespace=NAMESPACE)
    return tuple(doc for name, text in sorted(files.items()) if name.endswith(".yaml")
                 for doc in yaml.safe_load_all(text) if doc)


def notes(values: dict[str, Any] | None = None) -> str:
    with helm_python.Chart.load(str(CHART)) as chart:
        files = chart.render(values or {}, name=RELEASE, namespace=NAMESPACE)
    return next(text for name, text in files.items() if name.endswith("NOTES.txt"))


def name_of(component: str) -> str:
    return f"{RELEASE}-switchboard-{component}"


def find(docs: list[Doc], kind: str, name: str) -> Doc:
    matches = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name}, found {len(matches)}"
    return matches[0]


def of_kind(docs: list[Doc], kind: str) -> list[Doc]:
    return [d for d in docs if d["kind"] == kind]


def pod_spec(doc: Doc) -> Doc:
    """The pod spec of a workload or a bare Pod."""
    return doc["spec"] if doc["kind"] == "Pod" else doc["spec"]["template"]["spec"]


def ray_pod_specs(cluster: Doc) -> Iterator[tuple[str, Doc]]:
    """(group name, pod spec) of a RayCluster's head ("head") and worker groups."""
    yield "head", cluster["spec"]["headGroupSpec"]["template"]["spec"]
    for group in cluster["spec"].get("workerGroupSpecs", []):
        yield group["groupName"], group["template"]["spec"]


def pod_specs(docs: list[Doc]) -> Iterator[tuple[str, Doc]]:
    """(name, pod spec) of every pod the chart creates, Ray's included."""
    for doc in docs:
        if doc["kind"] in ("Deployment", "StatefulSet", "Pod"):
            yield doc["metadata"]["name"], pod_spec(doc)
        elif doc["kind"] == "RayCluster":
            for group, spec in ray_pod_specs(doc):
                yield f"{doc['metadata']['name']}/{group}", spec


def env_of(container: Doc) -> dict[str, Doc]:
    return {entry["name"]: entry for entry in container.get("env", [])}


def container(doc: Doc, index: int = 0) -> Doc:
    return pod_spec(doc)["containers"][index]
