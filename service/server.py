"""Running the ASGI server (uvicorn), in-process, so the embedded database stops with it.

uvicorn re-raises SIGINT/SIGTERM after a graceful shutdown, which would kill the process
before ``atexit`` handlers run and leave the embedded PostgreSQL behind; the server here
shuts down gracefully and returns instead, so the caller can stop the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator

import uvicorn

from service.config import Settings


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.handle_exit, sig, None)
        try:
            yield
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)


def run(settings: Settings) -> None:
    from service.app import create_app
    from service.logs import configure_logging

    configure_logging(settings.log_level)
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        server_header=False,
    )
    asyncio.run(_Server(config).serve())
