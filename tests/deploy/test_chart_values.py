"""values.yaml is the chart's documentation: every key of ours is camelCase, carries a `# --` comment, and
is described by values.schema.json, which rejects any key it does not know (so a typo fails the install)."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import helm_python
import pytest
import yaml
from jsonschema import Draft202012Validator

from tests.deploy.chart import CHART, CI_VALUES, load_values

SCHEMA = json.loads((CHART / "values.schema.json").read_text())
VALUES = load_values(CHART / "values.yaml")
_KEY_LINE = re.compile(r"^(\s*)([A-Za-z0-9_.\-/]+):(\s|$)")


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = SCHEMA["$defs"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _closed_objects(schema: dict[str, Any], values: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Paths of values.yaml objects whose keys the schema defines (ours, not Kubernetes pass-through)."""
    schema = _resolve(schema)
    if not isinstance(values, dict) or schema.get("additionalProperties") is not False:
        return
    yield path
    for key, value in values.items():
        yield from _closed_objects(schema["properties"][key], value, (*path, key))


def _our_key_lines() -> Iterator[tuple[int, tuple[str, ...]]]:
    """(line number, key path) of each key line of values.yaml that lies in one of our objects."""
    ours = set(_closed_objects(SCHEMA, VALUES))
    stack: list[tuple[int, str]] = []
    for number, line in enumerate((CHART / "values.yaml").read_text().splitlines()):
        match = _KEY_LINE.match(line)
        if not match or line.lstrip().startswith("#"):
            continue
        indent = len(match.group(1))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        parent = tuple(key for _, key in stack)
        stack.append((indent, match.group(2)))
        if parent in ours:
            yield number, (*parent, match.group(2))


def test_values_validate_against_the_schema() -> None:
    for values in [VALUES, *(load_values(p) for p in CI_VALUES)]:
        errors = [e.message for e in Draft202012Validator(SCHEMA).iter_errors(values)]
        assert errors == []


def test_every_key_of_ours_is_documented() -> None:
    lines = (CHART / "values.yaml").read_text().splitlines()
    undocumented = []
    for number, path in _our_key_lines():
        comments = []
        above = number - 1
        while above >= 0 and lines[above].lstrip().startswith("#"):
            comments.append(lines[above].strip())
            above -= 1
        # An object may be documented by its first key instead (helm-docs style).
        if not any(c.startswith("# --") for c in comments) and not isinstance(_get(VALUES, path), dict):
            undocumented.append(".".join(path))
    assert undocumented == []


def test_keys_of_ours_are_camel_case() -> None:
    camel = re.compile(r"^[a-z][a-zA-Z0-9]*$")
    assert [".".join(p) for _, p in _our_key_lines() if not camel.match(p[-1])] == []


@pytest.mark.parametrize("path", sorted(_closed_objects(SCHEMA, VALUES)), ids=lambda p: ".".join(p) or "<root>")
def test_the_schema_rejects_an_unknown_key(path: tuple[str, ...]) -> None:
    values = copy.deepcopy(VALUES)
    _get(values, path)["replicas" if "replicaCount" in _get(values, path) else "unknownSetting"] = 1
    assert list(Draft202012Validator(SCHEMA).iter_errors(values)), ".".join(path)


def test_helm_enforces_the_schema() -> None:
    with helm_python.Chart.load(str(CHART)) as chart, pytest.raises(helm_python.HelmError) as caught:
        chart.render({"inference": {"rayCluster": {"worker": {"gpuPerWorker": 2}}}}, name="sb", namespace="bots")
    assert "gpuPerWorker" in str(caught.value)


def test_ci_variants_are_plain_values_files() -> None:
    for path in CI_VALUES:
        assert isinstance(yaml.safe_load(path.read_text()), dict), path.name


def _get(values: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        values = values[key]
    return values
