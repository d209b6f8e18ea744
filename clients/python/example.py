"""A partner system's day with Spread, written against the generated client only
(clients/python/spread_client, from openapi/openapi.json by openapi-python-client).

Run by tests/clients/test_generated_clients.py against a live server:

    SPREAD_URL=http://127.0.0.1:8000 SPREAD_KEY=spr_... python clients/python/example.py
"""

from __future__ import annotations

import datetime as dt
import io
import os
import uuid

import httpx
from spread_client import AuthenticatedClient
from spread_client.api.adoptions import create_adoption, list_adoptions
from spread_client.api.innovations import get_innovation, list_innovations
from spread_client.api.lineage import get_adoption_lineage
from spread_client.api.sites import list_sites
from spread_client.api.submissions import create_submission
from spread_client.models import (
    AdoptionCreate,
    AdoptionCreateStage,
    CreateSubmissionMode,
    GetAdoptionLineageDirection,
    InnovationPage,
    ListInnovationsStatus,
    ListSitesKind,
    Problem,
    SourceIn,
    SourceInChannel,
)
from spread_client.types import UNSET, File, Unset

# Read-your-writes: a write may answer X-Spread-Consistency (when reads go to a replica); the
# next read sends it back so it sees the write. Harmless when the server sends none.
consistency: dict[str, str] = {}


def _send(request: httpx.Request) -> None:
    if "token" in consistency:
        request.headers["X-Spread-Consistency"] = consistency["token"]
    request.headers["X-Correlation-ID"] = "spread-example-py"


def _received(response: httpx.Response) -> None:
    token = response.headers.get("X-Spread-Consistency")
    if token:
        consistency["token"] = token


def main() -> None:
    spread = AuthenticatedClient(
        base_url=os.environ.get("SPREAD_URL", "http://127.0.0.1:8000"),
        token=os.environ["SPREAD_KEY"],
        httpx_args={"event_hooks": {"request": [_send], "response": [_received]}},
    )
    today = dt.date.today()

    # 1. List innovations with a filter, following nextCursor.
    seen: list[uuid.UUID] = []
    cursor: str | Unset = UNSET
    pages = 0
    while True:
        page = list_innovations.sync(client=spread, status=ListInnovationsStatus.ACTIVE, limit=2, cursor=cursor)
        assert isinstance(page, InnovationPage), page
        assert all(i.status == "active" for i in page.items), "the filter holds"
        seen += [i.id for i in page.items]
        pages += 1
        if not isinstance(page.next_cursor, str) or pages == 3:
            break
        cursor = page.next_cursor
    assert pages >= 2 and len(set(seen)) == len(seen), f"paged without repeats: {pages} pages"
    print(f"listed {len(seen)} active innovations over {pages} pages")

    # 2. Read one with its ETag, then revalidate: 304 Not Modified.
    first = get_innovation.sync_detailed(seen[0], client=spread)
    etag = first.headers["ETag"]
    again = get_innovation.sync_detailed(seen[0], client=spread.with_headers({"If-None-Match": etag}))
    assert again.status_code == 304, again.status_code
    innovation = first.parsed
    assert innovation is not None and not isinstance(innovation, Problem)
    print(f"read {innovation.title} ({etag}), then 304")

    # 3. Adopt it at a trust that has not, learning from its origin adoption.
    adoptions = list_adoptions.sync(innovation.id, client=spread, limit=500)
    assert adoptions is not None and not isinstance(adoptions, Problem)
    origin = next((a for a in adoptions.items if a.is_origin), adoptions.items[0])
    taken = {a.site_code for a in adoptions.items}
    trusts = list_sites.sync(client=spread, kind=ListSitesKind.TRUST, limit=500)
    assert trusts is not None and not isinstance(trusts, Problem)
    site_code, csv_site = [s.code for s in trusts.items if s.code not in taken][:2]
    made = create_adoption.sync_detailed(
        innovation.id,
        client=spread,
        body=AdoptionCreate(
            site_code=site_code,
            started_on=today,
            stage=AdoptionCreateStage.EXPLORING,
            sources=[SourceIn(adoption_id=origin.id, channel=SourceInChannel.PEER_VISIT)],
        ),
    )
    assert made.status_code == 201, made.content
    adoption = made.parsed
    assert adoption is not None and not isinstance(adoption, Problem)
    print(f"adopted at {site_code}, learned from {origin.site_code}")

    # 4. Its lineage: where it came from.
    lineage = get_adoption_lineage.sync(adoption.id, client=spread, direction=GetAdoptionLineageDirection.UPSTREAM)
    assert lineage is not None and not isinstance(lineage, Problem)
    nodes = {n.adoption_id for n in lineage.nodes}
    assert {origin.id, adoption.id} <= nodes, "the lineage links it to its source"
    print(f"lineage: {len(lineage.nodes)} adoptions, {len(lineage.edges)} links")

    # 5. A partner's spreadsheet: a CSV batch.
    csv = (
        "innovation,siteCode,stage,startedOn,learnedFrom,externalId\n"
        f"{innovation.slug},{csv_site},exploring,{today},{origin.site_code}:learning_network,py-example-1\n"
    )
    batch = create_submission.sync(
        client=spread,
        body=File(payload=io.BytesIO(csv.encode()), mime_type="text/csv"),
        mode=CreateSubmissionMode.PARTIAL,
        idempotency_key=f"py-{uuid.uuid4()}",
    )
    assert batch is not None and not isinstance(batch, Problem), batch
    assert batch.summary.created == 1, batch.summary
    print(f"submitted a CSV batch: {batch.summary.to_dict()}")

    # 6. A refusal is a problem document naming the field at fault.
    refused = create_adoption.sync_detailed(
        innovation.id, client=spread, body=AdoptionCreate(site_code="ZZZ99", started_on=today)
    )
    assert refused.status_code == 422 and refused.headers["Content-Type"] == "application/problem+json"
    problem = refused.parsed
    assert isinstance(problem, Problem), problem
    assert isinstance(problem.errors, list) and any(e.field == "siteCode" for e in problem.errors)
    print(f"refused: {problem.title}: {problem.detail}")
    print("python client: all steps passed")


if __name__ == "__main__":
    main()
