"""externalId is the recording partner's own reference: nobody else sets it or learns it."""

from __future__ import annotations

import httpx

from tests.conftest import KeyMaker
from tests.factories import adopt, make_innovation
from tests.security.helpers import changes_count, refused
from tests.submissions.helpers import innovation as arranged_innovation
from tests.submissions.helpers import report, submit


async def test_partner_cannot_overwrite_another_partners_external_id(
    client: httpx.AsyncClient, make_key: KeyMaker, conn
) -> None:
    trust = await make_key("read,write", partner="RXN trust", sites=["RXN"])
    icb = await make_key("read,write", partner="Lancashire ICB", sites=["QE1"])  # covers RXN too
    innovation = await make_innovation(client, icb, originSiteCode="QE1")
    r = await adopt(client, trust, innovation["id"], "RXN", "2022-01-01", externalId="TRUST-7")
    assert r.status_code == 201, r.text
    adoption = r.json()
    before = await changes_count(conn)
    for value in ("ICB-1", None):
        r = await client.patch(f"/v1/adoptions/{adoption['id']}", json={"externalId": value}, headers=icb)
        refused(r, 403, "forbidden", "only the partner that recorded this adoption, or an administrator")
    assert await conn.fetchval("SELECT external_id FROM adoptions WHERE id = $1", adoption["id"]) == "TRUST-7"
    assert await changes_count(conn) == before
    # the covering partner may still change what it is allowed to: the stage
    r = await client.patch(f"/v1/adoptions/{adoption['id']}", json={"stage": "sustaining"}, headers=icb)
    assert r.status_code == 200, r.text
    # and the recording partner sets its own reference
    r = await client.patch(f"/v1/adoptions/{adoption['id']}", json={"externalId": "TRUST-8"}, headers=trust)
    assert r.status_code == 200 and r.json()["externalId"] == "TRUST-8"


async def test_external_id_refusal_does_not_reveal_another_partners_values(
    client: httpx.AsyncClient, make_key: KeyMaker, conn
) -> None:
    trust = await make_key("read,write", partner="RXN trust", sites=["RXN", "RQM"])
    icb = await make_key("read,write", partner="Lancashire ICB", sites=["QE1"])
    innovation = await make_innovation(client, trust, originSiteCode="RQM")
    r = await adopt(client, trust, innovation["id"], "RXN", "2022-01-01")
    assert r.status_code == 201, r.text
    target = r.json()["id"]
    # the origin adoption (at RQM, by the trust) holds the value the ICB probes for
    listed = await client.get(f"/v1/innovations/{innovation['id']}/adoptions", headers=trust)
    origin = next(a for a in listed.json()["items"] if a["isOrigin"])
    r = await client.patch(f"/v1/adoptions/{origin['id']}", json={"externalId": "SECRET-1"}, headers=trust)
    assert r.status_code == 200, r.text
    taken = await client.patch(f"/v1/adoptions/{target}", json={"externalId": "SECRET-1"}, headers=icb)
    free = await client.patch(f"/v1/adoptions/{target}", json={"externalId": "UNUSED-9"}, headers=icb)
    refused(taken, 403, "forbidden", "only the partner that recorded this adoption")
    assert (taken.status_code, taken.json()["detail"]) == (free.status_code, free.json()["detail"])
    assert "SECRET-1" not in taken.text


async def test_submission_cannot_set_or_read_another_partners_external_id(
    client: httpx.AsyncClient, make_key: KeyMaker, conn
) -> None:
    trust = await make_key("read,write", partner="RXN trust", sites=["RXN"])
    icb = await make_key("read,write", partner="Lancashire ICB", sites=["QE1"])
    await arranged_innovation(conn, origin="RQM")
    r = await submit(client, trust, [report("RXN", externalId="TRUST-7")])
    assert r.status_code == 201, r.text
    r = await submit(client, icb, [report("RXN", stage="implementing", externalId="ICB-1")])
    assert r.status_code == 201, r.text
    row = r.json()["rows"][0]
    assert "TRUST-7" not in r.text
    assert any("only the partner that recorded this adoption" in w for w in row["warnings"]), row
    assert await conn.fetchval("SELECT external_id FROM adoptions WHERE site_code = 'RXN'") == "TRUST-7"
