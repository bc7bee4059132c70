"""The gateway's HTTP endpoints: `/metrics`, `/healthz` (the event loop answers) and `/readyz`
(every shard this process runs is connected; 503 otherwise, with each shard's state)."""

from __future__ import annotations

import json
import math

import discord
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from switchboard.core.metrics import Metrics


def shard_states(client: discord.AutoShardedClient) -> dict[str, dict[str, object]]:
    return {str(shard_id): {"connected": not shard.is_closed(),
                            "latency_s": None if math.isinf(shard.latency) else round(shard.latency, 4)}
            for shard_id, shard in client.shards.items()}


def is_ready(client: discord.AutoShardedClient) -> bool:
    states = shard_states(client)
    return client.is_ready() and not client.is_closed() and bool(states) and all(
        s["connected"] for s in states.values())


def build_app(client: discord.AutoShardedClient, metrics: Metrics) -> web.Application:
    async def metrics_body(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(_: web.Request) -> web.Response:
        return _json({"alive": True}, 200)

    async def readyz(_: web.Request) -> web.Response:
        ready = is_ready(client)
        return _json({"ready": ready, "shard_count": client.shard_count, "shards": shard_states(client)},
                     200 if ready else 503)

    app = web.Application()
    app.router.add_get("/metrics", metrics_body)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app


async def serve(app: web.Application, host: str, port: int | None) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port or 0).start()
    return runner


def _json(body: dict[str, object], status: int) -> web.Response:
    return web.Response(body=json.dumps(body), status=status, headers={"Content-Type": "application/json"})
