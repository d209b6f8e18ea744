# ruff: noqa: S603, S607  (runs PostgreSQL, PgBouncer, apt-get and the venv's spread: fixed programs, no input)
"""A local Spread cluster on loopback: PostgreSQL primary + streaming replica, PgBouncer, N API processes.

    python bench/cluster.py start [--api 2] [--dir /tmp/spread-cluster] [--seed]
    python bench/cluster.py status
    python bench/cluster.py restart-replica | restart-api N | promote
    python bench/cluster.py stop [--keep]

Everything comes from Debian's packages (PostgreSQL 15 in /usr/lib/postgresql/15/bin and
PgBouncer, installed with apt-get if absent) and runs as the ``postgres`` user when started
as root. Ports (loopback only): primary 9801, replica 9802, PgBouncer 9811 (-> primary) and
9812 (-> replica), API processes 9820, 9821, ... The shared server on 5432 is never touched.

PgBouncer runs in **session** pool mode: asyncpg prepares every statement (named prepared
statements), which transaction pooling breaks unless PgBouncer tracks them
(``max_prepared_statements``, PgBouncer 1.21+); Debian 12 packages 1.18. The key listener's
``LISTEN`` also needs a session. See docs/replicas.md.

The state (ports, pids, DSNs, the admin key) is kept in ``<dir>/cluster.json``; the fault
commands and tests/replicas/ use it. ``promote`` stops the primary, promotes the replica and
points PgBouncer 9811 at it (the runbook in docs/replicas.md, scripted).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PG_BIN = Path("/usr/lib/postgresql/15/bin")
DEFAULT_DIR = Path(os.environ.get("SPREAD_CLUSTER_DIR", Path(tempfile.gettempdir()) / "spread-cluster"))
PRIMARY_PORT, REPLICA_PORT = 9801, 9802
BOUNCER_PRIMARY_PORT, BOUNCER_REPLICA_PORT = 9811, 9812
API_BASE_PORT = 9820
DATABASE = "spread"
SPREAD = str(Path(sys.executable).with_name("spread"))

PG_CONF = """
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{sockets}'
max_connections = 200
shared_buffers = 128MB
wal_level = replica
max_wal_senders = 5
wal_keep_size = 256MB
hot_standby = on
hot_standby_feedback = on
max_standby_streaming_delay = 5s
logging_collector = off
"""

BOUNCER_INI = """
[databases]
{database} = host=127.0.0.1 port={target} dbname={database}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {dir}/userlist.txt
pool_mode = session
max_client_conn = 1000
default_pool_size = 150
server_reset_query = DISCARD ALL
server_check_delay = 1
server_login_retry = 1
ignore_startup_parameters = extra_float_digits,statement_timeout,plan_cache_mode,synchronize_seqscans,application_name
logfile = {dir}/pgbouncer-{port}.log
pidfile = {dir}/pgbouncer-{port}.pid
"""


def _run(*cmd: str | Path, user: bool = True, check: bool = True, **kw: Any) -> subprocess.CompletedProcess[str]:
    """Run a command, as ``postgres`` when we are root (PostgreSQL refuses to run as root)."""
    args = [str(c) for c in cmd]
    if user and os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    return subprocess.run(args, check=check, text=True, capture_output=True, **kw)


def ensure_packages() -> None:
    if not (PG_BIN / "postgres").exists():
        raise SystemExit("PostgreSQL 15 is not installed: apt-get install postgresql-15")
    if shutil.which("pgbouncer") is None:
        print("installing pgbouncer (apt-get) ...", flush=True)
        policy = Path("/usr/sbin/policy-rc.d")  # install only: do not start Debian's own service
        ours = not policy.exists()
        if ours:
            policy.write_text("#!/bin/sh\nexit 101\n")
            policy.chmod(0o755)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        try:
            subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
            subprocess.run(["apt-get", "install", "-y", "-qq", "pgbouncer"], check=True, env=env)
        finally:
            if ours:
                policy.unlink()


def dsn(port: int) -> str:
    return f"postgresql://postgres@127.0.0.1:{port}/{DATABASE}"


class Cluster:
    """One local cluster, described by ``<dir>/cluster.json``."""

    def __init__(self, directory: Path = DEFAULT_DIR) -> None:
        self.dir = directory
        self.state_file = directory / "cluster.json"
        self.state: dict[str, Any] = json.loads(self.state_file.read_text()) if self.state_file.exists() else {}

    # --- paths and state --------------------------------------------------------------------

    @property
    def primary_dir(self) -> Path:
        return self.dir / "primary"

    @property
    def replica_dir(self) -> Path:
        return self.dir / "replica"

    def save(self) -> None:
        self.state_file.write_text(json.dumps(self.state, indent=2))

    @property
    def api_ports(self) -> list[int]:
        return [int(p) for p in self.state.get("api", {})]

    @property
    def key(self) -> str:
        return str(self.state["key"])

    @property
    def primary_dsn(self) -> str:
        """Straight to the current primary (not through PgBouncer): for checks and tests."""
        return dsn(int(self.state.get("primary_port", PRIMARY_PORT)))

    @property
    def replica_dsn(self) -> str:
        return dsn(REPLICA_PORT)

    # --- PostgreSQL --------------------------------------------------------------------------

    def _pg_ctl(self, data: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return _run(PG_BIN / "pg_ctl", "-D", data, "-l", data / "server.log", "-w", "-t", "60", *args, check=check)

    def start_primary(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        _run(PG_BIN / "initdb", "-D", self.primary_dir, "-A", "trust", "-U", "postgres", "--no-sync")
        with (self.primary_dir / "postgresql.conf").open("a") as f:
            f.write(PG_CONF.format(port=PRIMARY_PORT, sockets=self.dir))
        self._pg_ctl(self.primary_dir, "start")
        _run(PG_BIN / "createdb", "-h", "127.0.0.1", "-p", str(PRIMARY_PORT), "-U", "postgres", DATABASE)
        # PgBouncer does not pass these startup parameters on (ignore_startup_parameters drops
        # them), so the database carries the service's session settings itself.
        _run(
            PG_BIN / "psql", "-h", "127.0.0.1", "-p", str(PRIMARY_PORT), "-U", "postgres", "-d", DATABASE, "-c",
            f"ALTER DATABASE {DATABASE} SET plan_cache_mode = force_custom_plan;"
            f" ALTER DATABASE {DATABASE} SET statement_timeout = 15000; ALTER DATABASE {DATABASE} SET timezone = 'UTC';"
            f" ALTER DATABASE {DATABASE} SET synchronize_seqscans = off",
        )  # fmt: skip

    def start_replica(self) -> None:
        _run(
            PG_BIN / "pg_basebackup", "-h", "127.0.0.1", "-p", str(PRIMARY_PORT), "-U", "postgres",
            "-D", self.replica_dir, "-R", "-X", "stream", "-c", "fast",
        )  # fmt: skip
        with (self.replica_dir / "postgresql.auto.conf").open("a") as f:
            f.write(f"port = {REPLICA_PORT}\n")
        self._pg_ctl(self.replica_dir, "start")

    def restart_replica(self) -> None:
        self._pg_ctl(self.replica_dir, "restart", "-m", "fast")

    def promote(self) -> None:
        """The runbook: stop the primary, promote the replica, point PgBouncer 9811 at it.

        ``-m fast``: a clean shutdown sends the standby all WAL first, so nothing acknowledged
        is lost. A primary that crashes can lose what replication had not yet shipped (the
        lag), unless synchronous replication is on: see docs/replicas.md.
        """
        self._pg_ctl(self.primary_dir, "stop", "-m", "fast")
        _run(PG_BIN / "pg_ctl", "-D", self.replica_dir, "-w", "promote")
        self.state["primary_port"] = REPLICA_PORT
        self.save()
        self._write_bouncer(BOUNCER_PRIMARY_PORT, REPLICA_PORT)
        self._signal_bouncer(BOUNCER_PRIMARY_PORT, signal.SIGHUP)  # RELOAD: new server, same address

    # --- PgBouncer ---------------------------------------------------------------------------

    def _write_bouncer(self, port: int, target: int) -> Path:
        ini = self.dir / f"pgbouncer-{port}.ini"
        ini.write_text(BOUNCER_INI.format(database=DATABASE, target=target, port=port, dir=self.dir))
        return ini

    def start_bouncer(self, port: int, target: int) -> None:
        (self.dir / "userlist.txt").write_text('"postgres" ""\n')
        ini = self._write_bouncer(port, target)
        _run(shutil.which("pgbouncer") or "/usr/sbin/pgbouncer", "-d", ini)
        _wait_port(port)

    def _signal_bouncer(self, port: int, sig: signal.Signals) -> None:
        pidfile = self.dir / f"pgbouncer-{port}.pid"
        if pidfile.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pidfile.read_text().strip()), sig)

    # --- the API -----------------------------------------------------------------------------

    def api_env(self, port: int) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": dsn(BOUNCER_PRIMARY_PORT),
            "SPREAD_READ_DATABASE_URL": dsn(BOUNCER_REPLICA_PORT),
            "SPREAD_EMBEDDED": "false",
            "SPREAD_PORT": str(port),
            "SPREAD_WORKERS": "1",
            "SPREAD_POOL_MAX_SIZE": "20",
            "SPREAD_LOG_LEVEL": "WARNING",
            "SPREAD_RATE_LIMIT_PER_MINUTE": "0",
            "SPREAD_RATE_LIMIT_WRITES_PER_MINUTE": "0",
            **self.state.get("env", {}),  # start(env=...): settings for every API process
        }

    def start_api(self, port: int) -> None:
        log = (self.dir / f"api-{port}.log").open("ab")
        proc = subprocess.Popen(
            [SPREAD, "serve", "--port", str(port)], env=self.api_env(port), cwd=ROOT,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.state.setdefault("api", {})[str(port)] = proc.pid
        self.save()
        _wait_http(f"http://127.0.0.1:{port}/health/ready")

    def stop_api(self, port: int) -> None:
        pid = self.state.get("api", {}).pop(str(port), None)
        self.save()
        if pid is not None:
            _stop_group(int(pid))

    def restart_api(self, index: int) -> None:
        port = API_BASE_PORT + index
        self.stop_api(port)
        self.start_api(port)

    # --- the whole -------------------------------------------------------------------------

    def start(self, apis: int, seed: bool = False, env: dict[str, str] | None = None) -> None:
        if self.state_file.exists():
            raise SystemExit(f"a cluster is already described in {self.state_file}: run `stop` first")
        ensure_packages()
        t = time.monotonic()
        self.start_primary()
        self.state = {"primary_port": PRIMARY_PORT, "env": env or {}}
        self.save()
        env = {**os.environ, "DATABASE_URL": dsn(PRIMARY_PORT)}
        subprocess.run([SPREAD, "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)
        out = subprocess.run(
            [SPREAD, "keys", "create", "--partner", "Cluster", "--scopes", "read,write,admin"],
            env=env, cwd=ROOT, check=True, capture_output=True, text=True,
        )  # fmt: skip
        self.state["key"] = out.stdout.strip().splitlines()[-1]
        self.save()
        asyncio.run(_import_sites(dsn(PRIMARY_PORT)))
        if seed:
            sys.path.insert(0, str(ROOT / "bench"))
            from registry import seed as seed_registry  # bench/registry.py

            print("seeding the bench registry (2,000 innovations, 50,000 adoptions) ...", flush=True)
            asyncio.run(seed_registry(dsn(PRIMARY_PORT), False))
        self.start_replica()
        self.start_bouncer(BOUNCER_PRIMARY_PORT, PRIMARY_PORT)
        self.start_bouncer(BOUNCER_REPLICA_PORT, REPLICA_PORT)
        for i in range(apis):
            self.start_api(API_BASE_PORT + i)
        print(f"cluster up in {time.monotonic() - t:.1f} s")
        self.status()

    def scale(self, apis: int) -> None:
        """Run exactly ``apis`` API processes (start or stop the highest-numbered ones)."""
        ports = sorted(self.api_ports)
        for port in ports[apis:]:
            self.stop_api(port)
        for i in range(len(ports), apis):
            self.start_api(API_BASE_PORT + i)

    def stop(self, keep: bool = False) -> None:
        for port in list(self.api_ports):
            self.stop_api(port)
        for port in (BOUNCER_PRIMARY_PORT, BOUNCER_REPLICA_PORT):
            self._signal_bouncer(port, signal.SIGTERM)
        for data in (self.replica_dir, self.primary_dir):
            if (data / "postmaster.pid").exists():
                self._pg_ctl(data, "stop", "-m", "fast", check=False)
        if not keep and self.dir.exists():
            shutil.rmtree(self.dir)
        elif self.state_file.exists():
            self.state_file.unlink()

    def status(self) -> None:
        print(f"directory      {self.dir}")
        print(f"primary        {self.primary_dsn}   (PgBouncer {dsn(BOUNCER_PRIMARY_PORT)})")
        print(f"replica        {self.replica_dsn}   (PgBouncer {dsn(BOUNCER_REPLICA_PORT)})")
        for port in self.api_ports:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=2) as r:
                    health = r.read().decode()
            except OSError as exc:
                health = repr(exc)
            print(f"api            http://127.0.0.1:{port}/v1   {health}")
        if "key" in self.state:
            print(f"admin key      export SPREAD_KEY={self.key}")


async def _import_sites(url: str) -> None:
    import asyncpg

    sys.path.insert(0, str(ROOT))
    from service.sites.importer import import_reference_sites

    conn = await asyncpg.connect(url)
    try:
        await import_reference_sites(conn)
    finally:
        await conn.close()


def _wait_port(port: int, timeout: float = 30) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:  # noqa: S310 - http://127.0.0.1 only
                if r.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)


def _stop_group(pid: int, timeout: float = 15) -> None:
    """SIGTERM the process group (granian and its worker), SIGKILL what is left after ``timeout``."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.killpg(pid, signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start")
    start.add_argument("--api", type=int, default=2, help="API processes (default 2)")
    start.add_argument("--seed", action="store_true", help="seed bench/registry.py's data set first")
    sub.add_parser("status")
    sub.add_parser("restart-replica")
    restart = sub.add_parser("restart-api")
    restart.add_argument("index", type=int)
    sub.add_parser("promote")
    scale = sub.add_parser("scale")
    scale.add_argument("api", type=int)
    stop = sub.add_parser("stop")
    stop.add_argument("--keep", action="store_true", help="keep the data directories")
    args = parser.parse_args()
    cluster = Cluster(args.dir)
    match args.command:
        case "start":
            try:
                cluster.start(args.api, args.seed)
            except BaseException:
                cluster.stop(keep=True)
                raise
        case "status":
            cluster.status()
        case "restart-replica":
            cluster.restart_replica()
        case "restart-api":
            cluster.restart_api(args.index)
        case "promote":
            cluster.promote()
        case "scale":
            cluster.scale(args.api)
        case "stop":
            cluster.stop(args.keep)


if __name__ == "__main__":
    main()
