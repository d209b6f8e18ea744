"""``/health/live`` (the process is up) and ``/health/ready`` (database reachable, schema at head)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get

from service.db import acquire
from service.errors import ServiceUnavailableError, responses
from service.migrate import head_revision, revision_on
from service.types import ReadBase


class Health(ReadBase, frozen=True, omit_defaults=True):
    status: str
    database: str | None = None
    schema_revision: str | None = None
    expected_revision: str | None = None


@get("/health/live", operation_id="GetLiveness", tags=["health"], summary="The process is up")
async def live() -> Health:
    """Answers 200 while the process can serve requests; checks nothing else."""
    return Health(status="ok")


@get(
    "/health/ready",
    operation_id="GetReadiness",
    tags=["health"],
    summary="The database is reachable and migrated",
    responses=responses(503),
)
async def ready(request: Request[Any, Any, Any]) -> Health:
    """200 when the database answers and its schema is at the head migration; 503 otherwise."""
    app = request.app
    settings = app.state.settings
    expected = head_revision()
    try:
        async with acquire(app.state.pool, settings.pool_acquire_timeout) as conn:
            current = await revision_on(conn)
    except ServiceUnavailableError:
        raise
    except Exception:  # noqa: BLE001 - any database failure means not ready
        raise ServiceUnavailableError("The database is not reachable.", headers={"Retry-After": "5"}) from None
    if current != expected:
        raise ServiceUnavailableError(
            f"The database schema is at {current or 'nothing'}, the service needs {expected}. Run `spread migrate`.",
            headers={"Retry-After": "30"},
        )
    return Health(status="ok", database="ok", schema_revision=current, expected_revision=expected)
