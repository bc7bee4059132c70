"""Validating custom resources against the vendored CRD JSON Schemas (fixtures/crds, source in its README)."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

CRDS = Path(__file__).parent / "fixtures" / "crds"
INDEX: dict[str, str] = json.loads((CRDS / "index.json").read_text())
# API groups whose objects must be validated here; a kind of these groups missing from INDEX is a failure.
CUSTOM_GROUPS = ("ray.io/", "keda.sh/", "monitoring.coreos.com/")


def is_custom(doc: dict[str, Any]) -> bool:
    return doc["apiVersion"].startswith(CUSTOM_GROUPS)


@functools.cache
def _validator(key: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads((CRDS / INDEX[key]).read_text()))


def crd_errors(doc: dict[str, Any]) -> list[str]:
    key = f"{doc['apiVersion']}/{doc['kind']}"
    if key not in INDEX:
        return [f"no schema for {key}"]
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in _validator(key).iter_errors(doc)]
