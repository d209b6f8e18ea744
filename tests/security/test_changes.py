"""The change feed and per-record history: submissions are their partner's, webhooks admins'."""

from __future__ import annotations

import httpx

from tests.conftest import KeyMaker
from tests.security.helpers import feed
from tests.submissions.helpers import innovation, report, submit


async def test_changes_feed_hides_other_partners_submissions(
    client: httpx.AsyncClient, make_key: KeyMaker, admin, reader, conn
) -> None:
    own = await make_key("read,write", partner="Submitting HIN", sites=["QE1"])
    other = await make_key("read,write", partner="Curious HIN", sites=["QRV"])
    await innovation(conn, origin="RQM")
    r = await submit(client, own, [report("RXN")])
    assert r.status_code == 201, r.text
    submission_id = r.headers["location"].rsplit("/", 1)[-1]

    seen_by_admin = await feed(client, admin, "submission", until=1)
    assert [c["entityId"] for c in seen_by_admin] == [submission_id]
    assert [c["entityId"] for c in await feed(client, own, "submission")] == [submission_id]
    for outsider in (other, reader):
        assert await feed(client, outsider, "submission") == []
        r = await client.get(f"/v1/changes?entityId={submission_id}", headers=outsider)
        assert r.status_code == 200 and r.json()["items"] == []
        r = await client.get("/v1/changes?limit=500", headers=outsider)
        assert all(c["entity"] != "submission" for c in r.json()["items"])
    # the adoption the submission wrote is public, as before
    adoptions = await feed(client, other, "adoption", until=2)  # the origin's, and the submitted one
    assert [c["after"]["siteCode"] for c in adoptions] == ["RQM", "RXN"]


async def test_changes_feed_hides_webhooks_from_partners(
    client: httpx.AsyncClient, make_key: KeyMaker, admin, reader, conn
) -> None:
    partner = await make_key("read,write", partner="Curious HIN")
    # The row a webhook registration logs, written as the trigger would (independent of the
    # webhook API's own URL checks).
    await conn.execute(
        """
        INSERT INTO changes (entity, entity_id, action, after)
        VALUES ('webhook', '00000000-0000-0000-0000-0000000000aa', 'create', '{"events": ["adoption.*"]}')
        """
    )
    assert len(await feed(client, admin, "webhook", until=1)) == 1
    for outsider in (partner, reader):
        assert await feed(client, outsider, "webhook") == []
        r = await client.get("/v1/changes?entityId=00000000-0000-0000-0000-0000000000aa", headers=outsider)
        assert r.json()["items"] == []
