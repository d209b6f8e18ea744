"""Scale-out on the local cluster: throughput with 1, 2 and 4 API processes, reads on the primary or the replica.

    python bench/cluster.py start --seed --api 1      # once: the seeded cluster (a few minutes)
    python bench/scaleout.py [--seconds 10] [--connections 16] [--apis 1,2,4]
    python bench/cluster.py stop

For each number of API processes it runs (with wrk, one process per API port, the
connections split between them):

- ``reads``: a mix of get by id, filtered list, full-text search and lineage, in turn;
  once with every read on the primary (``SPREAD_READ_DATABASE_URL`` unset) and once with
  reads on the replica;
- ``writes``: ``POST /v1/innovations`` (reads do not matter to them).

It records requests/s, p50/p99 latency, non-2xx answers, transactions committed on each
PostgreSQL server during the run (where the reads went) and the load average before and
after, in ``bench/results/scaleout.json``. Figures from a shared machine are noisy: compare
rows of one run, and read the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
from cluster import API_BASE_PORT, PRIMARY_PORT, REPLICA_PORT, ROOT, Cluster, dsn

RESULTS = ROOT / "bench" / "results" / "scaleout.json"
THEMES = ["frailty", "sepsis", "falls", "respiratory", "diabetes", "mental health", "maternity", "cancer"]

READS_LUA = """
local paths = {}
for line in io.lines(os.getenv("SCALEOUT_PATHS")) do paths[#paths + 1] = line end
local auth = "Bearer " .. os.getenv("SCALEOUT_KEY")
local i = 0
init = function(args) i = math.random(#paths) end
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], {["Authorization"] = auth})
end
"""

WRITES_LUA = """
local auth = "Bearer " .. os.getenv("SCALEOUT_KEY")
local tag = os.getenv("SCALEOUT_TAG")
local n = 0
request = function()
  n = n + 1
  local body = string.format('{"title":"Scale-out %s %d","summary":"Written by bench/scaleout.py.",'
    .. '"category":"models_of_care","evidenceLevel":"idea","originSiteCode":"RXN","originatedOn":"2021-04-01"}', tag, n)
  return wrk.format("POST", "/v1/innovations", {["Authorization"] = auth, ["Content-Type"] = "application/json"}, body)
end
"""


def load() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


async def read_paths() -> list[str]:
    conn = await asyncpg.connect(dsn(PRIMARY_PORT))
    try:
        ids = [str(r["id"]) for r in await conn.fetch("SELECT id FROM innovations ORDER BY random() LIMIT 400")]
        categories = [r["c"] for r in await conn.fetch("SELECT DISTINCT category::text AS c FROM innovations")]
    finally:
        await conn.close()
    rng = random.Random(17)
    paths = []
    for n in range(2000):
        kind = n % 4
        if kind == 0:
            paths.append(f"/v1/innovations/{rng.choice(ids)}")
        elif kind == 1:
            paths.append(f"/v1/innovations?category={rng.choice(categories)}&limit=20")
        elif kind == 2:
            paths.append(f"/v1/search?q={rng.choice(THEMES).replace(' ', '+')}&limit=20")
        else:
            paths.append(f"/v1/innovations/{rng.choice(ids)}/lineage")
    return paths


async def commits() -> dict[str, int]:
    out = {}
    for name, port in (("primary", PRIMARY_PORT), ("replica", REPLICA_PORT)):
        conn = await asyncpg.connect(dsn(port))
        try:
            out[name] = int(
                await conn.fetchval("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
            )
        finally:
            await conn.close()
    return out


def wrk(ports: list[int], script: Path, seconds: int, connections: int, env: dict[str, str]) -> dict[str, Any]:
    per = max(1, connections // len(ports))
    command = ["wrk", "-t1", f"-c{per}", f"-d{seconds}s", "--latency", "-s", str(script)]
    procs = [
        subprocess.Popen(  # noqa: S603 - wrk on loopback
            [*command, f"http://127.0.0.1:{port}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **env},
        )
        for port in ports
    ]
    outputs = [p.communicate()[0] for p in procs]
    rps = sum(float(re.search(r"Requests/sec:\s+([\d.]+)", o).group(1)) for o in outputs)  # type: ignore[union-attr]
    non2xx = sum(int(m.group(1)) for o in outputs if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", o)))
    errors = sum(int(m.group(1)) for o in outputs for m in re.finditer(r"(?:connect|read|write|timeout) (\d+)", o))

    def pct(label: str) -> float:
        values = []
        for o in outputs:
            m = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", o, re.MULTILINE)
            if m:
                values.append(float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)])
        return round(max(values), 1) if values else float("nan")

    return {"rps": round(rps, 1), "p50_ms": pct("50"), "p99_ms": pct("99"), "non2xx": non2xx, "socket_errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--apis", default="1,2,4")
    args = parser.parse_args()
    cluster = Cluster()
    if not cluster.state:
        raise SystemExit("no cluster: run `python bench/cluster.py start --seed --api 1` first")
    work = Path(tempfile.mkdtemp(prefix="scaleout-"))
    paths_file = work / "paths.txt"
    paths_file.write_text("\n".join(asyncio.run(read_paths())) + "\n")
    (work / "reads.lua").write_text(READS_LUA)
    (work / "writes.lua").write_text(WRITES_LUA)
    env = {"SCALEOUT_PATHS": str(paths_file), "SCALEOUT_KEY": cluster.key}
    rows = []
    print(f"{'apis':>4} {'workload':<16} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'non2xx':>6} "
          f"{'primary tx':>10} {'replica tx':>10} {'load':>5}")  # fmt: skip
    for apis in [int(a) for a in args.apis.split(",")]:
        for mode in ("reads-primary", "reads-replica", "writes"):
            base_env = dict(cluster.state.get("env", {}))
            base_env.pop("SPREAD_READ_DATABASE_URL", None)
            if mode == "reads-primary":
                base_env["SPREAD_READ_DATABASE_URL"] = ""  # empty: unset, every read on the primary
            if cluster.state.get("env") != base_env or len(cluster.api_ports) != apis:
                cluster.scale(0)
                cluster.state["env"] = base_env
                cluster.save()
                cluster.scale(apis)
            ports = [API_BASE_PORT + i for i in range(apis)]
            script = work / ("writes.lua" if mode == "writes" else "reads.lua")
            wrk(ports, script, 2, args.connections, {**env, "SCALEOUT_TAG": f"warm{apis}"})  # warm-up
            before, load0 = asyncio.run(commits()), load()
            t = time.monotonic()
            result = wrk(ports, script, args.seconds, args.connections, {**env, "SCALEOUT_TAG": f"{mode}{apis}"})
            elapsed = time.monotonic() - t
            after, load1 = asyncio.run(commits()), load()
            row = {
                "apis": apis,
                "workload": mode,
                **result,
                "primary_tx_per_s": round((after["primary"] - before["primary"]) / elapsed),
                "replica_tx_per_s": round((after["replica"] - before["replica"]) / elapsed),
                "load_before": load0,
                "load_after": load1,
            }
            rows.append(row)
            print(
                f"{apis:>4} {mode:<16} {row['rps']:>8} {row['p50_ms']:>7} {row['p99_ms']:>7} {row['non2xx']:>6} "
                f"{row['primary_tx_per_s']:>10} {row['replica_tx_per_s']:>10} {load1:>5}",
                flush=True,
            )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {"cpus": os.cpu_count(), "seconds": args.seconds, "connections": args.connections, "rows": rows}, indent=2
        )
    )
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
