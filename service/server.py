"""Running the ASGI server.

uvicorn was chosen over granian after measuring both on this machine with the same
GET-by-id handler (see README, "ASGI server"): their throughput was within noise of each
other, and uvicorn runs in-process, so the embedded database, signals and logs stay
in one process that a newcomer can stop with Ctrl-C.
"""

from __future__ import annotations

from service.config import Settings


def run(settings: Settings) -> None:
    import uvicorn

    from service.app import create_app
    from service.logs import configure_logging

    configure_logging(settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        server_header=False,
    )
