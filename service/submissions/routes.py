"""``/v1/submissions``: bulk, idempotent adoption reports as JSON, NDJSON or CSV."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example, OpenAPIMediaType, Operation, RequestBody
from litestar.params import HeaderParameter, PathParameter, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from service.auth.schemas import Principal
from service.db import Actor, Connection, request_connection
from service.errors import PayloadTooLargeError, responses
from service.submissions import formats, service
from service.submissions.schemas import MAX_ROWS, Mode, Report, Submission
from service.types import HEADER_VALUE

SubmissionId = Annotated[uuid.UUID, PathParameter(description="Submission id")]
IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=HEADER_VALUE,
        required=False,
        description="Retry safely: the same key and body within 24 hours returns the stored answer (200).",
    ),
]

CSV_EXAMPLE = """\
innovation,siteCode,stage,startedOn,learnedFrom,adaptations,externalId,notes
virtual-wards-for-frailty,RQM,piloting,2023-02-01,RXN:peer_visit:2023-01-12,,HIN-0042,Two frailty wards
virtual-wards-for-frailty,RW6,implementing,2023-05-01,RQM:learning_network;RXN:conference,"[{""description"":""Run by community nurses"",""phase"":""implementation"",""whatModified"":""context"",""contextChanges"":[""personnel""]}]",HIN-0043,
"""
JSON_EXAMPLE = [
    {
        "innovation": "virtual-wards-for-frailty",
        "siteCode": "RQM",
        "stage": "piloting",
        "startedOn": "2023-02-01",
        "learnedFrom": [{"siteCode": "RXN", "channel": "peer_visit", "on": "2023-01-12"}],
        "externalId": "HIN-0042",
    },
    {
        "innovation": "virtual-wards-for-frailty",
        "siteCode": "RW6",
        "stage": "implementing",
        "startedOn": "2023-05-01",
        "learnedFrom": [{"siteCode": "RQM", "channel": "learning_network"}],
        "adaptations": [
            {
                "description": "Run by community nurses",
                "phase": "implementation",
                "whatModified": "context",
                "contextChanges": ["personnel"],
            }
        ],
        "externalId": "HIN-0043",
    },
]


def _inline(schema: Any, defs: dict[str, Any]) -> Any:
    """Replace msgspec's ``#/$defs/...`` references by the definitions (they are not recursive)."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline(v, defs) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_inline(v, defs) for v in schema]
    return schema


def _report_schema() -> dict[str, Any]:
    raw = msgspec.json.schema(Report)
    inlined: dict[str, Any] = _inline({k: v for k, v in raw.items() if k != "$defs"}, raw.get("$defs", {}))
    return inlined


@dataclass
class _SubmissionOperation(Operation):
    """The request body is read by hand (three media types), so describe it here."""

    def __post_init__(self) -> None:
        report = _report_schema()
        self.request_body = RequestBody(
            required=True,
            description=(
                f"Up to {MAX_ROWS:,} adoption reports (and at most the server's body limit, 10 MB by default) as a "
                "JSON array, as NDJSON (one report per line) or as CSV with a header row. CSV columns: "
                f"{', '.join(formats.CSV_COLUMNS)} (the first four required); `learnedFrom` is "
                "`SITE:channel[:YYYY-MM-DD]` entries separated by `;`, `adaptations` and `observations` are JSON "
                "arrays in a cell; empty cells are absent. `row` in the answer counts reports from 1 (CSV: data "
                "rows after the header; NDJSON: non-blank lines)."
            ),
            content={
                formats.JSON: OpenAPIMediaType(
                    schema={"type": "array", "maxItems": MAX_ROWS, "items": report},  # type: ignore[arg-type]  # a JSON Schema dict, rendered as given
                    examples={
                        "two-sites": Example(summary="Two sites, one learning from the other", value=JSON_EXAMPLE)
                    },
                ),
                formats.NDJSON: OpenAPIMediaType(
                    schema={
                        "type": "string",
                        "format": "binary",
                        "maxLength": 10 * 1024 * 1024,
                        "description": "One report per line",
                    },  # type: ignore[arg-type]  # a JSON Schema dict, rendered as given
                ),
                formats.CSV: OpenAPIMediaType(
                    schema={"type": "string", "format": "binary", "maxLength": 10 * 1024 * 1024},  # type: ignore[arg-type]  # a JSON Schema dict, rendered as given
                    examples={"spreadsheet": Example(summary="A spreadsheet export", value=CSV_EXAMPLE)},
                ),
            },
        )


@post(
    "/submissions",
    operation_id="CreateSubmission",
    tags=["submissions"],
    summary="Submit a batch of adoption reports",
    responses={
        200: ResponseSpec(
            data_container=Submission,
            description="An idempotent replay: the answer stored for this Idempotency-Key (nothing written again); "
            "or the report of a dry run (`dryRun=true`, nothing written).",
        ),
        **responses(400, 401, 403, 409, 413, 415, 422, 429, 503),
    },
    opt={"content_types": formats.MEDIA_TYPES},
    operation_class=_SubmissionOperation,
    status_code=HTTP_201_CREATED,
)
async def create_submission(
    request: Request[Any, Any, Any],
    actor: NamedDependency[Actor],
    principal: NamedDependency[Principal],
    mode: Annotated[
        Mode,
        QueryParameter(description="atomic: all rows or none (422 if any is bad); partial: write the valid rows"),
    ] = "atomic",
    dry_run: Annotated[
        bool,
        QueryParameter(
            name="dryRun",
            description=(
                "Try the batch without writing it: every check runs (the database's too) and the answer is the "
                "same per-row report (created, updated, unchanged or rejected, and why), status 200 with "
                "`dryRun: true`, even in atomic mode with rejected rows. Nothing is written: no adoption, no "
                "change-log entry (so no webhook delivery), no stored submission, and the Idempotency-Key is "
                "neither looked up nor used."
            ),
        ),
    ] = False,
    idempotency_key: IdempotencyKey = None,
) -> Response[Submission]:
    """Create or update adoptions in bulk (upsert by site or externalId), with learned-from links and adaptations.

    Authorisation is judged per row, like every other rule: a row for a site the partner is not
    authorised for is refused in the answer's `rows`, naming the site, never with a whole-request
    403, so one answer lists every row at fault; `atomic` then writes nothing (422) and `partial`
    writes the other rows. 403 is for a key without the `write` scope.
    """
    max_bytes = request.app.state.settings.max_body_bytes
    max_mb = max_bytes / 1_000_000
    try:
        body = await request.body()
    except RequestEntityTooLarge:
        raise PayloadTooLargeError(
            f"The body is larger than {max_mb:g} MB. Split the file into requests of at most {MAX_ROWS:,} rows "
            "and that size (`spread submit` sends large files in chunks)."
        ) from None
    media_type = request.headers.get("content-type", formats.JSON).split(";")[0].strip().lower()
    if media_type not in formats.MEDIA_TYPES:
        media_type = formats.JSON  # a +json type, which the middleware let through
    fingerprint = formats.fingerprint(mode, media_type, body)
    key = None if dry_run else idempotency_key
    async with request_connection(request) as conn:  # only after the (possibly slow) upload
        if key is not None:
            stored = await service.stored_answer(conn, principal, key, fingerprint)
            if stored is not None:
                return Response(content=stored, status_code=HTTP_200_OK, headers={"Idempotent-Replayed": "true"})
        batch = service.Batch(
            rows=formats.read_body(body, media_type, max_mb),
            mode=mode,
            fingerprint=fingerprint,
            idempotency_key=key,
            dry_run=dry_run,
        )
        answer, replayed = await service.submit(conn, actor, principal, batch)
    if replayed:
        return Response(content=answer, status_code=HTTP_200_OK, headers={"Idempotent-Replayed": "true"})
    if dry_run:
        return Response(content=answer, status_code=HTTP_200_OK)
    return Response(content=answer, status_code=HTTP_201_CREATED, headers={"Location": f"/v1/submissions/{answer.id}"})


@get(
    "/submissions/{id:uuid}",
    operation_id="GetSubmission",
    tags=["submissions"],
    summary="Get a submission's result",
    responses=responses(401, 404, 429, 503),
)
async def get_submission(
    conn: NamedDependency[Connection], principal: NamedDependency[Principal], id: SubmissionId
) -> Submission:
    """The stored answer of a batch: its summary and per-row results (your partner's submissions, or any for admins)."""
    return await service.get_submission(conn, principal, id)


route_handlers = [create_submission, get_submission]
