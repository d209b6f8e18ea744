"""HTTP helpers shared by handlers: paged responses with Link headers, ETags, Location."""

from __future__ import annotations

from typing import Any, TypeVar
from urllib.parse import urlencode

from litestar import Request, Response
from litestar.status_codes import HTTP_201_CREATED, HTTP_304_NOT_MODIFIED

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


def record(request: Request[Any, Any, Any], body: T, version: int) -> Response[T]:
    """A single record with its ETag; answers 304 when ``If-None-Match`` already has it."""
    tag = etag(version)
    # Straight from the ASGI headers: request.headers builds a multi-dict of them all.
    inm = next((v.decode("latin-1") for k, v in request.scope["headers"] if k == b"if-none-match"), None)
    if inm is not None:
        tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
        if tag in tags or "*" in tags:
            return Response(content=None, status_code=HTTP_304_NOT_MODIFIED, headers={"ETag": tag})  # type: ignore[arg-type]
    return Response(content=body, headers={"ETag": tag})


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
