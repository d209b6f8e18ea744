"""HTTP helpers shared by handlers: paged responses with Link headers, ETags, Location."""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

import msgspec
from litestar import Request, Response
from litestar.exceptions import ValidationException
from litestar.status_codes import HTTP_201_CREATED, HTTP_304_NOT_MODIFIED

from service.errors import NotAcceptableError
from service.types import etag

T = TypeVar("T")


def next_link(request: Request[Any, Any, Any], cursor: str) -> str:
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
    params.append(("cursor", cursor))
    return f'<{request.url.path}?{urlencode(params)}>; rel="next"'


def paged(request: Request[Any, Any, Any], page: T, next_cursor: str | None) -> Response[T]:
    """A collection page; adds ``Link: <...>; rel="next"`` when there is a next page."""
    headers = {"Link": next_link(request, next_cursor)} if next_cursor else {}
    return Response(content=page, headers=headers)


def none_match(request: Request[Any, Any, Any], tag: str) -> bool:
    """Whether ``If-None-Match`` already has ``tag`` (weak comparison, RFC 9110 13.1.2)."""
    # Straight from the ASGI headers: request.headers builds a multi-dict of them all.
    inm = next((v.decode("latin-1") for k, v in request.scope["headers"] if k == b"if-none-match"), None)
    if inm is None:
        return False
    tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
    return tag in tags or "*" in tags


def not_modified(tag: str) -> Response[Any]:
    """304 with the ETag the client already has."""
    return Response(content=None, status_code=HTTP_304_NOT_MODIFIED, headers={"ETag": tag})


def record(request: Request[Any, Any, Any], body: T, version: int) -> Response[T]:
    """A single record with its ETag; answers 304 when ``If-None-Match`` already has it."""
    tag = etag(version)
    if none_match(request, tag):
        return not_modified(tag)
    return Response(content=body, headers={"ETag": tag})


def negotiate(request: Request[Any, Any, Any], offers: Sequence[str], chosen: str | None = None) -> str:
    """The media type to answer in: ``chosen`` (from a ``format`` parameter) when given, else
    the best of ``offers`` for the ``Accept`` header (the first offer when there is none).

    ``offers`` lists the operation's media types, its default first (e.g. ``application/json``,
    ``text/csv``; a FHIR view adds ``application/fhir+json``). No acceptable offer: 406.
    """
    if chosen is not None:
        return chosen
    accept = next((v.decode("latin-1") for k, v in request.scope["headers"] if k == b"accept"), None)
    if accept is None or not accept.strip():
        return offers[0]
    best = request.accept.best_match(list(offers))
    if best is None:
        raise NotAcceptableError(
            f"This operation answers in {', '.join(offers)}; the Accept header ({accept[:200]}) allows none of them."
        )
    return best


def tagged(body: T, version: int) -> Response[T]:
    """A record just written, with its new ETag (a write answers 200 with no If-None-Match check)."""
    return Response(content=body, headers={"ETag": etag(version)})


def created(body: T, location: str, version: int | None = None) -> Response[T]:
    """201 with ``Location`` (and ETag when the record is versioned)."""
    headers = {"Location": location}
    if version is not None:
        headers["ETag"] = etag(version)
    return Response(content=body, status_code=HTTP_201_CREATED, headers=headers)


def also_answers(*alternatives: tuple[str, str, str]) -> type[Any]:
    """An ``operation_class`` declaring extra media types for the 200 answer.

    Each alternative is ``(media type, OpenAPI type, description)``, e.g.
    ``("text/plain", "string", "A Mermaid flowchart (format=mermaid)")``.
    """
    from dataclasses import dataclass

    from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, Schema

    @dataclass
    class _AlsoAnswers(Operation):
        def __post_init__(self) -> None:
            ok = (self.responses or {}).get("200")
            content = getattr(ok, "content", None)
            if content is None:
                return
            for media, kind, description in alternatives:
                content[media] = OpenAPIMediaType(schema=Schema(type=OpenAPIType(kind), description=description))

    return _AlsoAnswers


def options_handlers(handlers: list[Any]) -> list[Any]:
    """One ``OPTIONS`` handler per path, answering 204 with every method the path serves.

    Litestar makes its own OPTIONS handler when a path's first handler is registered and keeps
    it when more are merged in, so its ``Allow`` names only the first handler's methods. Ours
    are registered first, so Litestar makes none.
    """
    from litestar import route
    from litestar.enums import HttpMethod

    allow: dict[str, set[str]] = {}
    for handler in handlers:
        for path in handler.paths:
            allow.setdefault(path, {"OPTIONS"}).update(handler.http_methods)

    def make(path: str, methods: str) -> Any:
        @route(path, http_method=[HttpMethod.OPTIONS], include_in_schema=False, sync_to_thread=False)
        def options() -> Response[None]:
            return Response(content=None, status_code=204, headers={"Allow": methods})

        return options

    return [make(path, ", ".join(sorted(methods))) for path, methods in allow.items()]


class StrictRequest(Request[Any, Any, Any]):
    """A request whose JSON body is checked strictly against the handler's body type.

    Litestar converts bodies leniently (``0`` becomes ``false``, ``"5"`` becomes ``5``), as it
    must for query strings; a JSON body has real types, so it is converted once more, strictly,
    against the body's Struct, and a mismatch is the same 422 naming the field.
    """

    async def json(self) -> Any:
        value = await super().json()
        target = _body_type(self.route_handler)
        if target is not None:
            try:
                msgspec.convert(_integral(value), target, strict=True)
            except msgspec.ValidationError as exc:
                raise ValidationException(
                    detail=f"Validation failed for {self.method} {self.url.path}",
                    extra=[{"message": str(exc), "key": "body", "source": "body"}],
                ) from None
        return value


def _integral(value: Any) -> Any:
    """JSON Schema counts ``2.0`` as an integer; msgspec's strict mode does not: agree with the spec."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, list):
        return [_integral(v) for v in value]
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    return value


_BODY_TYPES: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _body_type(handler: Any) -> Any:
    """The handler's JSON body type, or None when there is none msgspec can check."""
    if handler not in _BODY_TYPES:
        data = handler.parsed_fn_signature.parameters.get("data")
        target = None
        if data is not None:
            try:
                msgspec.json.Decoder(data.annotation)  # raises for types msgspec cannot decode
                target = data.annotation
            except (TypeError, ValueError):
                target = None
        _BODY_TYPES[handler] = target
    return _BODY_TYPES[handler]
