"""The Coleman-Katz-Menzel import: counts, dates, channels, idempotency, and its lineage."""

from __future__ import annotations

import datetime as dt

import httpx
from click.testing import CliRunner

from service.demo.ckm import CITATION, import_ckm

# Independently counted from the source files: 109 physicians adopted in months 1-17; 119
# (learner, named earlier adopter) pairs, 67 first named as adviser, 28 in discussion, 24 as friend.


async def test_import_counts_and_idempotency(conn) -> None:
    steps: list[tuple[str, int, int]] = []
    result = await import_ckm(conn, lambda step, done, total: steps.append((step, done, total)))
    assert steps == [("sites", 1, 4), ("innovation", 2, 4), ("adoptions", 3, 4), ("learned-from links", 4, 4)]
    assert result["physicians"] == 246 and result["adopters"] == 109 and result["excluded"] == 137
    assert result["links"] == 119
    assert result["created"] == {"sites": 109, "innovation": 1, "adoptions": 109, "links": 119}
    assert "Sociometry 20 (1957)" in result["citation"] == CITATION

    innovation = await conn.fetchrow(
        "SELECT id, title, origin_site_code, originated_on, category, is_demo, adoption_count, site_count"
        " FROM innovations WHERE slug = 'tetracycline-ckm-1957'"
    )
    assert str(innovation["id"]) == result["innovationId"]
    assert innovation["title"] == "Tetracycline prescribing (Coleman, Katz & Menzel 1957)"
    assert innovation["origin_site_code"] == "CKM-001" and innovation["originated_on"] == dt.date(1953, 11, 1)
    assert innovation["category"] == "pharmaceutical" and innovation["is_demo"]
    assert innovation["adoption_count"] == 109 and innovation["site_count"] == 109

    site = await conn.fetchrow("SELECT name, kind, latitude, longitude FROM sites WHERE code = 'CKM-002'")
    assert site["name"] == "Physician 2, Peoria (CKM 1957)" and site["kind"] == "other"
    assert abs(site["latitude"] - 40.69) < 0.05 and abs(site["longitude"] + 89.59) < 0.05
    assert await conn.fetchval("SELECT count(*) FROM sites WHERE code = 'CKM-007'") == 0  # never adopted (18)
    assert await conn.fetchval("SELECT count(*) FROM sites WHERE code = 'CKM-040'") == 0  # unknown (98 or 99)

    # month 1 is November 1953: physician 1 adopted in month 1, 2 in month 12, 3 in month 8
    started = dict(
        await conn.fetch(
            "SELECT site_code, started_on FROM adoptions WHERE innovation_id = $1 AND site_code IN "
            "('CKM-001', 'CKM-002', 'CKM-003')",
            innovation["id"],
        )
    )
    assert started == {"CKM-001": dt.date(1953, 11, 1), "CKM-002": dt.date(1954, 10, 1), "CKM-003": dt.date(1954, 6, 1)}
    channels = dict(
        await conn.fetch(
            "SELECT s.channel, count(*) FROM adoption_sources s JOIN adoptions a ON a.id = s.adoption_id"
            " WHERE a.innovation_id = $1 GROUP BY s.channel",
            innovation["id"],
        )
    )
    assert channels == {"peer_visit": 67, "community_of_practice": 28, "other": 24}

    # system work: the change log has no actor
    actors = await conn.fetch(
        "SELECT DISTINCT key_id, partner_id, request_id FROM changes WHERE entity_id = $1 OR entity_id LIKE 'CKM-%'",
        str(innovation["id"]),
    )
    assert [tuple(r) for r in actors] == [(None, None, None)]

    before = await conn.fetchval("SELECT count(*) FROM changes")
    again = await import_ckm(conn)
    assert again["created"] == {"sites": 0, "innovation": 0, "adoptions": 0, "links": 0}
    assert again["innovationId"] == result["innovationId"]
    assert await conn.fetchval("SELECT count(*) FROM changes") == before


async def test_ckm_lineage(client: httpx.AsyncClient, reader, conn) -> None:
    result = await import_ckm(conn)
    r = await client.get(f"/v1/innovations/{result['innovationId']}/lineage", headers=reader)
    assert r.status_code == 200, r.text
    stats = r.json()["stats"]
    assert stats["adoptions"] == 109 and stats["sites"] == 109 and stats["regions"] == 0
    assert stats["roots"] == 49 and stats["generations"] == [49, 51, 9]
    assert stats["channels"]["peer_visit"] == 67 and stats["channels"]["community_of_practice"] == 28
    top = stats["mostInfluential"][0]
    assert top["siteCode"] == "CKM-029" and top["directLearners"] == 13
    r = await client.get(f"/v1/innovations/{result['innovationId']}/lineage?format=mermaid", headers=reader)
    assert r.text.count("-->") == 119


def test_cli_command(db_dsn: str, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", db_dsn)
    from service.cli import main

    out = CliRunner().invoke(main, ["import-ckm"])
    assert out.exit_code == 0, out.output
    assert "109 adopting physicians of 246" in out.output
    assert "Created 109 sites, 1 innovation, 109 adoptions, 119 links" in out.output
    assert "Coleman, E. Katz, H. Menzel" in out.output
    out = CliRunner().invoke(main, ["import-ckm"])
    assert "Created 0 sites, 0 innovation, 0 adoptions, 0 links" in out.output
