"""Spread's request path against two peers, on one database, in one run: `python3 dev.py bench`.

Servers (each started alone, granian, one worker, then stopped before the next starts):

- ``spread``: ``spread serve`` as shipped: keys checked on every request, rate limits on
  (set out of reach, so every request is still counted and flushed), metrics, JSON access
  log at INFO (to a file), request ids, ETags;
- ``minimal``: ``bench/peers/minimal_litestar.py``, the same SQL and structs, no auth;
- ``fastapi``: ``bench/peers/fastapi_app.py``, FastAPI + pydantic v2 + asyncpg with a
  key-lookup query per request, as a user would write it.

Endpoints: ``GET /v1/innovations/{id}`` (one demo innovation) and ``GET /v1/me`` (the peers'
"who am I": the minimal peer answers for a fixed partner without a key; FastAPI looks the
key up). Load: ``wrk -t2 -c16 -d10s`` after a 2 s warm-up, per server, endpoint and run.
Printed: req/s, p50, p99, the worker's RSS after the run, and the ratios the README's
Performance table quotes (medians over runs).

The database: ``DATABASE_URL``'s server if set, else an embedded PostgreSQL in
``.bench-pg/``; a database ``spread_compare_<random>`` is created, migrated, seeded with the
demo data and dropped at the end (``--keep`` keeps it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BIN = Path(sys.executable).parent
SERVERS = ("spread", "minimal", "fastapi")
ENDPOINTS = ("innovation", "me")
AIMS = {"vs_minimal": 0.8, "vs_fastapi": 1.3, "p99_vs_minimal": 1.5, "rss_mb": 150}


def free_port() -> int:
    """A free port: any, or one in ``BENCH_PORTS`` (e.g. ``9300-9349``) on a shared machine."""
    low, _, high = os.environ.get("BENCH_PORTS", "0-0").partition("-")
    for port in range(int(low), int(high or low) + 1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError("no free port in BENCH_PORTS")


async def prepare(server_dsn: str, name: str) -> dict[str, str]:
    import asyncpg

    from service import migrate
    from service.auth.keys import create_key
    from service.config import Settings
    from service.db import connect
    from service.demo import load_demo
    from service.embedded import with_database

    admin = await asyncpg.connect(server_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    dsn = with_database(server_dsn, name)
    await asyncio.to_thread(migrate.upgrade, dsn)
    conn = await connect(dsn, Settings(database_url=dsn))
    try:
        await load_demo(conn, echo=lambda *_: None)
        key_id, secret = await create_key(conn, "Bench", ["read"])
        partner_id = await conn.fetchval("SELECT partner_id FROM api_keys WHERE id = $1", key_id)
        innovation = await conn.fetchval("SELECT id FROM innovations ORDER BY title LIMIT 1")
    finally:
        await conn.close()
    return {"dsn": dsn, "secret": secret, "partner_id": str(partner_id), "innovation": str(innovation)}


async def drop(server_dsn: str, name: str) -> None:
    import asyncpg

    admin = await asyncpg.connect(server_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def command(server: str, port: int) -> list[str]:
    if server == "spread":
        return [str(BIN / "spread"), "serve", "--port", str(port)]
    module = {"minimal": "bench.peers.minimal_litestar:app", "fastapi": "bench.peers.fastapi_app:app"}[server]
    return [
        str(BIN / "granian"),
        "--interface",
        "asgi",
        "--workers",
        "1",
        "--no-ws",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        module,
    ]


def start(server: str, port: int, db: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=db["dsn"],
        SPREAD_EMBEDDED="false",
        SPREAD_LOG_LEVEL="INFO",
        # Out of reach, but every request is still counted and the counts flushed.
        SPREAD_RATE_LIMIT_PER_MINUTE="10000000",
        BENCH_PARTNER_ID=db["partner_id"],
        PYTHONPATH=str(ROOT),
    )
    out = log.open("wb")
    return subprocess.Popen(  # noqa: S603 - our own programs
        command(server, port), cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_ready(url: str, headers: dict[str, str], process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited; see {log}:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(url, headers=headers, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"server did not answer {url} within 60 s; see {log}")


def worker_rss_mb(process: subprocess.Popen[bytes]) -> float:
    """The largest RSS among the server's processes (granian's worker holds the app)."""
    pids = [process.pid]
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
        for pid in list(pids[1:]):
            grand = Path(f"/proc/{pid}/task/{pid}/children")
            if grand.exists():
                pids += [int(p) for p in grand.read_text().split()]
    best = 0.0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        found = re.search(r"VmRSS:\s+(\d+) kB", status)
        if found:
            best = max(best, int(found.group(1)) / 1024)
    return best


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url: str, headers: dict[str, str], args: argparse.Namespace, duration: float) -> dict[str, float]:
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{round(duration)}s", "--latency"]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout  # noqa: S603
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+([\d.]+(?:us|ms|s))$", out, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+([\d.]+(?:us|ms|s))$", out, re.MULTILINE)
    if not (rps and p50 and p99):
        raise SystemExit(f"could not read wrk's output:\n{out}")
    return {
        "rps": float(rps.group(1)),
        "p50": _ms(p50.group(1)),
        "p99": _ms(p99.group(1)),
        "non_2xx": float(bad.group(1)) if bad else 0.0,
    }


def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    print("wrk is missing; installing it with apt-get ...", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True)  # noqa: S607 - the system's apt-get
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)  # noqa: S607


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--runs", type=int, default=1, help="rounds over every server (medians are reported)")
    parser.add_argument("--servers", default=",".join(SERVERS))
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    ensure_wrk()
    servers = [s for s in args.servers.split(",") if s]

    server_dsn = os.environ.get("DATABASE_URL")
    if not server_dsn:
        from service import embedded

        server_dsn = embedded.start(ROOT / ".bench-pg")
    name = f"spread_compare_{uuid.uuid4().hex[:8]}"
    print(f"Seeding {name} (demo data) ...", flush=True)
    db = asyncio.run(prepare(server_dsn, name))
    results_dir = ROOT / "bench" / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    runs: list[dict[str, object]] = []
    try:
        for run in range(args.runs):
            for server in servers:
                port = free_port()
                log = results_dir / f"compare-{server}.log"
                process = start(server, port, db, log)
                try:
                    base = f"http://127.0.0.1:{port}"
                    headers = {} if server == "minimal" else {"Authorization": f"Bearer {db['secret']}"}
                    urls = {"innovation": f"{base}/v1/innovations/{db['innovation']}", "me": f"{base}/v1/me"}
                    wait_ready(urls["innovation"], headers, process, log)
                    for endpoint in ENDPOINTS:
                        wrk(urls[endpoint], headers, args, 2)  # warm-up
                        figures = wrk(urls[endpoint], headers, args, args.duration)
                        figures["rss_mb"] = worker_rss_mb(process)
                        runs.append({"run": run, "server": server, "endpoint": endpoint, **figures})
                        print(
                            f"run {run + 1} {server:8} {endpoint:10} {figures['rps']:8.0f} req/s  "
                            f"p50 {figures['p50']:6.2f} ms  p99 {figures['p99']:6.2f} ms  "
                            f"rss {figures['rss_mb']:5.0f} MB  non-2xx {figures['non_2xx']:.0f}",
                            flush=True,
                        )
                finally:
                    stop(process)
    finally:
        if not args.keep:
            asyncio.run(drop(server_dsn, name))
        else:
            print(f"kept {db['dsn']}")

    def median(server: str, endpoint: str, field: str) -> float:
        values = [float(r[field]) for r in runs if r["server"] == server and r["endpoint"] == endpoint]  # type: ignore[arg-type]
        return statistics.median(values) if values else float("nan")

    print(
        f"\nMedians over {args.runs} run(s); load average before {load_before[0]:.1f}, after {os.getloadavg()[0]:.1f}"
    )
    print(f"{'server':8} {'endpoint':10} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'RSS MB':>7}")
    for server in servers:
        for endpoint in ENDPOINTS:
            print(
                f"{server:8} {endpoint:10} {median(server, endpoint, 'rps'):8.0f} {median(server, endpoint, 'p50'):8.2f}"
                f" {median(server, endpoint, 'p99'):8.2f} {median(server, endpoint, 'rss_mb'):7.0f}"
            )
    summary: dict[str, dict[str, float]] = {}
    if {"spread", "minimal", "fastapi"} <= set(servers):
        print("\nRatios (Spread / peer) and aims:")
        for endpoint in ENDPOINTS:
            spread = median("spread", endpoint, "rps")
            ratios = {
                "vs_minimal": spread / median("minimal", endpoint, "rps"),
                "vs_fastapi": spread / median("fastapi", endpoint, "rps"),
                "p99_vs_minimal": median("spread", endpoint, "p99") / median("minimal", endpoint, "p99"),
                "rss_mb": median("spread", endpoint, "rss_mb"),
            }
            summary[endpoint] = ratios
            met = {
                "vs_minimal": ratios["vs_minimal"] >= AIMS["vs_minimal"],
                "vs_fastapi": ratios["vs_fastapi"] >= AIMS["vs_fastapi"],
                "p99_vs_minimal": ratios["p99_vs_minimal"] <= AIMS["p99_vs_minimal"],
                "rss_mb": ratios["rss_mb"] <= AIMS["rss_mb"],
            }
            print(
                f"  {endpoint:10} req/s {ratios['vs_minimal']:.2f}x minimal (aim >= 0.8: {'met' if met['vs_minimal'] else 'NOT met'}), "
                f"{ratios['vs_fastapi']:.2f}x FastAPI (aim >= 1.3: {'met' if met['vs_fastapi'] else 'NOT met'}); "
                f"p99 {ratios['p99_vs_minimal']:.2f}x minimal (aim <= 1.5: {'met' if met['p99_vs_minimal'] else 'NOT met'}); "
                f"RSS {ratios['rss_mb']:.0f} MB (aim <= 150: {'met' if met['rss_mb'] else 'NOT met'})"
            )
    (results_dir / "compare.json").write_text(
        json.dumps(
            {
                "args": vars(args),
                "load_before": load_before,
                "load_after": os.getloadavg(),
                "runs": runs,
                "summary": summary,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
