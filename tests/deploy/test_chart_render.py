"""Every ci/ variant of the chart renders, lints clean, and every object is valid for its API: core objects
against Kubernetes' own schemas (strict: an unknown field fails), custom resources against their CRDs."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import helm_python
import kubernetes_validate
import pytest

from tests.deploy.chart import CHART, CI_VALUES, load_values, render
from tests.deploy.crds import crd_errors, is_custom

# The oldest release the chart supports (the StatefulSet pod-index label) and a current one.
KUBERNETES_VERSIONS = ("1.28.0", "1.37.0")
VARIANTS = [None, *CI_VALUES]


def _id(path: Path | None) -> str:
    return "defaults" if path is None else path.name.removesuffix("-values.yaml")


@pytest.fixture(params=VARIANTS, ids=_id)
def variant(request: pytest.FixtureRequest) -> dict:
    return {} if request.param is None else load_values(request.param)


def test_the_ci_variants_the_chart_promises_exist() -> None:
    assert {_id(p) for p in CI_VALUES} >= {"cpu-only", "gpu", "external-redis", "keda", "sharded"}


@pytest.mark.parametrize("values_file", VARIANTS, ids=_id)
def test_chart_lints_without_warnings(values_file: Path | None) -> None:
    values = {} if values_file is None else load_values(values_file)
    report = helm_python.lint(str(CHART), values, strict=True, kube_version="v1.28.0")
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert report["errors"] == [] and problems == []


def test_core_objects_are_valid_kubernetes(variant: dict) -> None:
    for doc in render(variant):
        if is_custom(doc):
            continue
        for version in KUBERNETES_VERSIONS:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                pytest.fail(f"{doc['kind']} {doc['metadata']['name']} (Kubernetes {version}): {exc.message} "
                            f"at {'/'.join(map(str, exc.path))}")


def test_custom_resources_match_their_crds(variant: dict) -> None:
    for doc in render(variant):
        if is_custom(doc):
            assert crd_errors(doc) == [], f"{doc['kind']} {doc['metadata']['name']}"


def test_object_names_are_unique(variant: dict) -> None:
    counts = Counter((d["kind"], d["metadata"]["name"]) for d in render(variant))
    assert [key for key, n in counts.items() if n > 1] == []


def test_every_object_carries_the_recommended_labels(variant: dict) -> None:
    for doc in render(variant):
        labels = doc["metadata"].get("labels", {})
        for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component",
                    "app.kubernetes.io/version", "app.kubernetes.io/managed-by", "helm.sh/chart"):
            assert key in labels, f"{doc['kind']} {doc['metadata']['name']} lacks {key}"
