"""The application factory: ``create_app(settings) -> Litestar``. No I/O happens here.

Routes, plugins, middleware and the OpenAPI description are assembled from each resource
package's ``route_handlers``; the pool is opened by the lifespan, so the spec and the CLI work
without a database.
"""

from __future__ import annotations

from litestar import Litestar, Router
from litestar.config.compression import CompressionConfig
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme, Server, Tag
from litestar.plugins.prometheus import PrometheusController
from litestar.types import ControllerRouterHandler

from service import __version__
from service.adaptations import routes as adaptation_routes
from service.adoptions import routes as adoption_routes
from service.analysis import routes as analysis_routes
from service.auth import routes as auth_routes
from service.campaigns import routes as campaign_routes
from service.changes import routes as change_routes
from service.complexity import routes as complexity_routes
from service.config import Settings
from service.db import pool_lifespan, provide_actor, provide_conn, provide_principal
from service.fastpath import FastPath
from service.health import routes as health_routes
from service.http import StrictRequest, options_handlers
from service.innovations import routes as innovation_routes
from service.lineage import routes as lineage_routes
from service.middleware import RequestPath, authenticate
from service.openapi import SpecJsonPlugin
from service.outcomes import routes as outcome_routes
from service.problems import problem_handler
from service.reviews import routes as review_routes
from service.search import routes as search_routes
from service.sites import routes as site_routes
from service.static.pages import ScalarPage, SwaggerPage, explorer_router
from service.submissions import routes as submission_routes
from service.webhooks import routes as webhook_routes

API_DESCRIPTION = """\
Spread records how NHS innovations travel from site to site and how they change on the way:
innovations, the sites that adopt them, who learned from whom and through which channel, what
each site adapted, and the outcomes that followed.

Every `/v1` operation needs an API key (`Authorization: Bearer spr_...`) with the `read` scope;
writes need `write`. Errors are RFC 9457 `application/problem+json`. Collections use keyset
pagination (`limit`, `cursor`, `nextCursor`, `Link: rel="next"`). Records carry an `ETag`;
`PATCH` and `DELETE` honour `If-Match`.

NHS API conventions: send `X-Correlation-ID` (1 to 128 printable ASCII characters) to have it
echoed, logged, recorded on the changes it causes and sent on their webhook deliveries; reads
answer `Cache-Control: private, no-cache` with `Vary: Authorization, Accept, Accept-Encoding`
(revalidate with the ETag); an operation marked deprecated answers `Deprecation` and `Sunset`
headers, with at least 12 months' notice.

Reference data contains public sector information licensed under the Open Government Licence v3.0.
"""

TAGS = [
    Tag(name="health", description="Liveness and readiness probes."),
    Tag(name="keys", description="The calling API key."),
    Tag(name="sites", description="NHS organisations and sites (by ODS code) and non-NHS partners."),
    Tag(name="innovations", description="Practices, pathways, tools and devices that worked somewhere."),
    Tag(name="adoptions", description="Sites taking innovations up, with stage history and learned-from links."),
    Tag(name="reviews", description="Sustainment reviews after adoption, reviews due, and the share still in use."),
    Tag(name="adaptations", description="FRAME-coded changes sites made to what they adopted."),
    Tag(name="lineage", description="How each innovation spread from site to site and changed on the way."),
    Tag(name="search", description="Full-text search across innovations, adaptations and sites, with typo correction."),
    Tag(
        name="submissions",
        description="Bulk, idempotent adoption reports from partners' systems and spreadsheets (JSON, NDJSON, CSV).",
    ),
    Tag(name="changes", description="The append-only change log: a feed to sync from, and per-record history."),
    Tag(name="analysis", description="Statistical process control: Making Data Count XmR charts of a series."),
    Tag(name="outcomes", description="Measures, adoptions' observations and aims, and each adoption's SPC chart."),
    Tag(
        name="insights",
        description="Where an innovation works exceptionally, whom a site could learn from, and its RE-AIM.",
    ),
    Tag(
        name="campaigns",
        description="Time-bound aims apportioned between sites: commitments, progress, impediments and breakthroughs.",
    ),
    Tag(
        name="webhooks", description="Signed HTTP callbacks for registry changes, delivered by `spread worker` (admin)."
    ),
]


def v1_route_handlers() -> list[ControllerRouterHandler]:
    """Every ``/v1`` handler, gathered from the resource packages."""
    handlers = [
        *auth_routes.route_handlers,
        *site_routes.route_handlers,
        *innovation_routes.route_handlers,
        *adoption_routes.route_handlers,
        *adaptation_routes.route_handlers,
        *review_routes.route_handlers,
        *complexity_routes.route_handlers,
        *lineage_routes.route_handlers,
        *search_routes.route_handlers,
        *submission_routes.route_handlers,
        *change_routes.route_handlers,
        *analysis_routes.route_handlers,
        *outcome_routes.route_handlers,
        *campaign_routes.route_handlers,
        *webhook_routes.route_handlers,
    ]
    return [*options_handlers(handlers), *handlers]  # OPTIONS first: see options_handlers


class _PrometheusController(PrometheusController):
    path = "/metrics"
    include_in_schema = False


def create_app(settings: Settings) -> Litestar:
    v1 = Router(
        path="/v1",
        route_handlers=v1_route_handlers(),
        # A hook rather than a guard or middleware: it runs after routing and before the body is
        # read, without the extra layer (or the per-call copy of the handler guards get).
        before_request=authenticate,
        dependencies={
            "conn": Provide(provide_conn),
            "actor": Provide(provide_actor, sync_to_thread=False),
            "principal": Provide(provide_principal, sync_to_thread=False),
        },
        security=[{"bearerAuth": []}],
    )
    app = Litestar(
        route_handlers=[health_routes.live, health_routes.ready, v1, _PrometheusController, explorer_router()],
        lifespan=[pool_lifespan(settings)],
        exception_handlers={Exception: problem_handler},
        compression_config=CompressionConfig(
            backend="gzip", minimum_size=1024, gzip_compress_level=6, exclude_opt_key="skip_compression"
        ),
        cors_config=CORSConfig(
            allow_origins=list(settings.cors_origins),
            allow_headers=[
                "Authorization",
                "Content-Type",
                "If-Match",
                "If-None-Match",
                "Idempotency-Key",
                "X-Request-ID",
            ],
            expose_headers=["ETag", "Link", "Location", "X-Request-ID", "Retry-After"],
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        )
        if settings.cors_origins
        else None,
        openapi_config=OpenAPIConfig(
            title="Spread API",
            version=__version__,
            description=API_DESCRIPTION,
            path="/schema",
            render_plugins=[ScalarPage(path="/"), SwaggerPage(path="/swagger"), SpecJsonPlugin()],
            tags=TAGS,
            servers=[Server(url="/", description="This server")],
            components=Components(
                security_schemes={
                    "bearerAuth": SecurityScheme(
                        type="http",
                        scheme="bearer",
                        description="An API key from `spread keys create` (it starts with `spr_`).",
                    )
                }
            ),
            use_handler_docstrings=True,
        ),
        request_max_body_size=settings.max_body_bytes,
        request_class=StrictRequest,
        debug=False,
        logging_config=None,
    )
    app.state.settings = settings
    # Outermost: request ids, metrics and access logs also cover 404s, 405s and CORS preflights.
    # GET /v1/innovations/{id} and GET /v1/me are answered there without Litestar's per-route
    # machinery when the key is cached (service.fastpath); everything else goes through it.
    app.asgi_handler = RequestPath(app.asgi_handler, FastPath(app) if settings.fast_path else None)
    return app
