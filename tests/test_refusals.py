"""The refusal matrix: every operation in openapi/openapi.json, every refusal it declares.

For each operation the spec lists, the cases are generated from the spec itself (its method,
path and header parameters, request body schema and examples, declared statuses) and from the
handler's required scope (``opt={"scope": ...}``, else read for GET and write otherwise):

- ``no-key`` / ``unknown-key``: 401 problem+json with ``WWW-Authenticate: Bearer ...``;
- ``scope``: a key without the scope the handler needs: 403;
- ``other-site``: a partner key for another site (or another partner), on every operation that
  writes a site's or a partner's records: 403 that says why;
- ``unknown-<param>``: each path parameter in turn names nothing: 404;
- ``stale-if-match``: an ``If-Match`` of an earlier version, where the operation takes one: 412;
- ``malformed-json`` (400), ``invalid-<field>`` (422 naming the field), ``media-type`` (415),
  ``too-large`` (413), for bodies; ``invalid-<param>`` (422 naming it) for parameters;
- ``invalid-fields`` / ``invalid-expand``: an unknown name in ``fields`` or ``expand`` (422
  naming the parameter), and ``not-acceptable``: an ``Accept`` the operation does not answer
  in (406), on the reads that take them (service/shaping.py);

and after every one of them the change feed (read with an admin key, once settled) is what it
was before: a refusal writes nothing. Requests use real records seeded once per module (an
innovation, adoptions at two sites, an adaptation, aim, observations, a campaign with a
commitment, an impediment and a breakthrough, a measure, a submission, a webhook), so "another
site" and "an earlier version" mean something.

``test_matrix_covers_the_spec`` fails when an operation appears that the matrix cannot build
requests for, when a write operation's ownership is not classified, and when the spec declares
an error status that neither the matrix produces nor a listed reason explains.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest

from service.app import create_app
from service.auth.keys import create_key
from service.auth.queries import ensure_partner, grant_sites
from service.config import Settings
from tests.conftest import ROOT, SERVER_DSN, TEMPLATE, _admin, running_app, settings_for
from tests.feed import settle

SPEC: dict[str, Any] = json.loads((ROOT / "openapi" / "openapi.json").read_text())
METHODS = ("get", "post", "put", "patch", "delete")
MAX_BODY = 16 * 1024  # the matrix's app refuses bodies above this (413)

HOME = "RQM"  # the seeded records' site
ELSEWHERE_SITE = "R0A"  # the partner's site: "another site"
UNKNOWN_SITE = "ZZZ99"  # a well-formed ODS code no site has
UNKNOWN_MEASURE = "NO_SUCH_MEASURE"

# Who may write what, for operations a plain write key reaches (admin-only operations are
# refused to the partner by scope instead). "site": the records belong to a site, and a
# partner for another site gets 403 naming the site. "registrant": the record belongs to the
# partner that registered it (innovations, measures, a campaign's lead). "rows": a batch whose
# rows each name a site; the batch is refused with 422 and the row says why. "shared": not one
# site's or partner's record, so there is no "other" partner to refuse.
OWNERSHIP: dict[str, str] = {
    "CreateAdaptation": "site",
    "UpdateAdaptation": "site",
    "DeleteAdaptation": "site",
    "CreateAdoption": "site",
    "UpdateAdoption": "site",
    "AddAdoptionSource": "site",
    "RemoveAdoptionSource": "site",
    "CreateReview": "site",
    "CreateComplexityAssessment": "site",
    "CreateAim": "site",
    "RecordObservations": "site",
    "UpdateSite": "site",
    "PutCommitment": "site",
    "CreateImpediment": "site",
    "UpdateImpediment": "site",
    "CreateBreakthrough": "site",
    "CreateSubmission": "rows",  # a batch: a row for another site is refused in the 422 rows, naming it
    "CreateInnovation": "site",  # the origin site must be the partner's
    "UpdateInnovation": "registrant",
    "RetireInnovation": "registrant",
    "UpdateMeasure": "registrant",
    "UpdateCampaign": "registrant",
    "CreateMeasure": "shared",  # a definition any partner may add
    "CreateSite": "shared",  # a new non-NHS partner site
    "CreateCampaign": "shared",
}

# Statuses the spec declares that this matrix does not drive, and where they are tested.
STATUSES_ELSEWHERE: dict[int, str] = {
    409: "conflicts are domain rules, one per resource: tests/innovations, tests/adoptions, tests/campaigns, tests/outcomes, tests/submissions",
    406: "an Accept the operation cannot answer (GetSite's FHIR view): tests/sites/test_sites_fhir.py",
    429: "rate limiting is the middleware's, the same on every /v1 route: tests/test_foundation.py",
    503: "an unavailable database or timeout, the same on every route: tests/test_foundation.py",
}

# Statuses the spec declares for an operation that no request can produce (found by this
# matrix). Each would be a defect of the spec, listed so the matrix passes and fails the day
# one is fixed (remove the entry) or another appears. None are left:
# - the 400 Litestar added to every operation with parameters (validation failures are 422
#   here): service/openapi.py drops it;
# - 422 on operations whose only parameters are uuid paths (a malformed uuid does not match
#   the route: 404): no longer declared; where an If-Match is taken, a malformed one is the
#   422 (the "invalid-param" case sends one);
# - 403 on CalculateSpc (it needs only "read", which every key has): no longer declared.
SPEC_GAPS: dict[str, set[int]] = {}


# Array bodies whose schema errors name the body ("data") instead of the item's field: a
# defect (a client cannot tell which item or field is wrong), listed so the day it is mended
# this fails and the entry goes.
UNNAMED_FIELDS: dict[str, str] = {}  # none left: RecordObservations now names `[0].measureCode`

# Submissions parse their own body (JSON, NDJSON or CSV) and call bad JSON a plain bad request.
MALFORMED_TYPE: dict[str, str] = {"CreateSubmission": "/problems/bad-request"}

# Query parameters an operation requires, so a request reaches the check under test.
REQUIRED_QUERY: dict[str, dict[str, str]] = {
    "ListPeers": {"site": HOME},
    "ListExceptionalAdoptions": {"measure": "AE_4HR"},
}


# --- the operations --------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    id: str
    method: str
    path: str
    spec: dict[str, Any]
    scope: str

    @property
    def declared(self) -> set[int]:
        return {int(s) for s in self.spec["responses"] if not s.startswith("2")}

    @property
    def secured(self) -> bool:
        return bool(self.spec.get("security"))

    def params(self, where: str) -> list[dict[str, Any]]:
        return [p for p in self.spec.get("parameters", []) if p["in"] == where]

    @property
    def query_names(self) -> set[str]:
        return {p["name"] for p in self.params("query")}

    @property
    def path_params(self) -> list[str]:
        return [p["name"] for p in self.params("path")]

    @property
    def if_match(self) -> bool:
        return any(p["name"].lower() == "if-match" for p in self.params("header"))

    @property
    def body_schema(self) -> dict[str, Any] | None:
        content = self.spec.get("requestBody", {}).get("content", {})
        return content.get("application/json", {}).get("schema") if content else None

    @property
    def writes(self) -> bool:
        return self.method != "GET" and self.scope != "read"


def _handler_scopes() -> dict[str, str]:
    """operation_id -> the scope its handler requires, as the auth middleware decides it."""
    app = create_app(Settings(database_url="postgresql://nobody@127.0.0.1:1/none"))
    scopes: dict[str, str] = {}
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            op_id = getattr(handler, "operation_id", None)
            if not isinstance(op_id, str):
                continue
            method = next(iter(handler.http_methods))
            opt = handler.opt or {}
            scopes[op_id] = str(opt.get("scope") or ("read" if method in ("GET", "HEAD") else "write"))
    return scopes


def _operations() -> list[Operation]:
    scopes = _handler_scopes()
    ops = []
    for path, item in SPEC["paths"].items():
        for method in METHODS:
            if method in item:
                op = item[method]
                ops.append(Operation(op["operationId"], method.upper(), path, op, scopes.get(op["operationId"], "?")))
    return ops


OPERATIONS = _operations()
SECURED = [op for op in OPERATIONS if op.secured]


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while True:
        if "$ref" in schema:
            schema = SPEC["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        elif "allOf" in schema and len(schema["allOf"]) == 1:
            schema = {**schema["allOf"][0], **{k: v for k, v in schema.items() if k != "allOf"}}
        else:
            return schema


# --- the seeded world ----------------------------------------------------------------


@dataclass
class World:
    client: httpx.AsyncClient
    conn: asyncpg.Connection
    admin: dict[str, str]
    writer: dict[str, str]  # read,write for HOME
    reader: dict[str, str]
    partner: dict[str, str]  # read,write for ELSEWHERE_SITE only, another partner
    ids: dict[str, str] = field(default_factory=dict)
    last_seq: int = 0


async def _key(conn: asyncpg.Connection, scopes: str, partner: str, sites: list[str] | None = None) -> dict[str, str]:
    _, secret = await create_key(conn, partner, scopes.split(","))
    if sites:
        assert not await grant_sites(conn, await ensure_partner(conn, partner), sites)
    return {"Authorization": f"Bearer {secret}"}


async def _ok(r: httpx.Response, status: int = 201) -> dict[str, Any]:
    assert r.status_code == status, (r.request.method, r.request.url, r.text)
    return r.json()


async def _seed(w: World) -> None:
    c, admin = w.client, w.admin
    await _ok(
        await c.post(
            "/v1/measures",
            json={
                "code": "AE_4HR",
                "name": "4-hour A&E performance",
                "unit": "proportion",
                "improvementDirection": "increase",
                "reaimDimension": "effectiveness",
            },
            headers=admin,
        )
    )
    innovation = await _ok(
        await c.post(
            "/v1/innovations",
            json={
                "title": "Virtual wards for frailty",
                "summary": "Hospital care at home.",
                "category": "models_of_care",
                "evidenceLevel": "multi_site_evaluation",
                "originSiteCode": "RXN",
                "originatedOn": "2021-04-01",
                "coreComponents": [{"key": "daily_huddle", "name": "Daily huddle"}],
            },
            headers=admin,
        )
    )
    w.ids["innovations"] = innovation["id"]
    adoptions = (await _ok(await c.get(f"/v1/innovations/{innovation['id']}/adoptions", headers=admin), 200))["items"]
    (origin,) = adoptions
    w.ids["origin"] = origin["id"]
    adoption = await _ok(
        await c.post(
            f"/v1/innovations/{innovation['id']}/adoptions",
            json={
                "siteCode": HOME,
                "startedOn": "2022-01-01",
                "sources": [{"adoptionId": origin["id"], "channel": "peer_visit"}],
            },
            headers=w.writer,
        )
    )
    w.ids["adoptions"] = adoption["id"]
    adaptation = await _ok(
        await c.post(
            f"/v1/adoptions/{adoption['id']}/adaptations",
            json={"description": "Huddle by video", "phase": "implementation", "whatModified": "content"},
            headers=w.writer,
        )
    )
    w.ids["adaptations"] = adaptation["id"]
    review = await _ok(
        await c.post(f"/v1/adoptions/{adoption['id']}/reviews", json=_example(OPS["CreateReview"]), headers=w.writer)
    )
    w.ids["reviews"] = review["id"]
    assessment = await _ok(
        await c.post(
            f"/v1/adoptions/{adoption['id']}/complexity",
            json=_example(OPS["CreateComplexityAssessment"]),
            headers=w.writer,
        )
    )
    w.ids["complexity-assessments"] = assessment["id"]
    await _ok(
        await c.post(
            f"/v1/adoptions/{adoption['id']}/aims",
            json={"measureCode": "AE_4HR", "baseline": 0.8, "target": 0.9, "dueOn": "2023-12-31"},
            headers=w.writer,
        )
    )
    await _ok(
        await c.post(
            f"/v1/adoptions/{adoption['id']}/observations",
            json=[{"measureCode": "AE_4HR", "periodStart": "2022-01-01", "period": "month", "value": 0.8}],
            headers=w.writer,
        ),
        200,
    )
    campaign = await _ok(
        await c.post(
            "/v1/campaigns",
            json={
                "name": "Home for the holidays",
                "kind": "campaign",
                "description": "Get people home.",
                "innovationIds": [innovation["id"]],
                "startsOn": "2022-01-01",
                "endsOn": "2030-12-31",
                "aim": {"measureCode": "AE_4HR", "baseline": 0.8, "target": 0.95, "dueOn": "2030-12-31"},
                "status": "active",
            },
            headers=admin,
        )
    )
    w.ids["campaigns"] = campaign["id"]
    await _ok(
        await c.put(
            f"/v1/campaigns/{campaign['id']}/commitments/{HOME}",
            json={"target": 0.9, "dueOn": "2030-12-31", "agreedOn": "2022-01-01"},
            headers=admin,
        )
    )
    impediment = await _ok(
        await c.post(
            f"/v1/campaigns/{campaign['id']}/impediments",
            json={"siteCode": HOME, "description": "No weekend cover", "category": "workforce"},
            headers=w.writer,
        )
    )
    w.ids["impediments"] = impediment["id"]
    breakthrough = await _ok(
        await c.post(
            f"/v1/campaigns/{campaign['id']}/breakthroughs",
            json={"siteCode": HOME, "title": "Pharmacist on the huddle", "story": "Fewer step-ups."},
            headers=w.writer,
        )
    )
    w.ids["breakthroughs"] = breakthrough["id"]
    submission = await c.post(
        "/v1/submissions",
        json=[{"innovation": innovation["id"], "siteCode": "RXL", "stage": "exploring", "startedOn": "2022-06-01"}],
        headers=admin,
    )
    assert submission.status_code in (200, 201), submission.text  # 201 new, 200 a replay: either is fine here
    w.ids["submissions"] = submission.json()["id"]
    webhook = await _ok(
        await c.post(
            "/v1/webhooks",
            json={"url": "https://integration.example.nhs.uk/spread-events", "events": ["adoption.*"]},
            headers=admin,
        )
    )
    w.ids["webhooks"] = webhook["id"]
    await settle(w.conn)
    r = await c.get("/v1/changes", params={"after": 0, "limit": 500}, headers=admin)
    last = r.json()["lastSeq"]
    while True:  # skip to the end of the feed
        r = await c.get("/v1/changes", params={"after": last, "limit": 500}, headers=admin)
        if not r.json()["items"]:
            break
        last = r.json()["lastSeq"]
    w.last_seq = last


@pytest.fixture(scope="module")
async def world(template_dsn: str) -> AsyncIterator[World]:
    """One database and app for the module: refusals write nothing, and every case checks that."""
    name = f"spread_refusals_{uuid.uuid4().hex[:8]}"
    await _admin(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
    from service.embedded import with_database

    dsn = with_database(SERVER_DSN, name)
    conn = await asyncpg.connect(dsn)
    try:
        keys = {
            "admin": await _key(conn, "read,write,admin", "Registry admin"),
            "writer": await _key(conn, "read,write", "Home HIN", [HOME]),
            "reader": await _key(conn, "read", "Reader"),
            "partner": await _key(conn, "read,write", "Elsewhere HIN", [ELSEWHERE_SITE]),
        }
        async with running_app(
            settings_for(
                dsn,
                max_body_bytes=MAX_BODY,
                secret_key=bytes(32),  # webhooks need one
                webhook_allow_private=True,  # its webhook URL is not resolvable here
                rate_limit_per_minute=0,  # hundreds of refusals from one address in a minute
                rate_limit_failures_per_minute=0,
            )
        ) as client:
            w = World(client=client, conn=conn, **keys)
            await _seed(w)
            yield w
    finally:
        await conn.close()
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- building requests ------------------------------------------------------------------


def _seeded(op: Operation, name: str, w: World) -> str:
    """The real record a path parameter names."""
    segments = op.path.split("/")
    before = segments[segments.index("{" + name + "}") - 1]
    if name == "source_id":
        return w.ids["origin"]
    if name == "siteCode" or before == "sites":
        return HOME
    if name == "code":  # measures/{code}, .../measures/{code}/spc
        return "AE_4HR"
    return w.ids[before]


def _unknown(op: Operation, name: str) -> str:
    (param,) = [p for p in op.params("path") if p["name"] == name]
    schema = _resolve(param["schema"])
    if schema.get("format") == "uuid":
        return str(uuid.uuid4())
    if name == "siteCode" or "/sites/" in op.path:
        return UNKNOWN_SITE
    return UNKNOWN_MEASURE


def _url(op: Operation, w: World, **replace: str) -> str:
    url = op.path
    for name in op.path_params:
        url = url.replace("{" + name + "}", replace.get(name) or _seeded(op, name, w))
    return url


def _example(op: Operation) -> Any:
    schema = op.body_schema or {}
    examples = schema.get("examples") or _resolve(schema).get("examples")
    return copy.deepcopy(examples[0]) if examples else None


# Valid bodies where the spec's example cannot be sent as it is (it names records by
# placeholder ids, or collides with a seeded record). Everything else uses the spec's example.
def _bodies(w: World) -> dict[str, Any]:
    innovation = w.ids["innovations"]
    return {
        "AddAdoptionSource": {"adoptionId": w.ids["origin"], "channel": "learning_network"},
        "CreateAdoption": {"siteCode": HOME, "startedOn": "2023-02-01", "stage": "piloting"},
        "CreateCampaign": {**_example(OPS["CreateCampaign"]), "innovationIds": [innovation], "aim": _aim()},
        "CreateImpediment": {**_example(OPS["CreateImpediment"]), "siteCode": HOME},
        "CreateBreakthrough": {**_example(OPS["CreateBreakthrough"]), "siteCode": HOME},
        "CreateInnovation": {**_example(OPS["CreateInnovation"]), "originSiteCode": HOME},
        "CreateSubmission": [
            {"innovation": innovation, "siteCode": HOME, "stage": "piloting", "startedOn": "2023-02-01"}
        ],
        "CreateAim": {"measureCode": "AE_4HR", "baseline": 0.8, "target": 0.95, "dueOn": "2024-03-31"},
        "UpdateSite": {"name": "Renamed"},
        "CreateSite": {"kind": "other", "name": "Lancashire Carers Network", "postcode": "PR1 2HE"},
    }


def _aim() -> dict[str, Any]:
    return {"measureCode": "AE_4HR", "baseline": 0.8, "target": 0.95, "dueOn": "2030-12-31"}


OPS = {op.id: op for op in OPERATIONS}


def _body(op: Operation, w: World) -> Any:
    bodies = _bodies(w)
    if op.id in bodies:
        return bodies[op.id]
    example = _example(op)
    assert example is not None, f"{op.id}: no example in the spec and no body in _bodies()"
    return example


def _wrong_type(schema: dict[str, Any]) -> Any:
    """A JSON value of a type the schema does not allow."""
    schema = _resolve(schema)
    types = {schema.get("type")} | {_resolve(s).get("type") for s in schema.get("anyOf", [])}
    if "enum" in schema:
        return "not-one-of-them"
    return 12345 if "integer" not in types and "number" not in types else "twelve"


def _invalid_field(op: Operation, body: Any) -> tuple[Any, str]:
    """The valid body with one declared field of the wrong type, and that field's name."""
    schema = _resolve(op.body_schema or {})
    if schema.get("type") == "array":
        item_schema = _resolve(schema["items"])
        name = item_schema["required"][0]
        first = {**body[0], name: _wrong_type(item_schema["properties"][name])}
        return [first, *body[1:]], name
    name = sorted(schema["properties"])[0]
    return {**body, name: _wrong_type(schema["properties"][name])}, name


def _invalid_param(op: Operation) -> tuple[str, dict[str, str], str] | None:
    """A (path, query) with one parameter made invalid, and its wire name; None if no parameter can be."""
    for p in op.params("path"):
        schema = _resolve(p["schema"])
        if schema.get("type") == "string" and schema.get("format") != "uuid" and schema.get("minLength", 0) > 1:
            return p["name"], {}, "x"  # shorter than allowed
    query = op.params("query")
    for p in query:
        if p.get("required"):
            return p["name"], {}, ""  # left out
    for p in query:
        schema = _resolve(p["schema"])
        options = [_resolve(s) for s in schema.get("oneOf", schema.get("anyOf", [schema]))]
        for option in options:
            if option.get("type") == "integer" and "minimum" in option:
                return p["name"], {p["name"]: str(option["minimum"] - 1)}, ""
            if "enum" in option or option.get("format") in ("date", "date-time") or option.get("type") == "boolean":
                return p["name"], {p["name"]: "not-a-value"}, ""
    for p in op.params("header"):
        if "pattern" in _resolve(p["schema"]) and p["name"].lower() != "if-match":
            return p["name"], {}, ""  # sent as BAD_HEADER (X-Spread-Consistency: not a token)
        if p["name"] == "If-Match" and "pattern" in _resolve(p["schema"]):
            return p["name"], {}, ""  # _send sends an If-Match that is no entity tag
    return None


BAD_HEADER = "not-a-token"


# --- the cases --------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    op: Operation
    name: str
    status: int


def _cases(op: Operation) -> list[Case]:
    if not op.secured:
        return []
    cases = [Case(op, "no-key", 401), Case(op, "unknown-key", 401)]
    if op.scope in ("write", "admin"):
        cases.append(Case(op, "scope", 403))
    if op.writes and op.scope == "write" and OWNERSHIP.get(op.id) in ("site", "registrant"):
        cases.append(Case(op, "other-site", 403))
    if op.writes and op.scope == "write" and OWNERSHIP.get(op.id) == "rows":
        cases.append(Case(op, "other-site", 422))
    cases += [Case(op, f"unknown-{name}", 404) for name in op.path_params]
    if op.if_match:
        cases.append(Case(op, "stale-if-match", 412))
    if op.body_schema is not None:
        cases += [
            Case(op, "malformed-json", 400),
            Case(op, "invalid-body", 422),
            Case(op, "media-type", 415),
            Case(op, "too-large", 413),
        ]
    elif _invalid_param(op) is not None:
        cases.append(Case(op, "invalid-param", 422))
    # response shaping (service/shaping.py): an unknown field or expansion is named; an Accept
    # the operation does not answer in is 406
    cases += [Case(op, f"invalid-{name}", 422) for name in SHAPING_PARAMS if name in op.query_names]
    if 406 in op.declared:
        cases.append(Case(op, "not-acceptable", 406))
    return cases


SHAPING_PARAMS = ("fields", "expand")


CASES = [case for op in OPERATIONS for case in _cases(op)]


def _headers_for(case: Case, w: World) -> dict[str, str]:
    op = case.op
    if case.name == "no-key":
        return {}
    if case.name == "unknown-key":
        return {"Authorization": "Bearer spr_" + "0" * 40}
    if case.name == "scope":
        return w.reader if op.scope == "write" else w.writer
    if case.name == "other-site":
        return w.partner
    return w.admin


async def _etag(op: Operation, w: World) -> str:
    r = await w.client.get(_url(op, w), headers=w.admin)
    assert r.status_code == 200 and r.headers.get("etag"), (op.id, "no GET with an ETag at the same path", r.text)
    return r.headers["etag"]


async def _feed(w: World) -> list[dict[str, Any]]:
    await settle(w.conn)
    r = await w.client.get("/v1/changes", params={"after": w.last_seq, "limit": 500}, headers=w.admin)
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def _send(case: Case, w: World) -> tuple[httpx.Response, str | None]:
    """Send the refused request; returns the response and the field it should name, if any."""
    op = case.op
    headers = dict(_headers_for(case, w))
    replace: dict[str, str] = {}
    params: dict[str, str] = {}
    field_named: str | None = None
    if case.name.startswith("unknown-") and case.name != "unknown-key":
        name = case.name.removeprefix("unknown-")
        replace[name] = _unknown(op, name)
    if op.if_match:
        etag = await _etag(op, w)
        version = int(etag.strip('W/"'))
        headers["If-Match"] = f'"{version - 1}"' if case.name == "stale-if-match" else etag
        if case.name == "invalid-param" and _invalid_param(op) == ("If-Match", {}, ""):
            headers["If-Match"] = "version-3"  # not an entity tag: fails the header's pattern
    content: bytes | None = None
    if op.body_schema is not None:
        body = _body(op, w)
        if case.name == "invalid-body":
            body, field_named = _invalid_field(op, body)
        content = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
        if case.name == "malformed-json":
            content = b"piloting"  # not JSON from the first byte
        elif case.name == "media-type":
            headers["Content-Type"] = "application/xml"
            content = b"<body/>"
        elif case.name == "too-large":
            content = json.dumps({"padding": "x" * MAX_BODY}).encode()
    params.update(REQUIRED_QUERY.get(op.id, {}))
    if case.name == "invalid-param":
        found = _invalid_param(op)
        assert found is not None
        field_named, bad_query, bad_path = found
        params.pop(field_named, None)
        params.update(bad_query)
        if bad_path:
            replace[field_named] = bad_path
        if field_named in {p["name"] for p in op.params("header")}:
            headers[field_named] = BAD_HEADER
    if case.name in (f"invalid-{name}" for name in SHAPING_PARAMS):
        field_named = case.name.removeprefix("invalid-")
        params[field_named] = "noSuchName"
    if case.name == "not-acceptable":
        headers["Accept"] = "application/xml"
    url = _url(op, w, **replace)
    r = await w.client.request(op.method, url, params=params, content=content, headers=headers)
    return r, field_named


@pytest.mark.parametrize("case", CASES, ids=[f"{c.op.id}-{c.name}" for c in CASES])
async def test_refused_and_nothing_written(world: World, case: Case) -> None:
    before = await _feed(world)
    r, field_named = await _send(case, world)
    assert r.status_code == case.status, (case.op.method, case.op.path, r.text)
    assert case.status in case.op.declared, f"{case.op.id} answers {case.status} but the spec does not declare it"
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    problem = r.json()
    assert problem["status"] == case.status
    if case.status == 401:
        assert r.headers["www-authenticate"].startswith("Bearer "), r.headers
    if case.name == "scope":
        assert f"'{case.op.scope}' scope" in problem["detail"], problem
    if case.name == "other-site":
        # says why: the site it is not authorised for, or whose record it is
        ownership = OWNERSHIP[case.op.id]
        if ownership == "site":
            assert "'Elsewhere HIN'" in problem["detail"] and f"site {HOME}" in problem["detail"], problem
        elif ownership == "rows":
            assert [e["detail"] for row in problem["rows"] for e in row["errors"]] == [
                f"partner 'Elsewhere HIN' is not authorised for site {HOME}; ask an administrator to add it "
                "(`spread partners create NAME --sites CODE`)"
            ], problem
        else:
            assert "only" in problem["detail"] and "or an admin" in problem["detail"], problem
    if case.status == 400:
        assert problem["type"] == MALFORMED_TYPE.get(case.op.id, "/problems/malformed-body"), problem
    if field_named is not None:
        expected = UNNAMED_FIELDS.get(case.op.id, field_named) if case.name == "invalid-body" else field_named
        named = [e["field"] for e in problem.get("errors") or []]
        named += [e["field"] for row in problem.get("rows") or [] for e in row["errors"]]
        assert any(f == expected or f.endswith(f".{expected}") for f in named) or (
            not named and f"'{expected}'" in problem["detail"]  # a missing parameter: named in the detail
        ), (expected, problem)
    assert await _feed(world) == before, "a refused request wrote to the change feed"


# --- coverage -------------------------------------------------------------------------


def _unbuildable(op: Operation) -> list[str]:
    """What the matrix lacks to cover this operation (empty when it can)."""
    missing = []
    if op.secured and op.scope == "?":
        missing.append("no handler with this operation_id in the app")
    if op.writes and op.scope == "write" and op.id not in OWNERSHIP:
        missing.append("write operation not classified in OWNERSHIP")
    for name in op.path_params:
        segments = op.path.split("/")
        before = segments[segments.index("{" + name + "}") - 1]
        known = name in ("source_id", "siteCode", "code") or before in (
            "sites",
            "adaptations",
            "adoptions",
            "breakthroughs",
            "campaigns",
            "impediments",
            "innovations",
            "reviews",
            "complexity-assessments",
            "submissions",
            "webhooks",
        )
        if not known:
            missing.append(f"no seeded record for path parameter {name}")
    required = {p["name"] for p in op.params("query") if p.get("required")}
    if required - set(REQUIRED_QUERY.get(op.id, {})):
        missing.append(f"no value in REQUIRED_QUERY for {sorted(required)}")
    if op.body_schema is None and op.spec.get("requestBody"):
        missing.append("a request body that is not JSON only")
    return missing


def test_matrix_covers_the_spec() -> None:
    public = {op.id for op in OPERATIONS if not op.secured}
    assert public == {"GetLiveness", "GetReadiness"}, f"operations without security: {public}"
    problems: list[str] = []
    produced: dict[str, set[int]] = {}
    for case in CASES:
        produced.setdefault(case.op.id, set()).add(case.status)
    for op in SECURED:
        problems += [f"{op.id}: {m}" for m in _unbuildable(op)]
        unexplained = op.declared - produced.get(op.id, set()) - set(STATUSES_ELSEWHERE) - SPEC_GAPS.get(op.id, set())
        if unexplained:
            problems.append(f"{op.id} declares {sorted(unexplained)}, which the matrix cannot produce")
        stale = SPEC_GAPS.get(op.id, set()) & produced.get(op.id, set())
        if stale:
            problems.append(f"{op.id}: SPEC_GAPS lists {sorted(stale)}, which the matrix now produces")
        gone = SPEC_GAPS.get(op.id, set()) - op.declared
        if gone:
            problems.append(f"{op.id}: SPEC_GAPS lists {sorted(gone)}, no longer declared: remove it")
    # (an entry for an operation that has since become admin-only is harmless: scope refuses first)
    for op_id in set(OWNERSHIP) - {op.id for op in SECURED if op.writes}:
        problems.append(f"OWNERSHIP lists {op_id}, which is not a write operation")
    assert not problems, "\n".join(problems)
