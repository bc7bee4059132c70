"""The admin FastAPI app: `/api/*` behind the operator check, health endpoints, and the console's page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from redis.exceptions import RedisError

from switchboard.admin.auth import TokenBook, operator
from switchboard.admin.deps import AdminDeps
from switchboard.admin.routes import activations, configuration, dead_letters, feed, guilds, personas, system

CONSOLE = Path(__file__).parent / "console"


def build_app(deps: AdminDeps) -> FastAPI:
    """The app for `deps`; raises `ValueError` when the token setting is malformed."""
    tokens = TokenBook.from_secret(deps.settings.admin_tokens)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await deps.close()

    app = FastAPI(title="Switchboard admin", version="1.0.0", lifespan=lifespan,
                  description="Activations, replays, dead letters, configuration, queues and lanes. Every `/api` "
                              "route needs `Authorization: Bearer <token>` with the operator role.")
    app.state.deps = deps
    app.state.tokens = tokens
    api = APIRouter(prefix="/api", dependencies=[Depends(operator)])
    for module in (activations, dead_letters, configuration, personas, guilds, system, feed):
        api.include_router(module.router)
    app.include_router(api)
    app.add_api_route("/healthz", healthz, methods=["GET"], tags=["health"], summary="The process answers")
    app.add_api_route("/readyz", readyz, methods=["GET"], tags=["health"], summary="Redis answers too",
                      responses={503: {"description": "Redis does not answer"}})
    app.add_api_route("/", lambda: RedirectResponse("/console/"), methods=["GET"], include_in_schema=False)
    app.add_api_route("/console/", lambda: FileResponse(CONSOLE / "index.html"), methods=["GET"],
                      include_in_schema=False)
    app.mount("/console", StaticFiles(directory=CONSOLE), name="console")
    return app


async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def readyz(request: Request) -> JSONResponse:
    try:
        await request.app.state.deps.client.ping()
    except (RedisError, OSError) as exc:
        return JSONResponse({"status": "redis unreachable", "error": type(exc).__name__}, status_code=503)
    return JSONResponse({"status": "ok"})
