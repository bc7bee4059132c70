"""Pure placement checks: can a role's replicas ever be scheduled?

Ray leaves an actor that asks for a resource no node has (e.g. ``num_gpus=1``
on a CPU-only cluster) pending forever, silently. These checks turn that into
an immediate ``PlacementError``. They compare against the cluster's *total*
resources, not what is free right now: busy resources free up, missing ones
never appear (autoscaling clusters that add GPU nodes on demand are out of scope).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from switchboard.inference.deployments.config import RoleConfig
from switchboard.inference.deployments.errors import PlacementError

Resources = Mapping[str, float]


def replica_resources(config: RoleConfig) -> dict[str, float]:
    """The Ray resources one replica of a role asks for (zero amounts left out)."""
    wanted = {"CPU": config.num_cpus, "GPU": config.num_gpus, "memory": config.memory_bytes or 0}
    return {name: float(amount) for name, amount in wanted.items() if amount}


def ray_actor_options(config: RoleConfig) -> dict[str, float]:
    """``ray_actor_options`` for a replica of a role, mirroring ``replica_resources``."""
    options: dict[str, float] = {"num_cpus": config.num_cpus, "num_gpus": config.num_gpus}
    if config.memory_bytes:
        options["memory"] = config.memory_bytes
    return options


def serve_options(config: RoleConfig) -> dict[str, Any]:
    """The Serve deployment options of a role: its replicas (a count or an autoscaling range), how many
    requests a replica takes at once, and what each replica reserves."""
    options: dict[str, Any] = {"max_ongoing_requests": config.max_ongoing_requests,
                               "ray_actor_options": ray_actor_options(config)}
    if config.autoscaling is None:
        options["num_replicas"] = config.num_replicas
    else:
        scaling = config.autoscaling
        options["num_replicas"] = "auto"
        options["autoscaling_config"] = {
            "min_replicas": scaling.min_replicas, "max_replicas": scaling.max_replicas,
            "initial_replicas": max(1, scaling.min_replicas),
            "target_ongoing_requests": scaling.target_ongoing_requests}
    return options


def check_placement(role: str, per_replica: Resources, num_replicas: int, nodes: Iterable[Resources]) -> None:
    """Raise ``PlacementError`` if ``num_replicas`` replicas can never all be placed.

    ``nodes`` are the total resources of each alive node. A replica needs each
    resource on a single node, so it must fit the largest node; all replicas
    together must fit the cluster's total.
    """
    nodes = list(nodes)
    for resource, amount in per_replica.items():
        largest = max((node.get(resource, 0.0) for node in nodes), default=0.0)
        total = sum(node.get(resource, 0.0) for node in nodes)
        if total < amount:
            raise PlacementError(role, resource, amount, total)
        if largest < amount:
            raise PlacementError(role, resource, amount, largest, where="the largest Ray node")
        if total < amount * num_replicas:
            raise PlacementError(role, resource, amount * num_replicas, total)


def check_roles_together(roles: Mapping[str, RoleConfig], nodes: Iterable[Resources]) -> None:
    """Raise ``PlacementError`` if the roles' replicas, each of which fits alone, cannot all fit together.

    Checks cluster totals only (like the last check of ``check_placement``); the error names every role.
    """
    nodes = list(nodes)
    wanted: dict[str, float] = {}
    for config in roles.values():
        for resource, amount in replica_resources(config).items():
            wanted[resource] = wanted.get(resource, 0.0) + amount * config.replicas_at_start
    for resource, amount in wanted.items():
        total = sum(node.get(resource, 0.0) for node in nodes)
        if total < amount:
            raise PlacementError(" and ".join(roles), resource, amount, total)
