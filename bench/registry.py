"""Registry read benchmark: seed a bench-sized registry, run the real app, measure three reads.

    python bench/registry.py [--requests 2000] [--concurrency 1,8,32] [--keep]

1. Creates a throwaway database on the server named by DATABASE_URL (default
   postgresql://postgres@127.0.0.1:5432/postgres), migrates it and imports the NHS reference sites.
2. Seeds 2,000 innovations, 50,000 adoptions (with about 48,000 learned-from links) and 100,000
   adaptations over the real sites with set-based SQL (generate_series), triggers on: the change
   log, stage history, counts, lineage checks and any search indexing all run as in production.
3. Starts the real app (``service.server.run``: uvicorn, 1 worker, no rate limit) in a subprocess
   on a free port and drives it with an async httpx load generator at each concurrency, for a
   fixed number of requests each, with a read-only API key (so authentication is measured too):
     - GET /v1/innovations/{id}
     - GET /v1/innovations?category=..&region=..&limit=20  (category and region vary per request)
     - GET /v1/adoptions/{id}
4. Prints a table, writes bench/results/registry.json, and drops the database.

The load generator, the server and PostgreSQL share the machine: the table reports the CPU
the server process used (100% = one core) so a reader can tell which side was saturated.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402

from service import migrate  # noqa: E402
from service.auth.keys import create_key  # noqa: E402
from service.embedded import with_database  # noqa: E402
from service.sites.importer import import_reference_sites  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "registry.json"
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"

INNOVATIONS = 2_000
ADOPTIONS = 50_000
ADAPTATIONS = 100_000
CATEGORIES = [
    "medical_device",
    "in_vitro_diagnostic",
    "pharmaceutical",
    "digital",
    "ai",
    "education",
    "models_of_care",
    "estates_and_facilities",
    "data_and_monitoring",
    "other",
]
EVIDENCE = ["idea", "local_evaluation", "multi_site_evaluation", "peer_reviewed", "national_guidance"]
THEMES = ["frailty", "sepsis", "falls", "respiratory", "diabetes", "mental health", "maternity", "cancer"]
CHANNELS = [
    "peer_visit",
    "learning_network",
    "collaborative",
    "community_of_practice",
    "extension_agent",
    "national_programme",
    "publication",
    "conference",
    "direct_from_innovator",
    "other",
]
COMPONENTS = json.dumps(
    [{"key": f"c{i}", "name": f"Core component {i}", "description": "Synthetic."} for i in range(1, 5)]
)

# --- seeding ---------------------------------------------------------------------------------

SEED_INNOVATIONS = """
CREATE TEMP TABLE bench_innovations AS
WITH ins AS (
    INSERT INTO innovations (slug, title, summary, description, category, care_settings, themes, evidence_level,
                             origin_site_code, originated_on, core_components, status, created_by_partner_id,
                             created_at, updated_at)
    SELECT 'bench-' || n,
           'Bench innovation ' || n || ': ' || ($3::text[])[1 + n % 8],
           'A synthetic innovation for the registry benchmark.',
           repeat('Synthetic description of how the practice works and what it needs. ', 10),
           ($1::text[])[1 + n % 10],
           ARRAY['acute', 'community'],
           ARRAY[($3::text[])[1 + n % 8], 'bench'],
           ($2::text[])[1 + n % 5],
           ($4::text[])[1 + (n * 37) % $5],
           DATE '2019-01-01' + (n * 7) % 1800,
           $6::jsonb,
           CASE WHEN n % 50 = 0 THEN 'retired' ELSE 'active' END,
           $7,
           now() - make_interval(mins => n),
           now()
    FROM generate_series(1, $8::int) AS n
    RETURNING id, slug, originated_on)
SELECT substr(slug, 7)::int AS n, id, originated_on FROM ins
"""

# Origin (k = 0) plus 10..38 learners per innovation (mean 24): 25 adoptions each on average.
# Site k of innovation n is sites[(37n + kP) mod N] with P coprime to N, so sites never repeat
# within an innovation and k = 0 is the innovation's origin site. Start dates rise with k.
SEED_PLAN = """
CREATE TEMP TABLE bench_plan AS
SELECT i.id AS innovation_id, i.n, k, gen_random_uuid() AS id,
       ($1::text[])[1 + (i.n * 37 + k * $3::int) % $2::int] AS site_code,
       least(i.originated_on + k * 20 + i.n % 13, current_date) AS started_on,
       CASE WHEN k = 0 THEN 'sustaining'
            WHEN k % 17 = 5 THEN 'discontinued'
            ELSE (ARRAY['exploring', 'planning', 'piloting', 'implementing', 'sustaining'])[1 + (i.n + k) % 5]
       END AS stage
FROM bench_innovations i
CROSS JOIN LATERAL generate_series(0, 24 + ((i.n % 8) * 2 - 7) * 2) AS k
"""

SEED_ADOPTIONS = """
INSERT INTO adoptions (id, innovation_id, site_code, stage, started_on, is_origin, notes, discontinued_reason,
                       partner_id)
SELECT id, innovation_id, site_code, stage, started_on, k = 0, 'Synthetic adoption.',
       CASE WHEN stage = 'discontinued' THEN 'Funding ended.' END, $1
FROM bench_plan ORDER BY innovation_id, k
"""

# Learner k learned from adoption (k - 1) / 2 of the same innovation: a binary cascade, 5-6 generations.
# Inserted in slices of innovations with ANALYZE between them: the lineage trigger's cycle check
# (a recursive CTE) is planned as a hash join over a sequential scan while adoption_sources looks
# empty to the planner, which made one 48,000-row statement quadratic (600 s instead of 15 s).
SOURCE_SLICES = [(0, 40), (40, 240), (240, INNOVATIONS)]
SEED_SOURCES = """
INSERT INTO adoption_sources (adoption_id, source_adoption_id, channel, learned_on)
SELECT l.id, s.id, ($1::text[])[1 + (l.n + l.k) % 10], s.started_on
FROM bench_plan l JOIN bench_plan s ON s.innovation_id = l.innovation_id AND s.k = (l.k - 1) / 2
WHERE l.k > 0 AND l.n > $2 AND l.n <= $3
ORDER BY l.innovation_id, l.k
"""

# Two adaptations per learner, three for the first two learners of each innovation: 100,000.
SEED_ADAPTATIONS = """
INSERT INTO adaptations (adoption_id, innovation_id, description, made_on, phase, planning, decided_by, what_modified,
                         level, nature, context_changes, fidelity, core_component_keys, goals, reasons, partner_id)
SELECT p.id, p.innovation_id,
       'Synthetic adaptation ' || j || ' at ' || p.site_code || ': the site changed how it delivers the practice.',
       least(p.started_on + j * 30, current_date),
       (ARRAY['pre_implementation', 'implementation', 'scale_up', 'maintenance'])[1 + (p.n + p.k + j) % 4],
       (ARRAY['planned_proactive', 'planned_reactive', 'unplanned_reactive'])[1 + (p.k + j) % 3],
       ARRAY['clinical_lead'],
       (ARRAY['content', 'context', 'training', 'evaluation', 'implementation_strategy'])[1 + (p.n + j) % 5],
       (ARRAY['individual', 'team', 'site', 'network', 'system'])[1 + p.k % 5],
       (ARRAY['tailoring', 'adding', 'removing', 'shortening', 'lengthening', 'substituting', 'reordering',
              'integrating_other', 'integrating_into_other', 'repeating', 'loosening_structure',
              'departing'])[1 + (p.n * 3 + p.k + j) % 12],
       CASE WHEN j = 2 THEN ARRAY['format'] ELSE ARRAY[]::text[] END,
       (ARRAY['consistent', 'inconsistent', 'unknown'])[1 + (p.n + p.k * j) % 3],
       CASE WHEN (p.k + j) % 3 = 0 THEN ARRAY['c' || (1 + (p.k + j) % 4)] ELSE ARRAY[]::text[] END,
       CASE (p.n + j) % 3 WHEN 0 THEN ARRAY['reach', 'fit'] WHEN 1 THEN ARRAY['cost', 'workforce']
                          ELSE ARRAY['equity', 'safety'] END,
       ARRAY['organisation'],
       $1
FROM bench_plan p CROSS JOIN LATERAL generate_series(1, CASE WHEN p.k <= 2 THEN 3 ELSE 2 END) AS j
WHERE p.k > 0
ORDER BY p.innovation_id, p.k, j
"""


def _coprime_step(n: int) -> int:
    step = 101
    while math.gcd(step, n) != 1:
        step += 2
    return step


async def seed(dsn: str, replica: bool) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn, server_settings={"statement_timeout": "0", "timezone": "UTC"})
    timings: dict[str, float] = {}
    try:
        t = time.perf_counter()
        await import_reference_sites(conn)
        timings["reference sites"] = time.perf_counter() - t
        if replica:
            # Skips every trigger (change log, stage history, counts, lineage checks, search
            # indexing, foreign keys) for this connection only; stage history and counts are
            # filled in by hand below, the change log and search index stay empty.
            await conn.execute("SET session_replication_role = replica")
        partner = await conn.fetchval(
            "INSERT INTO partners (name) VALUES ('Bench') ON CONFLICT (name) DO UPDATE SET name = excluded.name"
            " RETURNING id"
        )
        sites = [r["code"] for r in await conn.fetch("SELECT code FROM sites WHERE kind <> 'region' ORDER BY code")]
        async with conn.transaction():
            for label, sql, args in (
                (
                    "innovations",
                    SEED_INNOVATIONS,
                    (CATEGORIES, EVIDENCE, THEMES, sites, len(sites), COMPONENTS, partner, INNOVATIONS),
                ),
                ("plan", SEED_PLAN, (sites, len(sites), _coprime_step(len(sites)))),
                ("adoptions", SEED_ADOPTIONS, (partner,)),
                *((f"learned-from links {lo + 1}-{hi}", SEED_SOURCES, (CHANNELS, lo, hi)) for lo, hi in SOURCE_SLICES),
                ("adaptations", SEED_ADAPTATIONS, (partner,)),
            ):
                t = time.perf_counter()
                if sql is SEED_SOURCES:
                    await conn.execute("ANALYZE adoptions, adoption_sources")
                await conn.execute(sql, *args)
                timings[label] = time.perf_counter() - t
                print(f"  seeded {label:<28} {timings[label]:6.1f} s", flush=True)
            if replica:
                await conn.execute(
                    "INSERT INTO adoption_stages (adoption_id, stage, on_date, reason) SELECT id, stage, started_on,"
                    " CASE WHEN stage = 'discontinued' THEN 'Funding ended.' END FROM bench_plan ORDER BY innovation_id, k"
                )
                await conn.execute(
                    "UPDATE innovations i SET adoption_count = c.a, site_count = c.s FROM (SELECT innovation_id,"
                    " count(*)::int AS a, count(DISTINCT site_code)::int AS s FROM adoptions GROUP BY 1) c"
                    " WHERE c.innovation_id = i.id"
                )
        t = time.perf_counter()
        await conn.execute("ANALYZE")
        timings["analyze"] = time.perf_counter() - t
        counts = {
            table: await conn.fetchval(f"SELECT count(*) FROM {table}")  # constant table names
            for table in ("innovations", "adoptions", "adoption_sources", "adaptations", "adoption_stages", "changes")
        }
    finally:
        await conn.close()
    return {"seconds": {k: round(v, 2) for k, v in timings.items()}, "rows": counts, "triggers": not replica}


# --- the server ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SERVERS = {
    # What `spread serve` runs (service.server.run: granian, chosen by measurement).
    "granian": "from service.config import load_settings; from service.server import run; run(load_settings())",
    # The same app under uvicorn, 1 worker, no access log from uvicorn itself.
    "uvicorn": (
        "import uvicorn; from service.app import create_app; from service.config import load_settings;"
        " from service.logs import configure_logging; s = load_settings(); configure_logging(s.log_level);"
        " uvicorn.run(create_app(s), host=s.host, port=s.port, workers=1, log_config=None, access_log=False)"
    ),
}


@contextlib.contextmanager
def running_server(kind: str, dsn: str, port: int, log_level: str) -> Any:
    env = {
        **os.environ,
        "DATABASE_URL": dsn,
        "SPREAD_HOST": "127.0.0.1",
        "SPREAD_PORT": str(port),
        "SPREAD_RATE_LIMIT_PER_MINUTE": "0",
        "SPREAD_WORKERS": "1",
        "SPREAD_LOG_LEVEL": log_level,
    }
    # The server's log goes to a file: a pipe nobody reads fills up and stalls the server.
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(  # noqa: S603 - our own interpreter and a constant script
            [sys.executable, "-c", SERVERS[kind]], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )

        def tail() -> str:
            log.seek(0)
            return log.read().decode(errors="replace")[-3000:]

        try:
            deadline = time.monotonic() + 30
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"the {kind} server exited:\n{tail()}")
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the {kind} server did not start within 30 s:\n{tail()}")
                time.sleep(0.2)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its descendants (granian's workers), from /proc (Linux)."""
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    family, total, grew = {pid}, 0.0, True
    while grew:
        grew = False
        for p, (parent, _) in stats.items():
            if parent in family and p not in family:
                family.add(p)
                grew = True
    for p in family:
        total += stats.get(p, (0, 0.0))[1]
    return total


# --- the load generator ----------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


async def drive(
    base: str,
    headers: dict[str, str],
    make_path: Any,
    concurrency: int,
    requests: int,
    rng: random.Random,
    server_cpu: Any,
) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    remaining = requests
    # One client (one keep-alive connection) per simulated user: a single httpx pool shared by
    # 32 tasks cost more client CPU per request than the server spent answering it.
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = [httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) for _ in range(concurrency)]
    try:
        # warm-up: every connection opened and every statement prepared before timing
        for _ in range(max(2, 50 // concurrency)):
            await asyncio.gather(*(c.get(make_path(rng)) for c in clients))

        async def worker(client: httpx.AsyncClient) -> None:
            nonlocal remaining, errors
            while remaining > 0:
                remaining -= 1
                path = make_path(rng)
                t = time.perf_counter()
                r = await client.get(path)
                latencies.append(time.perf_counter() - t)
                if r.status_code != 200:
                    errors += 1

        cpu0, client0, t0 = server_cpu(), time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker(c) for c in clients))
        elapsed = time.perf_counter() - t0
        cpu, client_cpu = server_cpu() - cpu0, time.process_time() - client0
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    latencies.sort()
    return {
        "requests": len(latencies),
        "seconds": round(elapsed, 3),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "p95_ms": round(percentile(latencies, 95) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
        "errors": errors,
        "server_cpu_pct": round(cpu / elapsed * 100),
        "client_cpu_pct": round(client_cpu / elapsed * 100),
    }


async def bench_key_and_ids(dsn: str) -> tuple[str, list[str], list[str], list[tuple[str, str]]]:
    conn = await asyncpg.connect(dsn)
    try:
        _, secret = await create_key(conn, "Bench", ["read"])
        innovations = [str(r["id"]) for r in await conn.fetch("SELECT id FROM innovations")]
        adoptions = [str(r["id"]) for r in await conn.fetch("SELECT id FROM adoptions TABLESAMPLE SYSTEM (20)")]
        regions = [r["code"] for r in await conn.fetch("SELECT code FROM sites WHERE kind = 'region' ORDER BY code")]
    finally:
        await conn.close()
    pairs = [(c, r) for c in CATEGORIES for r in regions]
    return secret, innovations, adoptions, pairs


def scenarios(innovations: list[str], adoptions: list[str], pairs: list[tuple[str, str]]) -> dict[str, Any]:
    def one_innovation(rng: random.Random) -> str:
        return f"/v1/innovations/{rng.choice(innovations)}"

    def list_filtered(rng: random.Random) -> str:
        category, region = rng.choice(pairs)
        return f"/v1/innovations?category={category}&region={region}&limit=20"

    def one_adoption(rng: random.Random) -> str:
        return f"/v1/adoptions/{rng.choice(adoptions)}"

    return {
        "GET /v1/innovations/{id}": one_innovation,
        "GET /v1/innovations?category&region": list_filtered,
        "GET /v1/adoptions/{id}": one_adoption,
    }


def print_table(rows: list[dict[str, Any]]) -> None:
    head = (
        f"{'server':<8} {'endpoint':<38} {'clients':>7} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}"
        f" {'errors':>6} {'server CPU':>10} {'client CPU':>10}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['server']:<8} {r['endpoint']:<38} {r['concurrency']:>7} {r['rps']:>7.0f} {r['p50_ms']:>7.1f}"
            f" {r['p95_ms']:>7.1f} {r['p99_ms']:>7.1f} {r['errors']:>6} {r['server_cpu_pct']:>9}% {r['client_cpu_pct']:>9}%"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="timed requests per endpoint and concurrency")
    parser.add_argument("--concurrency", default="1,8,32", help="comma-separated client counts")
    parser.add_argument("--servers", default="granian,uvicorn", help=f"comma-separated, of: {', '.join(SERVERS)}")
    parser.add_argument(
        "--replica", action="store_true", help="seed with triggers off (session_replication_role = replica)"
    )
    parser.add_argument("--log-level", default="INFO", help="the server's SPREAD_LOG_LEVEL (access log at INFO)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards (prints its URL)")
    parser.add_argument("--reuse", metavar="DSN", help="measure a database kept by --keep (no seeding, not dropped)")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    servers = [s.strip() for s in args.servers.split(",")]
    unknown = [s for s in servers if s not in SERVERS]
    if unknown:
        parser.error(f"unknown server {', '.join(unknown)}")

    server = os.environ.get("DATABASE_URL") or DEFAULT_SERVER
    name = f"spread_registry_bench_{uuid.uuid4().hex[:8]}"
    dsn = args.reuse or with_database(server, name)

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(server)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    if not args.reuse:
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        seeded: dict[str, Any] = {"reused": args.reuse is not None}
        if not args.reuse:
            t = time.perf_counter()
            migrate.upgrade(dsn)
            print(f"Database {name}: migrated in {time.perf_counter() - t:.1f} s; seeding ...", flush=True)
            t = time.perf_counter()
            seeded = asyncio.run(seed(dsn, args.replica))
            seeded["total_seconds"] = round(time.perf_counter() - t, 1)
            print(f"Seeded in {seeded['total_seconds']} s: {seeded['rows']}", flush=True)

        secret, innovations, adoptions, pairs = asyncio.run(bench_key_and_ids(dsn))
        headers = {"Authorization": f"Bearer {secret}"}
        rows: list[dict[str, Any]] = []
        load_before = os.getloadavg()
        for kind in servers:
            port = free_port()
            with running_server(kind, dsn, port, args.log_level) as proc:
                base = f"http://127.0.0.1:{port}"
                for endpoint, make_path in scenarios(innovations, adoptions, pairs).items():
                    for concurrency in levels:
                        rng = random.Random(f"{endpoint}:{concurrency}")
                        result = asyncio.run(
                            drive(
                                base,
                                headers,
                                make_path,
                                concurrency,
                                args.requests,
                                rng,
                                lambda pid=proc.pid: cpu_seconds(pid),
                            )
                        )
                        rows.append({"server": kind, "endpoint": endpoint, "concurrency": concurrency, **result})
                        print(
                            f"  {kind:<8} {endpoint:<38} x{concurrency:<3} {result['rps']:>6.0f} req/s"
                            f"  p99 {result['p99_ms']} ms",
                            flush=True,
                        )
        print()
        print_table(rows)
        print(f"Load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f} (1 min).")
        report = {
            "benchmark": "registry",
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
                "load_average_before": [round(x, 2) for x in load_before],
                "load_average_after": [round(x, 2) for x in os.getloadavg()],
            },
            "server": {"workers": 1, "rate_limit": 0, "log_level": args.log_level, "pool": "defaults (2-10)"},
            "requests_per_run": args.requests,
            "seed": seeded,
            "results": rows,
        }
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nWrote {RESULTS.relative_to(ROOT)}")
    finally:
        if args.keep or args.reuse:
            print(f"Kept the database: {dsn}")
        else:
            asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
