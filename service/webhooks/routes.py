"""``/v1/webhooks`` (admin): register, list, read and delete webhooks, and read their delivery logs."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import PathParameter, QueryParameter

from service.auth.schemas import Principal
from service.db import Actor, Connection
from service.errors import InvalidInputError, NotFoundError, responses
from service.http import created, paged
from service.types import (
    DEFAULT_LIMIT,
    CursorQuery,
    LimitQuery,
    decode_cursor,
    decode_time_cursor,
    encode_cursor,
    json_body,
)
from service.webhooks import queries, service
from service.webhooks.schemas import (
    DeliveryPage,
    DeliveryStatus,
    SecretRotated,
    SecretRotation,
    Webhook,
    WebhookCreate,
    WebhookCreated,
    WebhookPage,
)

WebhookId = Annotated[uuid.UUID, PathParameter(description="Webhook id")]
ADMIN = {"scope": "admin"}


def _before_seq(cursor: str | None) -> int | None:
    decoded = decode_cursor(cursor, 1)
    if decoded is None:
        return None
    if not isinstance(decoded[0], int) or isinstance(decoded[0], bool):
        raise InvalidInputError("cursor does not fit this listing; start again without it", field="cursor")
    return decoded[0]


@post(
    "/webhooks",
    operation_id="CreateWebhook",
    tags=["webhooks"],
    summary="Register a webhook",
    opt=ADMIN,
    responses=responses(400, 401, 403, 413, 415, 422, 429, 503),
)
async def create_webhook(
    request: Request[Any, Any, Any],
    conn: NamedDependency[Connection],
    actor: NamedDependency[Actor],
    principal: NamedDependency[Principal],
    data: Annotated[
        WebhookCreate,
        json_body(
            Example(
                summary="Stage changes and new adaptations",
                value={
                    "url": "https://integration.example.nhs.uk/spread-events",
                    "events": ["adoption.stage_changed", "adaptation.created", "innovation.*"],
                },
            )
        ),
    ],
) -> Response[WebhookCreated]:
    """Register a target for signed event deliveries; the secret is in this answer only."""
    webhook = await service.create_webhook(conn, actor, principal, data, request.app.state.settings)
    return created(webhook, f"/v1/webhooks/{webhook.id}")


@get(
    "/webhooks",
    operation_id="ListWebhooks",
    tags=["webhooks"],
    summary="List webhooks",
    opt=ADMIN,
    responses=responses(401, 403, 422, 429, 503),
)
async def list_webhooks(
    request: Request[Any, Any, Any],
    conn: NamedDependency[Connection],
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Response[WebhookPage]:
    """Every webhook, oldest first (secrets are never shown again)."""
    items = await queries.list_webhooks(conn, decode_time_cursor(cursor), limit)
    next_cursor = None
    if len(items) == limit:
        next_cursor = encode_cursor([items[-1].created_at.isoformat(), str(items[-1].id)])
    return paged(request, WebhookPage(items=items, next_cursor=next_cursor), next_cursor)


@get(
    "/webhooks/{id:uuid}",
    operation_id="GetWebhook",
    tags=["webhooks"],
    summary="Get one webhook",
    opt=ADMIN,
    responses=responses(401, 403, 404, 429, 503),
)
async def get_webhook(conn: NamedDependency[Connection], id: WebhookId) -> Webhook:
    """One webhook by id (without its secret)."""
    webhook = await queries.get_webhook(conn, id)
    if webhook is None:
        raise NotFoundError(f"no webhook has id {id}")
    return webhook


@delete(
    "/webhooks/{id:uuid}",
    operation_id="DeleteWebhook",
    tags=["webhooks"],
    summary="Delete a webhook",
    opt=ADMIN,
    responses=responses(401, 403, 404, 429, 503),
)
async def delete_webhook(conn: NamedDependency[Connection], actor: NamedDependency[Actor], id: WebhookId) -> None:
    """Stop deliveries to this target and delete its delivery log."""
    await service.delete_webhook(conn, actor, id)


@post(
    "/webhooks/{id:uuid}/rotate-secret",
    operation_id="RotateWebhookSecret",
    tags=["webhooks"],
    summary="Rotate a webhook's signing secret",
    opt=ADMIN,
    status_code=200,
    responses=responses(400, 401, 403, 404, 413, 415, 422, 429, 503),
)
async def rotate_secret(
    request: Request[Any, Any, Any],
    conn: NamedDependency[Connection],
    actor: NamedDependency[Actor],
    id: WebhookId,
    data: Annotated[SecretRotation, json_body(Example(summary="A day's overlap", value={"overlapSeconds": 86400}))],
) -> SecretRotated:
    """Generate a new secret (in this answer only); the old one co-signs deliveries for the overlap."""
    return await service.rotate_secret(conn, actor, id, data, request.app.state.settings)


@get(
    "/webhooks/{id:uuid}/deliveries",
    operation_id="ListWebhookDeliveries",
    tags=["webhooks"],
    summary="A webhook's delivery log",
    opt=ADMIN,
    responses=responses(401, 403, 404, 422, 429, 503),
)
async def list_deliveries(
    request: Request[Any, Any, Any],
    conn: NamedDependency[Connection],
    id: WebhookId,
    status: Annotated[DeliveryStatus | None, QueryParameter(description="Only deliveries in this state.")] = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Response[DeliveryPage]:
    """Every event queued for this webhook, newest first: state, attempts and the last outcome."""
    if await queries.get_webhook(conn, id) is None:
        raise NotFoundError(f"no webhook has id {id}")
    items = await queries.list_deliveries(conn, id, status, _before_seq(cursor), limit)
    next_cursor = encode_cursor([int(items[-1].event_id)]) if len(items) == limit else None
    return paged(request, DeliveryPage(items=items, next_cursor=next_cursor), next_cursor)


route_handlers = [create_webhook, list_webhooks, get_webhook, delete_webhook, rotate_secret, list_deliveries]
