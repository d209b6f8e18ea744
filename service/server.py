"""Running the ASGI server: granian, chosen by measurement (see README, "ASGI server").

On this 2-core machine, the same app and handler (`GET /v1/me`, one key lookup) served
~1,500 requests/s under granian against ~470 under uvicorn (uvloop and httptools installed),
measured with wrk, 16 connections, runs interleaved. granian's HTTP layer is Rust; the
Python app is the same.

granian runs the app in worker processes that build it with :func:`app_from_environment`,
so every setting travels in the environment. ``serve`` returns after a graceful shutdown
(SIGINT/SIGTERM), so the caller can stop the embedded database.
"""

from __future__ import annotations

import os

from litestar import Litestar

from service.config import Settings, load_settings

GRANIAN_LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "service.logs.JsonFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "loggers": {"_granian": {"handlers": ["stderr"], "propagate": False}},
}


def app_from_environment() -> Litestar:
    """The worker-side factory: settings from the environment, logging configured."""
    from service.app import create_app
    from service.logs import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level)
    app = create_app(settings)
    app.state.freeze_gc = True  # the lifespan freezes what the process keeps (service.db.pool_lifespan)
    return app


def run(settings: Settings) -> None:
    from granian import Granian
    from granian.constants import Interfaces
    from granian.log import LogLevels

    from service.logs import configure_logging

    configure_logging(settings.log_level)
    if settings.database_url:
        os.environ["DATABASE_URL"] = settings.database_url
    Granian(
        "service.server:app_from_environment",
        factory=True,
        interface=Interfaces.ASGI,
        address=settings.host,
        port=settings.port,
        workers=settings.workers,
        websockets=False,
        log_enabled=True,
        log_level=LogLevels(settings.log_level.lower()),
        log_dictconfig=GRANIAN_LOGGING,
        log_access=False,
        respawn_failed_workers=True,
    ).serve()
