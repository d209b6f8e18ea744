"""The API reference pages, ``/schema`` (Scalar) and ``/schema/swagger`` (Swagger UI), served
whole from this package: pinned copies of their JavaScript and CSS under ``/schema/static/``
(see ``docs/README.md`` for the versions and how to update them), no CDN. People paste keys
into these pages on the API's own origin, so each page carries a strict
Content-Security-Policy: scripts from this origin only, requests to this origin only.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from litestar import Request, Response, Router
from litestar.datastructures import CacheControlHeader, ResponseHeader
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.static_files import create_static_files_router

DOCS = Path(__file__).parent / "docs"
STATIC = "/static"  # under the OpenAPI path: /schema/static/...

# Scripts and connections: this origin only. Styles allow inline: both bundles inject their
# CSS with <style> elements at run time (Scalar all of it). Images and fonts may be data: URLs.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# The same in the page itself (a <meta> policy cannot carry frame-ancestors).
_META_POLICY = CONTENT_SECURITY_POLICY.removesuffix("; frame-ancestors 'none'")


def _page(title: str, head: str, body: str) -> bytes:
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_META_POLICY}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
{head}
</head>
<body>
<noscript>This page needs JavaScript. The OpenAPI document itself is at openapi.json.</noscript>
{body}
</body>
</html>
""".encode()


class _PinnedPage(OpenAPIRenderPlugin):
    def receive_router(self, router: Router) -> None:
        """Serve the pinned files once per router, and the policy on every page it serves."""
        header = ResponseHeader(name="Content-Security-Policy", value=CONTENT_SECURITY_POLICY)
        present = list(router.response_headers or [])
        if header in present:  # the other page registered them
            return
        router.response_headers = [*present, header]
        files = create_static_files_router(
            path=STATIC,
            directories=[DOCS],
            name="docs-static",
            include_in_schema=False,
            cache_control=CacheControlHeader(max_age=86_400),
        )
        router.register(files)

    @staticmethod
    def asset(request: Request[Any, Any, Any], name: str) -> str:
        return html.escape(request.app.route_reverse("docs-static", file_path=f"/{name}"))


class ScalarPage(_PinnedPage):
    """Scalar's API reference from the pinned standalone bundle."""

    def __init__(self, *, path: str = "/") -> None:
        super().__init__(path=path)

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        spec = html.escape(self.get_openapi_json_route(request))
        return _page(
            openapi_schema["info"]["title"],
            "",
            f'<div id="app" data-url="{spec}"></div>\n'
            f'<script src="{self.asset(request, "scalar/standalone.js")}"></script>\n'
            f'<script src="{self.asset(request, "scalar-init.js")}"></script>',
        )


class SwaggerPage(_PinnedPage):
    """Swagger UI 5 (it reads OpenAPI 3.1) from the pinned bundle."""

    def __init__(self, *, path: str = "/swagger") -> None:
        super().__init__(path=path)

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        spec = html.escape(self.get_openapi_json_route(request))
        return _page(
            openapi_schema["info"]["title"],
            f'<link rel="stylesheet" href="{self.asset(request, "swagger-ui/swagger-ui.css")}">',
            f'<div id="swagger-ui" data-url="{spec}"></div>\n'
            f'<script src="{self.asset(request, "swagger-ui/swagger-ui-bundle.js")}"></script>\n'
            f'<script src="{self.asset(request, "swagger-init.js")}"></script>',
        )


EXPLORER = Path(__file__).parent / "explorer"
# The explorer (/explorer/): only its own files, no inline script or style, requests to this origin.
EXPLORER_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


_EXPLORER_HEADERS = {
    "Content-Security-Policy": EXPLORER_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


async def _explorer_headers(response: Response[Any]) -> Response[Any]:
    # An after_request hook: layered response_headers do not reach the static file responses.
    response.headers.update(_EXPLORER_HEADERS)
    return response


def explorer_router() -> Router:
    """``/explorer/``: the Spread Explorer's static files (built by ``python3 dev.py explorer``)."""
    return create_static_files_router(
        path="/explorer",
        directories=[EXPLORER],
        html_mode=True,
        name="explorer",
        include_in_schema=False,
        cache_control=CacheControlHeader(no_cache=True),  # revalidate: a new release shows at once
        after_request=_explorer_headers,
    )
