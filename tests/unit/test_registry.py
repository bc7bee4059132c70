"""Callsystem registry: loading, validation, and `@latest` resolution."""

from __future__ import annotations

from datetime import date

import pytest

from switchboard.core.errors import PluginLoadError, UnknownCallsystem
from switchboard.core.plugins import Callsystem, CallsystemRegistry


def plugin(version: str, released: date, package_id: str = "cs.test.echo") -> type[Callsystem]:
    async def activate(self, ctx):
        return ctx.reply("ok")

    return type(f"Echo_{version.replace('.', '_')}", (Callsystem,), {
        "package_id": package_id, "version": version, "release_date": released, "activate": activate})


def test_shipped_package_loads_legacy() -> None:
    registry = CallsystemRegistry()
    registry.load_package("switchboard.planner.callsystems")
    assert "cs.switchboard.legacy@1.1.0" in registry.keys()
    assert registry.resolve("cs.switchboard.legacy@latest").version == "1.1.0"


def test_latest_is_the_newest_release() -> None:
    registry = CallsystemRegistry()
    for version, released in [("1.0.0", date(2026, 1, 1)), ("1.2.0", date(2026, 6, 1)), ("1.1.0", date(2026, 3, 1))]:
        registry.register(plugin(version, released))
    assert registry.resolve("cs.test.echo@latest").version == "1.2.0"
    assert registry.resolve("cs.test.echo").version == "1.2.0"
    assert registry.resolve("cs.test.echo@1.1.0").version == "1.1.0"


def test_unknown_selector_names_what_exists() -> None:
    registry = CallsystemRegistry()
    registry.register(plugin("1.0.0", date(2026, 1, 1)))
    with pytest.raises(UnknownCallsystem, match=r"cs\.test\.echo@1\.0\.0"):
        registry.resolve("cs.test.echo@2.0.0")
    with pytest.raises(UnknownCallsystem):
        registry.resolve("cs.test.other")


def test_duplicate_key_is_refused_naming_the_plugin() -> None:
    registry = CallsystemRegistry()
    registry.register(plugin("1.0.0", date(2026, 1, 1)))
    with pytest.raises(PluginLoadError, match=r"cs\.test\.echo@1\.0\.0.*duplicate"):
        registry.register(plugin("1.0.0", date(2026, 2, 1)))


@pytest.mark.parametrize(("attrs", "problem"), [
    ({"package_id": "legacy"}, "package_id"),
    ({"version": "1"}, "semver"),
    ({"release_date": "2026-01-01"}, "release_date"),
    ({"capabilities": frozenset({"telepathy"})}, "telepathy"),
])
def test_invalid_plugins_are_refused(attrs: dict, problem: str) -> None:
    cls = type("Bad", (plugin("1.0.0", date(2026, 1, 1)),), attrs)
    with pytest.raises(PluginLoadError, match=problem):
        CallsystemRegistry().register(cls)


def test_plugin_without_async_activate_is_refused() -> None:
    cls = type("Sync", (Callsystem,), {"package_id": "cs.test.sync", "version": "1.0.0",
                                       "release_date": date(2026, 1, 1), "activate": lambda self, ctx: None})
    with pytest.raises(PluginLoadError, match="async"):
        CallsystemRegistry().register(cls)
