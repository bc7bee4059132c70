"""The values examples in docs/deploy.md are ones the chart accepts and renders."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.deploy.chart import ROOT, find, name_of, render

DOC = ROOT / "docs" / "deploy.md"
EXAMPLES = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.DOTALL)


def test_the_guide_has_values_examples() -> None:
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.splitlines()[0][:40])
def test_values_example_renders(example: str) -> None:
    docs = render(yaml.safe_load(example))
    assert find(docs, "Deployment", name_of("planner"))
