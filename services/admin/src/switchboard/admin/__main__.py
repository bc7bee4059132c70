"""`python -m switchboard.admin` (or `switchboard-admin`): serve the admin API and console until SIGTERM."""

from __future__ import annotations

import uvicorn

from switchboard.admin.app import build_app
from switchboard.admin.deps import AdminDeps
from switchboard.admin.queue_metrics import QueueCollector
from switchboard.admin.settings import AdminSettings
from switchboard.core.logs import setup_logging
from switchboard.core.metrics import Metrics
from switchboard.core.tracing import setup_tracing


def main() -> None:
    settings = AdminSettings()
    setup_logging("admin", settings.log_level)
    provider = setup_tracing("switchboard-admin")
    metrics = Metrics()
    metrics.registry.register(QueueCollector(settings.redis_url))
    metrics.serve(settings.metrics_host, settings.metrics_port)
    app = build_app(AdminDeps.build(settings))
    # uvicorn handles SIGTERM: it stops accepting, lets requests in flight finish, then exits.
    uvicorn.run(app, host=settings.admin_host, port=settings.admin_port, log_level=settings.log_level.lower(),
                access_log=False, timeout_graceful_shutdown=10)
    if provider is not None:
        provider.shutdown()


if __name__ == "__main__":
    main()
