"""What a front end's innovation page costs, before and after ``expand=`` (docs/response-shaping.md).

    python bench/shaping.py [--adoptions 30] [--rounds 30] [--port 9700]

The page: an innovation, its origin site, and its adoptions with each adopting site's name,
kind and region. Seeds a throwaway database (migrated, NHS reference sites, one innovation with
``--adoptions`` adoptions at distinct trusts, through the API), runs the real server
(bench/registry.py's ``running_server``, granian) and times each way of loading the page:

- before, one by one: the innovation, its origin site, the adoptions list, then each adoption's
  site (``GET /v1/sites/{code}``), sequentially;
- before, six at a time: the same requests, the sites six in parallel (a browser's per-host limit);
- after, two requests in parallel: the innovation with ``expand=originSite`` and the adoptions
  with ``expand=site&all=true`` (no innovation repeated in every item);
- after, one request: ``GET /v1/innovations/{id}/adoptions?expand=site,innovation.originSite&all=true``.

Prints requests, bytes and the median and 90th percentile wall time per page, with the load
average (the machine is shared: compare the ratios of one run, not figures across runs).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
from registry import running_server  # type: ignore[import-not-found]  # noqa: E402  # bench/registry.py

from service import migrate  # noqa: E402
from service.auth.keys import create_key  # noqa: E402
from service.embedded import with_database  # noqa: E402
from service.sites.importer import import_reference_sites  # noqa: E402

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


async def prepare(dsn: str) -> tuple[str, list[str]]:
    conn = await asyncpg.connect(dsn)
    try:
        await import_reference_sites(conn)
        _, secret = await create_key(conn, "Bench", ["read", "write", "admin"])
        trusts = [r["code"] for r in await conn.fetch("SELECT code FROM sites WHERE kind = 'trust' ORDER BY code")]
    finally:
        await conn.close()
    return secret, trusts


async def seed(base: str, headers: dict[str, str], trusts: list[str], adoptions: int) -> str:
    async with httpx.AsyncClient(base_url=base, headers=headers) as client:
        body = {
            "title": "Virtual wards for frailty",
            "category": "models_of_care",
            "evidenceLevel": "multi_site_evaluation",
            "originSiteCode": trusts[0],
            "originatedOn": "2020-01-01",
        }
        r = await client.post("/v1/innovations", json=body)
        r.raise_for_status()
        innovation = r.json()["id"]
        for n, code in enumerate(trusts[1 : adoptions + 1]):
            body = {"siteCode": code, "startedOn": f"2021-{1 + n % 12:02d}-{1 + n % 28:02d}", "stage": "piloting"}
            r = await client.post(f"/v1/innovations/{innovation}/adoptions", json=body)
            r.raise_for_status()
    return innovation


async def one_by_one(client: httpx.AsyncClient, innovation: str, parallel: int) -> tuple[int, int]:
    requests = size = 0

    async def get(url: str) -> dict[str, Any]:
        nonlocal requests, size
        r = await client.get(url)
        r.raise_for_status()
        requests += 1
        size += len(r.content)
        return r.json()  # type: ignore[no-any-return]

    record = await get(f"/v1/innovations/{innovation}")
    await get(f"/v1/sites/{record['originSiteCode']}")
    items: list[dict[str, Any]] = []
    url: str | None = f"/v1/innovations/{innovation}/adoptions?limit=50"
    while url:
        page = await get(url)
        items += page["items"]
        url = (
            f"/v1/innovations/{innovation}/adoptions?limit=50&cursor={page['nextCursor']}"
            if page["nextCursor"]
            else None
        )
    codes = sorted({a["siteCode"] for a in items})
    for start in range(0, len(codes), parallel):
        await asyncio.gather(*(get(f"/v1/sites/{code}") for code in codes[start : start + parallel]))
    return requests, size


async def expanded(client: httpx.AsyncClient, innovation: str) -> tuple[int, int]:
    r = await client.get(
        f"/v1/innovations/{innovation}/adoptions", params={"expand": "site,innovation.originSite", "all": "true"}
    )
    r.raise_for_status()
    page = r.json()
    assert page["items"][0]["innovation"]["originSite"]["code"] and page["items"][0]["site"]["name"]
    return 1, len(r.content)


async def two_requests(client: httpx.AsyncClient, innovation: str) -> tuple[int, int]:
    one, many = await asyncio.gather(
        client.get(f"/v1/innovations/{innovation}", params={"expand": "originSite"}),
        client.get(f"/v1/innovations/{innovation}/adoptions", params={"expand": "site", "all": "true"}),
    )
    one.raise_for_status()
    many.raise_for_status()
    return 2, len(one.content) + len(many.content)


async def measure(base: str, headers: dict[str, str], innovation: str, rounds: int) -> list[dict[str, Any]]:
    ways = {
        "before: one by one": lambda c: one_by_one(c, innovation, 1),
        "before: six at a time": lambda c: one_by_one(c, innovation, 6),
        "after: two requests in parallel": lambda c: two_requests(c, innovation),
        "after: one request (expand)": lambda c: expanded(c, innovation),
    }
    results = []
    limits = httpx.Limits(max_connections=6, max_keepalive_connections=6)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits) as client:
        for way in ways.values():  # warm up every path once
            await way(client)
        times: dict[str, list[float]] = {name: [] for name in ways}
        shape: dict[str, tuple[int, int]] = {}
        for _ in range(rounds):
            for name, way in ways.items():  # interleaved, so load changes hit every way alike
                t = time.perf_counter()
                shape[name] = await way(client)
                times[name].append((time.perf_counter() - t) * 1000)
        for name in ways:
            ms = sorted(times[name])
            results.append(
                {
                    "way": name,
                    "requests": shape[name][0],
                    "bytes": shape[name][1],
                    "median_ms": statistics.median(ms),
                    "p90_ms": ms[int(0.9 * (len(ms) - 1))],
                }
            )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--adoptions", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--port", type=int, default=9700)
    args = parser.parse_args()
    server = os.environ.get("DATABASE_URL", DEFAULT_SERVER)
    name = f"spread_shaping_bench_{uuid.uuid4().hex[:8]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(server)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    dsn = with_database(server, name)
    try:
        migrate.upgrade(dsn)
        secret, trusts = asyncio.run(prepare(dsn))
        headers = {"Authorization": f"Bearer {secret}"}
        base = f"http://127.0.0.1:{args.port}"
        with running_server("granian", dsn, args.port, "warning"):
            innovation = asyncio.run(seed(base, headers, trusts, args.adoptions))
            load = os.getloadavg()
            results = asyncio.run(measure(base, headers, innovation, args.rounds))
        print(f"\nInnovation page with {args.adoptions} adoptions; {args.rounds} rounds; load average {load[0]:.2f}")
        print(f"{'way':32} {'requests':>8} {'bytes':>8} {'median ms':>10} {'p90 ms':>8}")
        for r in results:
            print(f"{r['way']:32} {r['requests']:>8} {r['bytes']:>8} {r['median_ms']:>10.1f} {r['p90_ms']:>8.1f}")
        slowest = results[0]["median_ms"]
        print(f"one request vs one by one: {slowest / results[-1]['median_ms']:.1f}x faster (median)")
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
