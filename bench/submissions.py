"""Bulk submission throughput: a 10,000-row CSV with learned-from links and adaptations.

Creates a throwaway database (on BENCH_DATABASE_URL's server, else PostgreSQL at
127.0.0.1:5432), migrates it, loads the NHS reference sites, creates innovations with origin
adoptions, then builds a CSV of 10,000 adoption reports over real trusts and hospital sites:
every report learns from one or two earlier adoptions of its innovation (in the registry or
anywhere in the batch, which is shuffled), a third carry adaptations naming core components.
It POSTs the CSV in-process (httpx ASGITransport, the whole app: auth, parsing, validation,
writes, triggers, change log) and reports rows per second end to end, then re-sends it
(every row unchanged) and sends a copy with a quarter of the stages moved on. Each line shows
the wall time of the bulk statements; ``--profile`` adds the time spent in each SQL function
(the triggers), from ``pg_stat_user_functions``.

    python bench/submissions.py [--rows 10000] [--innovations 20] [--seed 7] [--keep] [--profile]

``--fresh`` measures a partner's first load into a fresh registry instead: no reference sites,
10,000 sites of kind ``other``, one innovation, and one 9,999-row JSON batch in which every row
learns from an earlier row of the same batch (a tree 9 generations deep, three learners per
adoption), so every table the batch writes starts empty.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import io
import json
import os
import random
import time
import uuid
from collections import defaultdict
from typing import Any

import asyncpg
import httpx

from service import migrate
from service.app import create_app
from service.auth.keys import create_key
from service.config import Settings
from service.db import connect, pool_lifespan
from service.embedded import with_database
from service.sites.importer import import_reference_sites
from service.submissions import queries

try:
    from service.submissions import bulk
except ImportError:  # before the writer's statements moved to their own module
    bulk = queries

CHANNELS = ["peer_visit", "learning_network", "collaborative", "community_of_practice", "conference", "publication"]
COMPONENTS = [
    {"key": "daily_huddle", "name": "Daily multidisciplinary huddle"},
    {"key": "remote_monitoring", "name": "Remote monitoring"},
    {"key": "step_up_pathway", "name": "Step-up pathway from the community"},
]
STAGES = ["exploring", "planning", "piloting", "implementing", "sustaining"]


def build_rows(innovations: list[tuple[str, str]], sites: list[str], rows: int, rng: random.Random) -> list[dict]:
    """Reports over real sites: per innovation a growing tree of who learned from whom."""
    per = -(-rows // len(innovations))
    out: list[dict[str, str]] = []
    for slug, origin in innovations:
        chosen = rng.sample([s for s in sites if s != origin], min(per, len(sites) - 1, rows - len(out)))
        starts = {origin: dt.date(2019, 1, 1)}
        earlier = [origin]
        day = dt.date(2019, 1, 1)
        for site in chosen:
            day += dt.timedelta(days=rng.choice([0, 1, 1, 2]))
            sources = rng.sample(earlier[-200:], min(len(earlier), rng.choice([1, 1, 2])))
            links = []
            for source in sources:
                on = max(starts[source], day - dt.timedelta(days=rng.randint(0, 20)))
                links.append(f"{source}:{rng.choice(CHANNELS)}:{on.isoformat()}")
            adaptations = []
            if rng.random() < 0.35:
                adaptations.append(
                    {
                        "description": f"Adapted for {site}: run by community nurses",
                        "phase": "implementation",
                        "whatModified": rng.choice(["content", "context", "training"]),
                        "nature": rng.choice(["tailoring", "adding", "shortening"]),
                        "fidelity": "consistent",
                        "coreComponentKeys": rng.sample([c["key"] for c in COMPONENTS], rng.randint(1, 2)),
                        "decidedBy": ["clinical_lead"],
                        "goals": ["fit"],
                    }
                )
            out.append(
                {
                    "innovation": slug,
                    "siteCode": site,
                    "stage": rng.choice(STAGES),
                    "startedOn": day.isoformat(),
                    "learnedFrom": ";".join(links),
                    "adaptations": json.dumps(adaptations) if adaptations else "",
                    "externalId": f"BENCH-{slug[-2:]}-{site}",
                    "notes": "",
                }
            )
            starts[site] = day
            earlier.append(site)
    rng.shuffle(out)
    return out


def to_csv(rows: list[dict[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()


class Timer:
    """Wall time per bulk statement, by wrapping the query functions."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)

    def wrap(self, name: str) -> None:
        original = getattr(queries, name, None) or getattr(bulk, name, None)
        module = queries if hasattr(queries, name) else bulk
        if original is None:
            return

        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                self.spent[name] += time.perf_counter() - started

        setattr(module, name, timed)


_seen: dict[str, tuple[int, float, float]] = {}


async def profile(conn: asyncpg.Connection, show: bool = True) -> None:
    """Calls and self/total milliseconds per SQL function since the last call (track_functions)."""
    rows = await conn.fetch(
        "SELECT funcname, calls, self_time, total_time FROM pg_stat_user_functions ORDER BY self_time DESC"
    )
    lines = []
    for r in rows:
        calls, self_ms, total_ms = r["calls"], r["self_time"], r["total_time"]
        before = _seen.get(r["funcname"], (0, 0.0, 0.0))
        _seen[r["funcname"]] = (calls, self_ms, total_ms)
        if calls > before[0]:
            lines.append(
                (
                    self_ms - before[1],
                    f"{r['funcname']} x{calls - before[0]}: self {self_ms - before[1]:.0f} ms, total {total_ms - before[2]:.0f} ms",
                )
            )
    for _, line in sorted(lines, reverse=True)[: 8 if show else 0]:
        print("      " + line)


def fresh_rows(slug: str, sites: list[str]) -> list[dict[str, Any]]:
    """Row k (site k, k >= 1) learns from site (k - 1) // 3: site 0 is the origin, depth 9 at 10,000."""
    start = {0: dt.date(2019, 1, 1)}
    out: list[dict[str, Any]] = []
    for k in range(1, len(sites)):
        parent = (k - 1) // 3
        start[k] = start[parent] + dt.timedelta(days=30 + k % 7)
        out.append(
            {
                "innovation": slug,
                "siteCode": sites[k],
                "stage": STAGES[k % len(STAGES)],
                "startedOn": start[k].isoformat(),
                "learnedFrom": [{"siteCode": sites[parent], "channel": CHANNELS[k % len(CHANNELS)]}],
                "externalId": f"FRESH-{k:05d}",
            }
        )
    return out


async def fresh(
    conn: asyncpg.Connection, settings: Settings, sites_count: int, show_profile: bool, dry_run: bool
) -> None:
    """A first load into a fresh registry: every table the batch writes is empty."""
    sites = [f"F{k:05d}" for k in range(sites_count)]
    await conn.execute(
        "INSERT INTO sites (code, name, kind) SELECT c, 'Fresh site ' || c, 'other' FROM unnest($1::text[]) c", sites
    )
    slug = "fresh-innovation"
    innovation_id = await conn.fetchval(
        """INSERT INTO innovations (slug, title, category, evidence_level, origin_site_code, originated_on,
                                    core_components)
           VALUES ($1, $1, 'models_of_care', 'peer_reviewed', $2, '2019-01-01', $3) RETURNING id""",
        slug,
        sites[0],
        COMPONENTS,
    )
    await conn.execute(
        """INSERT INTO adoptions (innovation_id, site_code, stage, started_on, is_origin)
           VALUES ($1, $2, 'sustaining', '2019-01-01', true)""",
        innovation_id,
        sites[0],
    )
    _, secret = await create_key(conn, "Fresh partner", ["read", "write", "admin"])
    rows = fresh_rows(slug, sites)
    body = json.dumps(rows).encode()
    print(f"fresh registry: {len(rows):,} rows, one innovation, {len(sites):,} sites, {len(body) / 1e6:.1f} MB of JSON")
    app = create_app(settings)
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    async with pool_lifespan(settings)(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=600) as client:
            if show_profile:
                await asyncio.sleep(1.2)
                await profile(conn, show=False)
            tries = [("dry run (nothing written)", "?dryRun=true")] if dry_run else []
            for label, query in [*tries, ("first load (all created)", "")]:
                started = time.perf_counter()
                r = await client.post("/v1/submissions" + query, content=body, headers=headers)
                elapsed = time.perf_counter() - started
                assert r.status_code in (200, 201), r.text[:2000]
                print(f"{label:<34} {elapsed:6.2f} s  {len(rows) / elapsed:8,.0f} rows/s   {r.json()['summary']}")
                if show_profile:
                    await asyncio.sleep(1.2)
                    await profile(conn)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--innovations", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="Keep the throwaway database")
    parser.add_argument("--profile", action="store_true", help="Also show the time spent in each SQL function")
    parser.add_argument("--fresh", action="store_true", help="A first JSON load into a fresh registry instead")
    parser.add_argument("--no-dry-run", action="store_true", help="With --fresh: no dry run before the load")
    args = parser.parse_args()
    rng = random.Random(args.seed)

    server = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"spread_bench_submissions_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = with_database(server, name)
    try:
        await asyncio.to_thread(migrate.upgrade, dsn)
        if args.profile:
            await admin.execute(f"ALTER DATABASE \"{name}\" SET track_functions = 'all'")
        # A generous statement timeout: the point is to measure, also on a busy machine.
        settings = Settings(database_url=dsn, pool_min_size=1, pool_max_size=4, statement_timeout_ms=600_000)
        conn = await connect(dsn, settings)
        if args.fresh:
            await fresh(conn, settings, args.rows, args.profile, not args.no_dry_run)
            await conn.close()
            return
        await import_reference_sites(conn)
        sites = [
            r["code"]
            for r in await conn.fetch("SELECT code FROM sites WHERE kind IN ('trust', 'trust_site') ORDER BY code")
        ]
        innovations = []
        for i in range(args.innovations):
            slug = f"bench-innovation-{i:02d}"
            origin = rng.choice(sites)
            innovation_id = await conn.fetchval(
                """INSERT INTO innovations (slug, title, category, evidence_level, origin_site_code, originated_on,
                                            core_components)
                   VALUES ($1, $1, 'models_of_care', 'peer_reviewed', $2, '2019-01-01', $3) RETURNING id""",
                slug,
                origin,
                COMPONENTS,
            )
            await conn.execute(
                """INSERT INTO adoptions (innovation_id, site_code, stage, started_on, is_origin)
                   VALUES ($1, $2, 'sustaining', '2019-01-01', true)""",
                innovation_id,
                origin,
            )
            innovations.append((slug, origin))
        _, secret = await create_key(conn, "Bench partner", ["read", "write", "admin"])
        rows = build_rows(innovations, sites, args.rows, rng)
        body = to_csv(rows)
        links = sum(len(r["learnedFrom"].split(";")) for r in rows)
        adaptations = sum(len(json.loads(r["adaptations"])) for r in rows if r["adaptations"])
        print(
            f"{len(rows):,} rows over {len(sites)} sites and {args.innovations} innovations: "
            f"{links:,} learned-from links, {adaptations:,} adaptations, {len(body) / 1e6:.1f} MB of CSV"
        )

        timer = Timer()
        for fn in (
            "adoptions_of",
            "links_of",
            "insert_adoptions",
            "update_adoptions",
            "insert_links",
            "insert_adaptations",
            "insert_submission",
            "resolve_innovations",
            "flush_search",
            "analyze",
            "adaptations_of",
        ):
            timer.wrap(fn)
        app = create_app(settings)
        headers = {"Authorization": f"Bearer {secret}", "Content-Type": "text/csv"}
        async with pool_lifespan(settings)(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=600) as client:

                async def send(label: str, payload: bytes) -> dict:
                    timer.spent.clear()
                    started = time.perf_counter()
                    r = await client.post("/v1/submissions", content=payload, headers=headers)
                    elapsed = time.perf_counter() - started
                    assert r.status_code in (200, 201), r.text[:2000]
                    summary = r.json()["summary"]
                    print(
                        f"{label:<34} {elapsed:6.2f} s  {len(rows) / elapsed:8,.0f} rows/s   {summary}"
                        + "\n    "
                        + ", ".join(
                            f"{k} {v * 1000:.0f} ms" for k, v in sorted(timer.spent.items(), key=lambda kv: -kv[1])
                        )
                    )
                    if args.profile:
                        await asyncio.sleep(1.2)  # function statistics are flushed about once a second
                        await profile(conn)
                    return r.json()

                if args.profile:  # start the function statistics after the set-up
                    await asyncio.sleep(1.2)
                    await profile(conn, show=False)
                await send("first submission (all created)", body)
                await send("re-sent (all unchanged)", body)
                moved = [dict(r) for r in rows]
                for r in moved[::4]:
                    r["stage"] = "sustaining" if r["stage"] != "sustaining" else "implementing"
                await send("a quarter of the stages moved", to_csv(moved))
        stats = await conn.fetchrow(
            """SELECT (SELECT count(*) FROM adoptions) AS adoptions, (SELECT count(*) FROM adoption_sources) AS links,
                      (SELECT count(*) FROM adaptations) AS adaptations, (SELECT count(*) FROM changes) AS changes"""
        )
        print("database now holds", dict(stats))
        await conn.close()
    finally:
        if not args.keep:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            print("kept database", dsn)
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
