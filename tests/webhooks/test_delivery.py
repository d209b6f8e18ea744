"""The worker: events from registry writes, signed POSTs to a real receiver, retries, order,
nothing lost while a receiver is down, no double delivery with two workers, and the CLI."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime as dt
import json
import os
import signal
import socket
import sys
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

from service.webhooks.policy import backoff
from service.webhooks.signing import verify_signature
from service.webhooks.worker import Worker
from tests.webhooks import registry
from tests.webhooks.conftest import FAST, SECRET_KEY, create_webhook, drain_until, make_pool, wait_for
from tests.webhooks.receiver import Receiver

SPREAD = str(Path(sys.executable).with_name("spread"))
WORKER_ENV = {
    "SPREAD_SECRET_KEY": base64.urlsafe_b64encode(SECRET_KEY).decode(),
    "SPREAD_WEBHOOK_ALLOW_PRIVATE": "true",
}


async def deliveries(client: httpx.AsyncClient, admin: dict[str, str], webhook_id: str) -> list[dict]:
    r = await client.get(f"/v1/webhooks/{webhook_id}/deliveries", headers=admin)
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_registry_writes_become_signed_events(client, admin, conn, pool) -> None:
    await registry.add_innovation(conn, "written-before-the-webhook")  # not an event: the webhook is newer
    async with Receiver() as receiver:
        hook = await create_webhook(
            client,
            admin,
            receiver.url,
            ["innovation.*", "adoption.created", "adoption.stage_changed", "adaptation.created"],
        )
        innovation = await registry.add_innovation(conn, "virtual-wards")
        adoption = await registry.add_adoption(conn, innovation, "RXN")
        await registry.set_notes(conn, adoption, "not subscribed: adoption.updated")
        await registry.set_stage(conn, adoption, "piloting")
        adaptation = await registry.add_adaptation(conn, adoption, innovation, "Shorter huddle")
        await registry.set_stage(conn, adoption, "implementing")

        async with Worker(pool, FAST) as worker:
            await drain_until(worker, lambda: len(receiver.requests) >= 5)

    got = [r.json() for r in receiver.requests]
    assert [e["type"] for e in got] == [
        "innovation.created",
        "adoption.created",
        "adoption.stage_changed",
        "adaptation.created",
        "adoption.stage_changed",
    ]
    assert [e["data"]["entityId"] for e in got] == [
        str(innovation),
        str(adoption),
        str(adoption),
        str(adaptation),
        str(adoption),
    ]
    ids = [int(e["id"]) for e in got]
    assert ids == sorted(ids)

    stage = got[2]
    assert set(stage) == {"id", "type", "occurredAt", "data"}
    assert set(stage["data"]) == {"entity", "entityId", "action", "before", "after", "actor"}
    assert stage["data"]["entity"] == "adoption" and stage["data"]["action"] == "update"
    assert (stage["data"]["before"]["stage"], stage["data"]["after"]["stage"]) == ("exploring", "piloting")
    assert stage["data"]["actor"] == {"keyId": None, "partnerId": None, "partner": "Webhook tests"}
    dt.datetime.fromisoformat(stage["occurredAt"])

    hook_secret = hook["secret"]
    for request in receiver.requests:
        assert request.method == "POST" and request.path == "/hooks/spread"
        assert request.headers["content-type"] == "application/json"
        assert request.headers["spread-event-id"] == json.loads(request.body)["id"]
        assert request.headers["spread-event-type"] == json.loads(request.body)["type"]
        assert request.headers["spread-signature"].startswith("v1=")
        assert verify_signature(
            hook_secret, request.body, request.headers["spread-timestamp"], request.headers["spread-signature"]
        )
        assert not verify_signature(
            "not-the-secret-at-all",
            request.body,
            request.headers["spread-timestamp"],
            request.headers["spread-signature"],
        )

    log = await deliveries(client, admin, hook["id"])
    assert [d["eventId"] for d in log] == [str(i) for i in reversed(ids)]  # newest first
    assert all(d["status"] == "delivered" and d["attempts"] == 1 and d["lastStatusCode"] == 200 for d in log)
    assert all(d["nextAttemptAt"] is None and d["deliveredAt"] for d in log)

    r = await client.get(f"/v1/webhooks/{hook['id']}/deliveries?limit=2", headers=admin)
    first = r.json()
    r = await client.get(f"/v1/webhooks/{hook['id']}/deliveries?limit=2&cursor={first['nextCursor']}", headers=admin)
    assert [d["eventId"] for d in first["items"] + r.json()["items"]] == [str(i) for i in reversed(ids)][:4]
    r = await client.get(f"/v1/webhooks/{hook['id']}/deliveries?status=failed", headers=admin)
    assert r.json()["items"] == []


async def test_retry_after_a_receiver_failure(client, admin, conn, pool) -> None:
    async with Receiver(statuses=[500]) as receiver:
        hook = await create_webhook(client, admin, receiver.url, ["adoption.*"])
        innovation = await registry.add_innovation(conn, "frailty-hub")
        await registry.add_adoption(conn, innovation, "R0A")

        stop = asyncio.Event()
        # the retry waits an hour, so the failed state cannot race the retry; the test then
        # makes the retry due by moving its time in the database, rather than sleeping
        patient = dataclasses.replace(FAST, concurrency=2, poll_interval=0.05, base_delay=3600, max_delay=3600)
        async with Worker(pool, patient) as worker:
            running = asyncio.create_task(worker.run(stop))
            await wait_for(lambda: len(receiver.requests) == 1)
            await wait_for(lambda: worker.stats.failed == 1)
            log = await deliveries(client, admin, hook["id"])
            assert log[0]["status"] == "failed" and log[0]["attempts"] == 1
            assert log[0]["lastStatusCode"] == 500 and log[0]["lastError"] == "http_status"
            assert log[0]["nextAttemptAt"] is not None
            due = await conn.fetchval("SELECT next_attempt_at - clock_timestamp() FROM webhook_deliveries")
            assert dt.timedelta(minutes=29) < due <= dt.timedelta(hours=1)  # backoff: half to all of base_delay
            await conn.execute("UPDATE webhook_deliveries SET next_attempt_at = clock_timestamp()")
            await wait_for(lambda: len(receiver.delivered()) == 1)
            stop.set()
            await asyncio.wait_for(running, 10)

    first, second = receiver.requests
    assert (first.status, second.status) == (500, 200)
    assert first.body == second.body  # the same event, byte for byte
    assert first.headers["spread-event-id"] == second.headers["spread-event-id"]
    assert (first.headers["spread-delivery-attempt"], second.headers["spread-delivery-attempt"]) == ("1", "2")
    for r in (first, second):
        assert verify_signature(hook["secret"], r.body, r.headers["spread-timestamp"], r.headers["spread-signature"])
    log = await deliveries(client, admin, hook["id"])
    assert log[0]["status"] == "delivered" and log[0]["attempts"] == 2 and log[0]["lastError"] is None


async def test_receiver_down_loses_nothing_and_delivery_resumes_after_restart(client, admin, conn, pool) -> None:
    # A socket bound but not listening: connections are refused, and no other process can
    # take the port before the receiver "comes back" on it.
    placeholder = socket.socket()
    placeholder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    placeholder.bind(("127.0.0.1", 0))
    port = placeholder.getsockname()[1]
    hook = await create_webhook(client, admin, f"http://127.0.0.1:{port}/hooks/spread", ["adoption.created"])
    innovation = await registry.add_innovation(conn, "discharge-to-assess")
    adoptions = [await registry.add_adoption(conn, innovation, site) for site in ("RQM", "RXN", "R0A")]

    async with Worker(pool, FAST) as worker:
        await drain_until(worker, lambda: worker.stats.failed >= 1)
    log = await deliveries(client, admin, hook["id"])
    assert len(log) == 3
    head = log[-1]
    assert head["status"] == "failed" and head["lastStatusCode"] is None and head["lastError"] == "connection_failed"
    # later events wait behind the one being retried, so order is kept
    assert [d["status"] for d in log[:2]] == ["pending", "pending"]
    assert all(d["attempts"] == 0 for d in log[:2])

    # The receiver returns; a new worker (a restart) picks the queue up where it was.
    await conn.execute("UPDATE webhook_deliveries SET next_attempt_at = now() WHERE status = 'failed'")
    placeholder.close()
    async with Receiver(port=port) as receiver, Worker(pool, FAST) as restarted:
        await drain_until(restarted, lambda: len(receiver.delivered()) == 3)
    assert [r.json()["data"]["entityId"] for r in receiver.requests] == [str(a) for a in adoptions]
    log = await deliveries(client, admin, hook["id"])
    assert [d["status"] for d in log] == ["delivered"] * 3
    assert [d["attempts"] for d in log] == [1, 1, 2]


async def test_retries_stop_after_24_hours(client, admin, conn, pool) -> None:
    async with Receiver(default=503) as receiver:
        hook = await create_webhook(client, admin, receiver.url, ["innovation.created"])
        await registry.add_innovation(conn, "one")
        await registry.add_innovation(conn, "two")
        config = dataclasses.replace(FAST, concurrency=1, base_delay=10, max_delay=3600)  # the real 24-hour window
        async with Worker(pool, config) as worker:
            await worker.fan_out()
            await wait_for(lambda: conn.fetchval("SELECT count(*) = 2 FROM webhook_deliveries"))
            await conn.execute(
                "UPDATE webhook_deliveries SET created_at = now() - interval '23 hours 59 minutes 50 seconds'"
            )
            await worker.drain()
            row = await conn.fetchrow(
                "SELECT status, next_attempt_at, created_at FROM webhook_deliveries ORDER BY change_seq LIMIT 1"
            )
            # a failure close to the end is retried at the end of the window, not later
            assert row["status"] == "failed"
            assert row["next_attempt_at"] <= row["created_at"] + dt.timedelta(hours=24)
            await conn.execute(
                "UPDATE webhook_deliveries SET created_at = now() - interval '25 hours',"
                " next_attempt_at = now() WHERE status IN ('pending', 'failed')"
            )
            await worker.drain()
    log = await deliveries(client, admin, hook["id"])
    assert [d["status"] for d in log] == ["dead", "dead"]  # the dead head released the second
    assert all(d["nextAttemptAt"] is None for d in log)
    assert [d["attempts"] for d in log] == [1, 2]
    assert len(receiver.requests) == 3


async def test_two_workers_never_deliver_an_event_twice(client, admin, conn, pool, db_dsn) -> None:
    sites = ["RQM", "RXN", "R0A", "RW6", "RXL", "RTX", "RXR", "RBT"]
    gate = asyncio.Event()
    async with Receiver(delay=0.003, gate=gate) as receiver:
        # twice as many webhooks as one worker has slots: each webhook has one delivery in flight
        # at most, so six requests held at the gate means each worker holds three
        hooks = [await create_webhook(client, admin, f"{receiver.url}/{i}", ["*"]) for i in range(6)]
        expected = 0
        for i in range(5):
            innovation = await registry.add_innovation(conn, f"innovation-{i}")
            await registry.add_adoptions(conn, innovation, sites)
            expected += 1 + len(sites)
        other_pool = await make_pool(db_dsn)
        try:
            stop = asyncio.Event()
            config = dataclasses.replace(FAST, concurrency=3, poll_interval=0.02)
            async with Worker(pool, config, name="a") as a, Worker(other_pool, config, name="b") as b:
                runs = [asyncio.create_task(w.run(stop)) for w in (a, b)]
                await wait_for(lambda: len(receiver.requests) == 2 * config.concurrency, timeout=30)
                gate.set()
                await wait_for(lambda: len(receiver.requests) >= expected * len(hooks), timeout=60)
                stop.set()  # deliveries in flight finish before run() returns: any extra shows below
                await asyncio.wait_for(asyncio.gather(*runs), 10)
        finally:
            await other_pool.close()

    assert len(receiver.requests) == expected * len(hooks)
    assert a.stats.delivered + b.stats.delivered == expected * len(hooks)
    assert a.stats.delivered >= config.concurrency and b.stats.delivered >= config.concurrency, (a.stats, b.stats)
    for i in range(len(hooks)):
        ids = [int(r.headers["spread-event-id"]) for r in receiver.requests if r.path.endswith(f"/{i}")]
        assert len(ids) == len(set(ids)) == expected  # each event once per target
        assert ids == sorted(ids)  # and in order
    rows = await conn.fetch("SELECT status, attempts FROM webhook_deliveries")
    assert len(rows) == expected * len(hooks)
    assert {(r["status"], r["attempts"]) for r in rows} == {("delivered", 1)}


async def test_a_transaction_that_commits_late_is_not_skipped(client, admin, conn, pool, db_dsn) -> None:
    """A change written before others (lower seq) but committed after them is still delivered,
    once, when it commits; nothing waits for it meanwhile."""
    async with Receiver() as receiver:
        await create_webhook(client, admin, receiver.url, ["innovation.created"])
        slow = await asyncpg.connect(db_dsn)
        try:
            tx = slow.transaction()
            await tx.start()
            await slow.execute(
                """INSERT INTO innovations (slug, title, category, evidence_level, origin_site_code, originated_on)
                   VALUES ('slow', 'Slow', 'other', 'idea', 'RQM', '2023-01-01')"""
            )
            await registry.add_innovation(conn, "quick")
            async with Worker(pool, FAST) as worker:
                await drain_until(worker, lambda: len(receiver.requests) == 1)
                await worker.drain()
                assert len(receiver.requests) == 1  # slow is still open
                await tx.commit()
                await drain_until(worker, lambda: len(receiver.requests) == 2)
                await worker.drain()
        finally:
            await slow.close()
    got = [r.json() for r in receiver.requests]
    assert [e["data"]["after"]["slug"] for e in got] == ["quick", "slow"]
    assert int(got[1]["id"]) < int(got[0]["id"])  # slow took the lower seq
    assert await conn.fetchval("SELECT count(*) FROM webhook_deliveries") == 2


async def test_deleting_a_webhook_stops_its_deliveries(client, admin, conn, pool) -> None:
    async with Receiver(default=500) as receiver:
        hook = await create_webhook(client, admin, receiver.url, ["innovation.*"])
        await registry.add_innovation(conn, "to-be-forgotten")
        async with Worker(pool, FAST) as worker:
            await drain_until(worker, lambda: len(receiver.requests) == 1)
            assert (await client.delete(f"/v1/webhooks/{hook['id']}", headers=admin)).status_code == 204
            await conn.execute("UPDATE webhook_deliveries SET next_attempt_at = now()")
            await worker.drain()
    assert len(receiver.requests) == 1
    assert await conn.fetchval("SELECT count(*) FROM webhook_deliveries") == 0


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    config = dataclasses.replace(FAST, base_delay=10, max_delay=3600)
    for attempt, ceiling in [(1, 10), (2, 20), (3, 40), (10, 3600), (60, 3600)]:
        waits = [backoff(attempt, config) for _ in range(200)]
        assert all(ceiling / 2 <= w <= ceiling for w in waits)
        assert len(set(waits)) > 1


async def test_spread_worker_command_delivers_and_stops_on_sigterm(client, admin, conn, db_dsn) -> None:
    async with Receiver() as receiver:
        hook = await create_webhook(client, admin, receiver.url, ["adoption.created"])
        innovation = await registry.add_innovation(conn, "remote-monitoring")
        await registry.add_adoption(conn, innovation, "RW6")
        proc = await asyncio.create_subprocess_exec(
            SPREAD,
            "worker",
            "--interval",
            "0.1",
            env={**os.environ, "DATABASE_URL": db_dsn, "SPREAD_LOG_LEVEL": "INFO", **WORKER_ENV},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await wait_for(lambda: len(receiver.delivered()) == 1, timeout=30)
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0, err.decode()
    lines = [json.loads(line) for line in err.decode().splitlines() if line.strip()]
    messages = [line["msg"] for line in lines]
    assert "worker started" in messages and "delivered" in messages and messages[-1] == "worker stopped"
    delivered = next(line for line in lines if line["msg"] == "delivered")
    assert delivered["webhook_id"] == hook["id"] and delivered["status_code"] == 200
    assert uuid.UUID(delivered["webhook_id"])
    assert lines[-1]["delivered"] == 1


async def test_spread_worker_once_drains_and_exits(client, admin, conn, db_dsn) -> None:
    async with Receiver() as receiver:
        await create_webhook(client, admin, receiver.url, ["innovation.created"])
        await registry.add_innovation(conn, "once-only")
        for _ in range(20):  # retried only in case a pass races the commit
            proc = await asyncio.create_subprocess_exec(
                SPREAD,
                "worker",
                "--once",
                env={**os.environ, "DATABASE_URL": db_dsn, **WORKER_ENV},
                stderr=asyncio.subprocess.PIPE,
            )
            _, err = await asyncio.wait_for(proc.communicate(), 30)
            assert proc.returncode == 0, err.decode()
            if receiver.delivered():
                break
    assert len(receiver.delivered()) == 1
    assert json.loads(err.decode().splitlines()[-1])["msg"] == "drained"


async def test_spread_worker_refuses_to_start_without_a_secret_key(db_dsn) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SPREAD_SECRET_KEY"}
    proc = await asyncio.create_subprocess_exec(
        SPREAD, "worker", "--once", env={**env, "DATABASE_URL": db_dsn}, stderr=asyncio.subprocess.PIPE
    )
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode != 0
    assert "SPREAD_SECRET_KEY is not set" in err.decode()


def test_secret_key_setting_is_validated_and_never_printed() -> None:
    from service.config import ConfigError, load_settings

    key = base64.urlsafe_b64encode(SECRET_KEY).decode()
    settings = load_settings({"SPREAD_SECRET_KEY": key, "SPREAD_WEBHOOK_ALLOW_PRIVATE": "true"})
    assert settings.secret_key == SECRET_KEY and settings.webhook_allow_private
    assert key not in repr(settings) and repr(SECRET_KEY) not in repr(settings)
    assert load_settings({}).webhook_allow_private is False
    for bad in ("short", base64.urlsafe_b64encode(b"x" * 16).decode(), "not base64 at all!"):
        with pytest.raises(ConfigError, match="SPREAD_SECRET_KEY"):
            load_settings({"SPREAD_SECRET_KEY": bad})
