"""The environment the chart gives each service is one its settings class reads and accepts: every
SWITCHBOARD_* variable names a real setting (pydantic-settings ignores unknown ones silently, so a typo
would otherwise go unnoticed), and the rendered values build the settings object the service boots with."""

from __future__ import annotations

import os
import re

import pytest

from switchboard.gateway.settings import GatewaySettings
from tests.deploy.chart import CI_VALUES, container, env_of, find, load_values, name_of, render
from tests.deploy.settings_classes import SETTINGS, stray_variables

VARIANTS = [{}, *(load_values(p) for p in CI_VALUES)]
VARIANT_IDS = ["defaults", *(p.stem for p in CI_VALUES)]
_REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def _resolved_env(entries: list[dict]) -> dict[str, str]:
    """The environment a container starts with: Secrets and pod fields stand-ins, $(VAR) expanded."""
    env: dict[str, str] = {}
    for entry in entries:
        if "value" in entry:
            value = _REFERENCE.sub(lambda m: env.get(m.group(1), m.group(0)), entry["value"])
        elif "secretKeyRef" in entry["valueFrom"]:
            value = '{"a-token": ["operator"]}' if entry["name"].endswith("ADMIN_TOKENS") else "s3cret"
        else:
            value = "3" if "pod-index" in entry["valueFrom"]["fieldRef"]["fieldPath"] else "pod-3"
        env[entry["name"]] = value
    return env


@pytest.mark.parametrize("values", VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("component", list(SETTINGS))
def test_every_switchboard_variable_is_a_setting(component: str, values: dict) -> None:
    docs = render(values)
    kind = "StatefulSet" if component == "gateway" and values.get("gateway", {}).get("sharding") else "Deployment"
    names = set(env_of(container(find(docs, kind, name_of(component)))))
    assert stray_variables(component, names) == set()


@pytest.mark.parametrize("values", VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("component", list(SETTINGS))
def test_the_rendered_environment_builds_the_services_settings(
        component: str, values: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = render(values)
    kind = "StatefulSet" if component == "gateway" and values.get("gateway", {}).get("sharding") else "Deployment"
    env = _resolved_env(container(find(docs, kind, name_of(component)))["env"])
    for name in [n for n in os.environ if n.startswith(("SWITCHBOARD_", "DISCORD_", "RAY_"))]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = SETTINGS[component]()
    assert settings.redis_url.endswith("/0") or settings.redis_url.startswith("rediss://")
    assert "$(" not in settings.redis_url and settings.metrics_host == "0.0.0.0"
    if component == "gateway" and kind == "StatefulSet":
        assert settings.shard_ids == (3,)


def test_the_sharded_gateway_runs_the_shard_of_its_ordinal(monkeypatch: pytest.MonkeyPatch) -> None:
    gateway = find(render({"gateway": {"sharding": {"enabled": True, "shardCount": 6}}}), "StatefulSet",
                   name_of("gateway"))
    for name, value in _resolved_env(container(gateway)["env"]).items():
        monkeypatch.setenv(name, value)
    settings = GatewaySettings()
    assert (settings.shard_count, settings.shard_ids) == (6, (3,))
