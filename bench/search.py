"""Search benchmark: 100k innovations, 300k adaptations, 1M adoptions, then p50/p95 per query.

Usage (PostgreSQL at 127.0.0.1:5432 as user postgres, as in development):

    python bench/search.py                  # seed a throwaway database, measure, drop it
    python bench/search.py --keep           # keep the database (spread_bench_search) afterwards
    python bench/search.py --reuse          # measure an existing, kept database (no seeding;
                                            # it is migrated to the current head first)
    BENCH_SEARCH_DB=name python bench/search.py --keep   # another database name
    python bench/search.py --explain        # also print EXPLAIN ANALYZE of the statements
    python bench/search.py --scale 0.1      # a tenth of the data (quick check)
    BENCH_SERVER_DSN=postgresql://... python bench/search.py

Seeding is direct SQL (generate_series, random word picks from NHS-flavoured vocabularies
with a skewed distribution, so a few words are very common and some rare). It runs with
``session_replication_role = replica``, which skips triggers (change log, stage history,
search documents) for speed, then calls ``spread_search_rebuild()``, the same functions the
triggers use, to build the search documents and the word list. About 10 minutes on 2 cores
(ANALYZE before the rebuild matters: without statistics it plans sequential scans).

Requests go in-process through ``httpx.ASGITransport`` to ``create_app`` (the real
middleware, auth, validation, serialisation), one at a time; each case runs ``--runs`` times
after a warm-up. Figures are wall-clock per request, so they include Python: p50, p95 and p99
(nearest rank), the total (``~`` when it is an estimate, ``+`` past 10,000) and the 1-minute
load average after each case.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import statistics
import sys
import time
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service import migrate
from service.app import create_app
from service.auth.keys import create_key
from service.config import Settings
from service.db import connect, pool_lifespan
from service.embedded import with_database
from service.search import queries, statements
from service.sites.importer import import_reference_sites

DB_NAME = os.environ.get("BENCH_SEARCH_DB", "spread_bench_search")

APPROACHES = [
    "Virtual",
    "Community",
    "Remote",
    "Integrated",
    "Digital",
    "Nurse-led",
    "Pharmacist-led",
    "Rapid",
    "Enhanced",
    "Proactive",
    "Same-day",
    "Home-based",
    "Group",
    "Peer-supported",
    "Multidisciplinary",
    "Therapy-led",
    "Consultant-led",
    "Volunteer",
    "Social prescribing",
    "Self-management",
]
THINGS = [
    "wards",
    "monitoring",
    "clinic",
    "pathway",
    "triage",
    "rehabilitation",
    "review",
    "hub",
    "service",
    "programme",
    "assessment",
    "outreach",
    "coaching",
    "discharge",
    "huddles",
    "screening",
    "app",
    "referral",
    "education",
    "checklist",
]
CONDITIONS = [
    "frailty",
    "COPD",
    "heart failure",
    "diabetes",
    "falls prevention",
    "dementia",
    "sepsis",
    "stroke",
    "asthma",
    "hypertension",
    "mental health",
    "end of life care",
    "chronic pain",
    "maternity",
    "cancer screening",
    "respiratory infections",
    "malnutrition",
    "pressure ulcers",
    "delirium",
    "learning disabilities",
    "wound care",
    "continence",
    "atrial fibrillation",
    "obesity",
    "anxiety",
]
SETTINGS = [
    "in care homes",
    "at home",
    "in primary care",
    "in the emergency department",
    "on acute wards",
    "in the community",
    "for older people",
    "for children and young people",
    "across the ICS",
    "",
]
# Skewed: words early in the list are picked far more often (index = n * random()^3).
_GENERAL_TEXT = (
    "care patients staff team service clinical support home hospital community health improve "
    "reduce admissions time quality safety nurse doctor pharmacist therapist review assessment "
    "plan outcomes data weekly daily model pathway access waiting referral follow discharge "
    "readmission length stay cost saving workforce training digital remote video telephone "
    "monitoring record shared decision family carers wellbeing independence mobility exercise "
    "medication adherence deprescribing polypharmacy escalation early warning score sepsis "
    "frailty falls fracture bone strength balance nutrition hydration oral hygiene infection "
    "prevention vaccination screening diagnosis scan results rapid same day virtual ward "
    "bed capacity flow emergency urgent ambulance conveyance avoid crisis response hub "
    "integrated neighbourhood primary secondary specialist consultant geriatrician physiotherapy "
    "occupational social prescribing link worker volunteer peer group education coaching "
    "self management plan goal personalised equity inequalities deprived rural coastal "
    "translation interpreter accessible learning disability autism dementia delirium cognitive "
    "mental anxiety depression psychosis perinatal maternity midwife neonatal children young "
    "adolescent transition school safeguarding domestic homeless housing employment benefit "
    "evaluation audit baseline target trajectory measure spc chart variation improvement "
    "cycle plan do study act huddle board visual management lean flow standard work"
)
GENERAL = _GENERAL_TEXT.split()
_ADAPTING_TEXT = (
    "shortened session added step removed component tailored materials translated leaflets "
    "delivered by nurses instead of doctors moved clinic to community venue extended hours "
    "weekend cover added telephone follow up group format replaced one to one sessions "
    "integrated with existing frailty service used local referral criteria adapted for rural "
    "population trained healthcare assistants simplified documentation reduced visits "
    "combined with falls clinic changed eligibility age threshold added pharmacist review "
    "video consultations replaced home visits local champions co-designed with patients"
)
ADAPTING = _ADAPTING_TEXT.split()
_OUTCOMES_TEXT = (
    "fewer admissions shorter waits improved satisfaction reduced readmissions better uptake "
    "staff reported less workload more referrals lower cost no change in outcomes higher reach "
    "among deprived groups sustained after twelve months"
)
OUTCOMES = _OUTCOMES_TEXT.split()

CASES: list[tuple[str, str]] = [
    ("common word (care)", "/v1/search?q=care&limit=20"),
    ("rare word (telederm)", "/v1/search?q=telederm&limit=20"),
    ("misspelt (vitual wrds)", "/v1/search?q=vitual%20wrds&limit=20"),
    ('phrase ("virtual wards")', "/v1/search?q=%22virtual%20wards%22&limit=20"),
    ("filtered (falls, education, Y62)", "/v1/search?q=falls&category=education&region=Y62&limit=20"),
    ("facets, browse (peer_reviewed innovations)", "/v1/search?types=innovation&evidenceLevel=peer_reviewed&limit=20"),
    ("sort=mostAdopted (monitoring)", "/v1/search?q=monitoring&sort=mostAdopted&limit=20"),
    ("two adoption filters (frailty, Y56, sustaining)", "/v1/search?q=frailty&region=Y56&stage=sustaining&limit=20"),
]


def _array(words: list[str]) -> str:
    return "ARRAY[" + ", ".join("'" + w.replace("'", "''") + "'" for w in words) + "]::text[]"


def seed_sql(scale: float) -> list[str]:
    n_innovations = int(100_000 * scale)
    # Vocabularies are inlined as literals: this is a bench script writing its own data.
    words = _array(GENERAL)
    adapting = _array(ADAPTING)
    outcomes = _array(OUTCOMES)
    return [
        "SET session_replication_role = replica",
        "SET statement_timeout = 0",
        "SET maintenance_work_mem = '512MB'",
        "SET gin_pending_list_limit = '64MB'",
        "CREATE TEMP TABLE bench_sites AS SELECT array_agg(code ORDER BY code) AS codes FROM sites "
        "WHERE kind IN ('trust', 'trust_site')",
        f"""
        INSERT INTO innovations (id, slug, title, summary, description, category, themes, evidence_level,
                                 origin_site_code, originated_on, created_at, adoption_count, site_count)
        SELECT md5('inn' || g)::uuid, 'bench-' || g,
               a.w || ' ' || lower(t.w) || ' for ' || c.w || CASE WHEN st.w <> '' THEN ' ' || st.w ELSE '' END,
               a.w || ' ' || lower(t.w) || ' that helps teams ' ||
                   (SELECT string_agg(({words})[1 + floor(power(random(), 3) * {len(GENERAL)})::int], ' ')
                      FROM generate_series(1, 12 + g % 5)),
               (SELECT string_agg(({words})[1 + floor(power(random(), 3) * {len(GENERAL)})::int], ' ')
                  FROM generate_series(1, 40 + g % 30))
                   || CASE WHEN g % 1000 = 7 THEN ' telederm' ELSE '' END,
               (ARRAY['medical_device','in_vitro_diagnostic','pharmaceutical','digital','ai','education',
                      'models_of_care','estates_and_facilities','data_and_monitoring','other'])[1 + g % 10],
               ARRAY[lower(replace(c.w, ' ', '_')), lower(replace(t.w, ' ', '_'))],
               (ARRAY['idea','local_evaluation','multi_site_evaluation','peer_reviewed','national_guidance'])[1 + (g / 10) % 5],
               bs.codes[1 + g % cardinality(bs.codes)],
               date '2015-01-01' + (g % 2500),
               timestamptz '2024-01-01' + make_interval(secs => g * 60),
               10, 10
        FROM generate_series(1, {n_innovations}) AS g
        CROSS JOIN bench_sites bs
        CROSS JOIN LATERAL (SELECT ({_array(APPROACHES)})[1 + floor(random() * {len(APPROACHES)} + g * 0)::int] AS w) a
        CROSS JOIN LATERAL (SELECT ({_array(THINGS)})[1 + floor(random() * {len(THINGS)} + g * 0)::int] AS w) t
        CROSS JOIN LATERAL (SELECT ({_array(CONDITIONS)})[1 + floor(power(random(), 1.5) * {len(CONDITIONS)} + g * 0)::int] AS w) c
        CROSS JOIN LATERAL (SELECT ({_array(SETTINGS)})[1 + floor(random() * {len(SETTINGS)} + g * 0)::int] AS w) st
        """,
        # Ten adoptions each at distinct sites; the first is the origin.
        f"""
        INSERT INTO adoptions (id, innovation_id, site_code, stage, started_on, is_origin, discontinued_reason)
        SELECT md5('ado' || g || '-' || k)::uuid, md5('inn' || g)::uuid,
               bs.codes[1 + (g + k * 37) % cardinality(bs.codes)],
               s.stage, date '2015-01-01' + (g % 2500) + k * 45, k = 0,
               CASE WHEN s.stage = 'discontinued' THEN 'funding ended' END
        FROM generate_series(1, {n_innovations}) AS g
        CROSS JOIN generate_series(0, 9) AS k
        CROSS JOIN bench_sites bs
        CROSS JOIN LATERAL (
            SELECT (ARRAY['sustaining','sustaining','sustaining','implementing','implementing','piloting',
                          'planning','exploring','discontinued','implementing'])[1 + (g * 7 + k * 3) % 10] AS stage) s
        """,
        f"""
        INSERT INTO adoption_sources (adoption_id, source_adoption_id, channel)
        SELECT md5('ado' || g || '-' || k)::uuid, md5('ado' || g || '-' || (k - 1) / 3)::uuid,
               (ARRAY['peer_visit','learning_network','collaborative','community_of_practice','extension_agent',
                      'national_programme','publication','conference','direct_from_innovator','other'])[1 + (g + k) % 10]
        FROM generate_series(1, {n_innovations}) AS g CROSS JOIN generate_series(1, 9) AS k
        """,
        f"""
        INSERT INTO adaptations (id, adoption_id, innovation_id, description, phase, what_modified, nature, fidelity,
                                 outcome_notes, created_at)
        SELECT md5('ada' || g || '-' || k)::uuid, md5('ado' || g || '-' || k)::uuid, md5('inn' || g)::uuid,
               (SELECT string_agg(({adapting})[1 + floor(random() * {len(ADAPTING)})::int], ' ')
                  FROM generate_series(1, 15 + (g + k) % 15)),
               'implementation', 'content',
               (ARRAY['tailoring','adding','removing','shortening','lengthening','substituting','reordering',
                      'integrating_other','integrating_into_other','repeating','loosening_structure','departing'])[1 + (g + k) % 12],
               (ARRAY['consistent','inconsistent','unknown'])[1 + (g * k) % 3],
               (SELECT string_agg(({outcomes})[1 + floor(random() * {len(OUTCOMES)})::int], ' ')
                  FROM generate_series(1, 6 + k)),
               timestamptz '2024-01-01' + make_interval(secs => g * 60 + k)
        FROM generate_series(1, {n_innovations}) AS g CROSS JOIN generate_series(1, 3) AS k
        """,
        # Fresh statistics first: the rebuild's per-innovation lookups are planned from them.
        "ANALYZE",
        "SELECT spread_search_rebuild()",
        "SET session_replication_role = origin",
    ]


async def seed(dsn: str, scale: float) -> None:
    conn = await connect(dsn, Settings(database_url=dsn))
    try:
        await import_reference_sites(conn)
        for sql in seed_sql(scale):
            started = time.perf_counter()
            await conn.execute(sql)
            print(f"  {time.perf_counter() - started:6.1f} s  {' '.join(sql.split())[:90]}", flush=True)
        started = time.perf_counter()
        await conn.execute("VACUUM ANALYZE")
        print(f"  {time.perf_counter() - started:6.1f} s  VACUUM ANALYZE", flush=True)
        counts = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM innovations) AS innovations, (SELECT count(*) FROM adaptations) AS adaptations,"
            " (SELECT count(*) FROM adoptions) AS adoptions, (SELECT count(*) FROM search_documents) AS documents,"
            " (SELECT count(*) FROM search_words) AS words"
        )
        print("  " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    finally:
        await conn.close()


def _args(url: str) -> dict[str, object]:
    """The statement parameters a URL's query string leads to (for EXPLAIN)."""
    params = httpx.URL(url).params
    return {k: params.get(k) for k in params}


async def explain(dsn: str) -> None:
    conn = await connect(dsn, Settings(database_url=dsn))
    try:
        for name, q, category, region in [
            ("common", "care", None, None),
            ("rare", "telederm", None, None),
            ("filtered", "falls", "education", "Y62"),
        ]:
            filters = queries.Filters(types=("innovation", "adaptation", "site"), category=category, region=region)
            args = [*filters.arguments(q), None, None, None, 21]
            plan = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statements.SEARCH_RELEVANCE, *args)
            print(f"\n--- {name}: q={q} category={category} region={region}")
            print("\n".join(r[0] for r in plan))
    finally:
        await conn.close()


async def measure(dsn: str, runs: int) -> None:
    logging.disable(logging.INFO)
    conn = await connect(dsn, Settings(database_url=dsn))
    try:
        _, secret = await create_key(conn, "Bench", ["read"], None)
    finally:
        await conn.close()
    headers = {"Authorization": f"Bearer {secret}"}
    settings = Settings(database_url=dsn, pool_min_size=2, pool_max_size=4, log_level="WARNING")
    app = create_app(settings)
    async with pool_lifespan(settings)(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            print(f"\nload average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
            print(f"\n{'case':<50} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'total':>8}  {'load':>5}  note")
            for name, url in CASES:
                for _ in range(5):
                    r = await client.get(url, headers=headers)
                    assert r.status_code == 200, r.text
                times = []
                for _ in range(runs):
                    started = time.perf_counter()
                    r = await client.get(url, headers=headers)
                    times.append((time.perf_counter() - started) * 1000)
                body = r.json()
                times.sort()
                p50 = statistics.median(times)
                p95 = _rank(times, 0.95)
                p99 = _rank(times, 0.99)
                total = f"{'~' if body['totalIsEstimate'] else ''}{body['total']}{'+' if body['totalIsFloor'] else ''}"
                note = f"corrected to {body['correctedQuery']!r}" if body.get("correctedQuery") else ""
                load = os.getloadavg()[0]
                print(f"{name:<50} {p50:8.1f} {p95:8.1f} {p99:8.1f} {total:>8}  {load:5.2f}  {note}", flush=True)


def _rank(times: list[float], p: float) -> float:
    """Nearest-rank percentile of sorted times."""
    return times[max(0, min(len(times) - 1, math.ceil(len(times) * p) - 1))]


async def _admin(server: str, sql: str) -> None:
    conn = await asyncpg.connect(server)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="measure the kept database without seeding")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the statements")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full data set")
    parser.add_argument("--runs", type=int, default=100, help="requests per case")
    args = parser.parse_args()
    server = os.environ.get("BENCH_SERVER_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
    dsn = with_database(server, DB_NAME)
    if not args.reuse:
        asyncio.run(_admin(server, f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
        asyncio.run(_admin(server, f'CREATE DATABASE "{DB_NAME}"'))
        started = time.perf_counter()
        migrate.upgrade(dsn)
        print(f"seeding {DB_NAME} (scale {args.scale})", flush=True)
        asyncio.run(seed(dsn, args.scale))
        print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)
    else:
        migrate.upgrade(dsn)  # a kept database seeded by an older revision: migrations only
    try:
        if args.explain:
            asyncio.run(explain(dsn))
        asyncio.run(measure(dsn, args.runs))
    finally:
        if not (args.keep or args.reuse):
            asyncio.run(_admin(server, f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
