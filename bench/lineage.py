"""Lineage benchmark: one innovation with 10,000 adoptions over 8 generations.

Usage::

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres python bench/lineage.py [--runs 40]

- A server URL (database ``postgres``, ``template1`` or none) makes a throwaway database
  ``spread_bench_<random>``: migrated, loaded with the NHS reference sites, seeded, measured
  and dropped at the end.
- Any other database is used as it is: it must be migrated to head (``spread migrate``); the
  reference sites are loaded if missing and a new bench innovation (slug ``bench-lineage-...``,
  ``isDemo`` true) plus its ``BENCH-nnnnn`` sites are left behind.

Seeding is direct SQL in ``unnest`` batches (so the registry's triggers still check every
learned-from link). Generation sizes 10, 40, 150, 400, 900, 1,800, 2,900, 3,800; every
adoption after generation 1 learns from one adoption of the previous generation and, 30% of
the time, from a second one; about 3,000 adaptations. The registry allows one open adoption
of an innovation per site, and the reference data holds ~630 sites, so the spread covers
every reference trust and hospital site first and then ``other``-kind bench sites
(``BENCH-00001`` ...) placed under a real trust (their region and ICB follow from it) within a
few km of one of its hospitals.

Measured in-process (httpx ``ASGITransport`` against ``create_app``, auth included): the full
JSON lineage built for every request ("cold": the kept answers of ``service.lineage.cache``
emptied first, as after a change to the spread) and as a repeated read (the version check and
the kept answer), each without and with ``Accept-Encoding: gzip``, the upstream lineage of a generation-8 adoption, and the GeoJSON form; p50 and
p95 over ``--runs`` requests after warm-up, plus the graph statement alone for reference.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import math
import os
import random
import time
import uuid
from typing import Any

import asyncpg
import httpx

from service import migrate
from service.app import create_app
from service.auth.keys import create_key
from service.config import Settings
from service.db import connect, pool_lifespan
from service.embedded import with_database
from service.lineage import queries
from service.lineage.cache import AnswerCache
from service.sites.importer import import_reference_sites
from service.vocab import CHANNELS

GENERATIONS = [10, 40, 150, 400, 900, 1_800, 2_900, 3_800]
SECOND_SOURCE = 0.3
ADAPTATIONS = 3_000
BATCH = 1_000
STAGES = ["exploring", "planning", "piloting", "implementing", "implementing", "sustaining", "sustaining"]


def _server_url(dsn: str) -> bool:
    name = dsn.partition("?")[0].rsplit("/", 1)[-1]
    return name in ("", "postgres", "template1")


async def _sites(conn: asyncpg.Connection, needed: int, rng: random.Random) -> list[str]:
    """Real trusts and hospital sites first, then bench sites under real trusts."""
    real = [
        r["code"]
        for r in await conn.fetch("SELECT code FROM sites WHERE kind IN ('trust', 'trust_site') ORDER BY code")
    ]
    rng.shuffle(real)
    if needed <= len(real):
        return real[:needed]
    anchors = await conn.fetch(
        """
        SELECT t.code, coalesce(h.latitude, i.latitude) AS lat, coalesce(h.longitude, i.longitude) AS lon
        FROM sites t
        LEFT JOIN LATERAL (SELECT latitude, longitude FROM sites h WHERE h.parent_code = t.code
                           AND h.latitude IS NOT NULL ORDER BY h.code LIMIT 1) h ON true
        LEFT JOIN sites i ON i.code = t.icb_code
        WHERE t.kind = 'trust' AND t.region_code IS NOT NULL AND coalesce(h.latitude, i.latitude) IS NOT NULL
        ORDER BY t.code
        """
    )
    extra = needed - len(real)
    codes, names, parents, lats, lons = [], [], [], [], []
    for k in range(extra):
        anchor = anchors[k % len(anchors)]
        angle, radius = rng.uniform(0, 2 * math.pi), rng.uniform(1, 8) / 111.0
        codes.append(f"BENCH-{k + 1:05d}")
        names.append(f"Bench practice {k + 1} near {anchor['code']}")
        parents.append(anchor["code"])
        lats.append(anchor["lat"] + radius * math.sin(angle))
        lons.append(anchor["lon"] + radius * math.cos(angle) / max(math.cos(math.radians(anchor["lat"])), 0.1))
    await conn.execute(
        """
        INSERT INTO sites (code, name, kind, parent_code, latitude, longitude)
        SELECT * FROM unnest($1::text[], $2::text[], array_fill('other'::text, ARRAY[cardinality($1::text[])]),
                             $3::text[], $4::float8[], $5::float8[])
        ON CONFLICT (code) DO NOTHING
        """,
        codes,
        names,
        parents,
        lats,
        lons,
    )
    return real + codes


async def seed(conn: asyncpg.Connection, seed_value: int = 7) -> dict[str, Any]:
    rng = random.Random(seed_value)
    await conn.execute("SET statement_timeout = 0")
    total = sum(GENERATIONS)
    sites = await _sites(conn, total, rng)
    slug = f"bench-lineage-{uuid.uuid4().hex[:8]}"
    components = [{"key": f"c{i}", "name": f"Component {i}"} for i in range(1, 6)]
    innovation_id = await conn.fetchval(
        """
        INSERT INTO innovations (slug, title, category, evidence_level, origin_site_code, originated_on,
                                 core_components, is_demo)
        VALUES ($1, 'Bench: a national spread', 'models_of_care', 'multi_site_evaluation', $2, '2015-01-01', $3, true)
        RETURNING id
        """,
        slug,
        sites[0],
        components,
    )
    ids = [uuid.uuid4() for _ in range(total)]
    generation_of: list[int] = []
    started: list[Any] = []
    day0 = dt.date(2015, 1, 1)
    for g, size in enumerate(GENERATIONS, start=1):
        for _ in range(size):
            generation_of.append(g)
            started.append(day0 + dt.timedelta(days=(g - 1) * 150 + rng.randrange(0, 140)))
    stages = [rng.choice(STAGES) for _ in range(total)]
    discontinued = [s == "exploring" and rng.random() < 0.3 for s in stages]
    stages = ["discontinued" if d else s for s, d in zip(stages, discontinued, strict=True)]
    for lo in range(0, total, BATCH):
        hi = min(lo + BATCH, total)
        await conn.execute(
            """
            INSERT INTO adoptions (id, innovation_id, site_code, stage, started_on, is_origin, discontinued_reason)
            SELECT v.id, $1, v.site, v.stage, v.started, v.origin,
                   CASE WHEN v.stage = 'discontinued' THEN 'bench: stopped' END
            FROM unnest($2::uuid[], $3::text[], $4::text[], $5::date[], $6::bool[]) AS v (id, site, stage, started, origin)
            """,
            innovation_id,
            ids[lo:hi],
            sites[lo:hi],
            stages[lo:hi],
            started[lo:hi],
            [i == 0 for i in range(lo, hi)],
        )

    by_generation: dict[int, list[int]] = {}
    for i, g in enumerate(generation_of):
        by_generation.setdefault(g, []).append(i)
    learners, sources, channels = [], [], []
    for i, g in enumerate(generation_of):
        if g == 1:
            continue
        previous = by_generation[g - 1]
        picks = {rng.choice(previous)}
        if rng.random() < SECOND_SOURCE and len(previous) > 1:
            picks.add(rng.choice(previous))
        for p in picks:
            learners.append(ids[i])
            sources.append(ids[p])
            channels.append(rng.choice(CHANNELS))
    await conn.execute("ANALYZE adoptions")
    for lo in range(0, len(learners), BATCH):
        # keep statistics current: the link trigger's recursive checks are planned from them
        await conn.execute("ANALYZE adoption_sources")
        await conn.execute(
            """
            INSERT INTO adoption_sources (adoption_id, source_adoption_id, channel)
            SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[])
            """,
            learners[lo : lo + BATCH],
            sources[lo : lo + BATCH],
            channels[lo : lo + BATCH],
        )

    adapted = [rng.randrange(total) for _ in range(ADAPTATIONS)]
    await conn.execute(
        """
        INSERT INTO adaptations (adoption_id, innovation_id, description, phase, what_modified, nature,
                                 core_component_keys)
        SELECT v.adoption, $1, 'bench adaptation', 'implementation', 'content', 'tailoring', ARRAY[v.key]
        FROM unnest($2::uuid[], $3::text[]) AS v (adoption, key)
        """,
        innovation_id,
        [ids[i] for i in adapted],
        [f"c{rng.randrange(1, 7)}" for _ in adapted],  # c6 is no core component: "other"
    )
    await conn.execute("ANALYZE adoptions; ANALYZE adoption_sources; ANALYZE adaptations; ANALYZE sites")
    deep = ids[by_generation[len(GENERATIONS)][-1]]
    return {"innovation_id": innovation_id, "deep": deep, "links": len(learners), "adoptions": total}


def _pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    k = (len(ordered) - 1) * p
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


async def measure(dsn: str, seeded: dict[str, Any], runs: int) -> list[tuple[str, float, float, int, str]]:
    settings = Settings(database_url=dsn, pool_min_size=1, pool_max_size=4)
    conn = await connect(dsn, settings)
    try:
        _, secret = await create_key(conn, "Bench", ["read"])
        count = await conn.fetchval("SELECT adoption_count FROM innovations WHERE id = $1", seeded["innovation_id"])
        sql_times = []
        for i in range(runs + 3):
            t0 = time.perf_counter()
            statement = queries.SPREAD_LARGE if count > queries.LARGE_SPREAD else queries.SPREAD
            rows = await conn.fetch(statement, seeded["innovation_id"], queries.MAX_WALK + 1, queries.MAX_LINKS + 1)
            if i >= 3:
                sql_times.append((time.perf_counter() - t0) * 1000)
        sql_nodes = sum(1 for r in rows if r["source"] is None)  # node rows (link rows follow them)
    finally:
        await conn.close()

    headers = {"Authorization": f"Bearer {secret}"}
    identity = {"Accept-Encoding": "identity"}
    gzip = {"Accept-Encoding": "gzip"}
    full = f"/v1/innovations/{seeded['innovation_id']}/lineage"
    cases = [
        ("full lineage, JSON, built (cold)", full, identity),
        ("full lineage, JSON, gzip, built (cold)", full, gzip),
        ("full lineage, JSON", full, identity),
        ("full lineage, JSON, gzip", full, gzip),
        ("upstream of a generation-8 adoption", f"/v1/adoptions/{seeded['deep']}/lineage?direction=upstream", identity),
        ("full lineage, GeoJSON", f"/v1/innovations/{seeded['innovation_id']}/lineage?format=geojson", identity),
    ]
    results = [("graph statement alone (SQL)", _pct(sql_times, 0.5), _pct(sql_times, 0.95), sql_nodes, "-")]
    app = create_app(settings)
    async with pool_lifespan(settings)(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for label, url, encoding in cases:
                times = []
                for i in range(runs + 3):
                    if "cold" in label:  # every request builds the answer, as after a change
                        app.state["lineage_answers"] = AnswerCache()
                    t0 = time.perf_counter()
                    r = await client.get(url, headers={**headers, **encoding})
                    elapsed = (time.perf_counter() - t0) * 1000
                    if r.status_code != 200:
                        raise SystemExit(f"{url}: {r.status_code} {r.text[:300]}")
                    if i >= 3:
                        times.append(elapsed)
                body = r.json()
                nodes = (
                    len(body["nodes"])
                    if "nodes" in body
                    else sum(1 for f in body["features"] if f["properties"]["kind"] == "adoption")
                )
                wire = int(r.headers.get("content-length", len(r.content)))
                results.append((label, _pct(times, 0.5), _pct(times, 0.95), nodes, f"{wire / 1e6:.1f} MB"))
    return results


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=40, help="measured requests per case (after 3 warm-ups)")
    args = parser.parse_args()
    dsn = os.environ.get("DATABASE_URL")
    if not dsn:
        raise SystemExit("Set DATABASE_URL (a server URL makes a throwaway database); see the top of this file.")
    throwaway = None
    if _server_url(dsn):
        throwaway = f"spread_bench_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(dsn)
        await admin.execute(f'CREATE DATABASE "{throwaway}"')
        await admin.close()
        dsn = with_database(dsn, throwaway)
    elif await migrate.current_revision(dsn) != migrate.head_revision():
        raise SystemExit("The database is not migrated to head; run `spread migrate` first.")
    try:
        if throwaway:
            print(f"Throwaway database {throwaway}: migrating ...")
            await asyncio.to_thread(migrate.upgrade, dsn)
        conn = await connect(dsn, Settings(database_url=dsn))
        try:
            await import_reference_sites(conn)
            t0 = time.perf_counter()
            seeded = await seed(conn)
            print(
                f"Seeded {seeded['adoptions']:,} adoptions over {len(GENERATIONS)} generations, "
                f"{seeded['links']:,} learned-from links, {ADAPTATIONS:,} adaptations in {time.perf_counter() - t0:.1f} s"
            )
        finally:
            await conn.close()
        results = await measure(dsn, seeded, args.runs)
        print(f"\n{'case':<40} {'p50 ms':>8} {'p95 ms':>8} {'nodes':>7} {'body':>8}")
        for label, p50, p95, nodes, size in results:
            print(f"{label:<40} {p50:>8.1f} {p95:>8.1f} {nodes:>7,} {size:>8}")
    finally:
        if throwaway:
            admin = await asyncpg.connect(with_database(dsn, "postgres"))
            await admin.execute(f'DROP DATABASE IF EXISTS "{throwaway}" WITH (FORCE)')
            await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
