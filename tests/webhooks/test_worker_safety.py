"""The worker against hostile or slow receivers: no transaction open during a POST, one total
timeout, a bounded read, leases that keep two workers apart, and secrets that rotate."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid

from service.webhooks.signing import verify_signature
from service.webhooks.worker import WORKER_APPLICATION_NAME, Worker
from tests.webhooks import registry
from tests.webhooks.conftest import FAST, create_webhook, drain_until, make_pool, wait_for
from tests.webhooks.receiver import Received, Receiver

EVENTS = ["innovation.created"]


async def test_a_slow_drip_receiver_is_cut_at_the_total_timeout(client, admin, conn, pool) -> None:
    """One byte at a time, each well inside any per-phase timeout: only a total bound ends it."""
    dripping = asyncio.Event()
    cut = asyncio.Event()

    async def drip(writer: asyncio.StreamWriter, _: Received) -> None:
        dripping.set()
        try:
            for byte in b"HTTP/1.1 200 OK\r\nX-Drip: " + b"a" * 100_000:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.1)  # the pace of the attack, not synchronisation
        except ConnectionError:
            cut.set()
            raise

    async with Receiver(respond=drip) as receiver:
        hook = await create_webhook(client, admin, receiver.url, EVENTS)
        await registry.add_innovation(conn, "slow-drip")
        # per phase, httpx would wait up to 1 s between bytes; the bytes come every 0.1 s
        async with Worker(pool, dataclasses.replace(FAST, timeout=1)) as worker:
            await drain_until(worker, lambda: worker.stats.failed == 1)
            await wait_for(cut.is_set)
    assert dripping.is_set() and receiver.finished == 0
    log = (await client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=admin)).json()["items"]
    assert [(d["status"], d["lastError"], d["lastStatusCode"]) for d in log] == [("failed", "timeout", None)]
    assert log[0]["nextAttemptAt"] is not None  # retried later


async def test_no_transaction_is_open_while_a_delivery_is_in_flight(client, admin, conn, pool) -> None:
    held = asyncio.Event()
    async with Receiver(hold_first=held) as receiver:
        await create_webhook(client, admin, receiver.url, EVENTS)
        await registry.add_innovation(conn, "in-flight")
        async with Worker(pool, FAST) as worker:
            await worker.fan_out()
            sending = asyncio.create_task(worker.deliver_next())
            try:
                await wait_for(lambda: len(receiver.requests) == 1)
                sessions = await conn.fetch(
                    "SELECT state, xact_start FROM pg_stat_activity"
                    " WHERE datname = current_database() AND application_name = $1",
                    WORKER_APPLICATION_NAME,
                )
                assert sessions  # the worker's pool is connected ...
                assert all(s["state"] == "idle" and s["xact_start"] is None for s in sessions), sessions
                # ... holds no row lock on the delivery, and the lease is committed and visible
                async with conn.transaction():  # no row lock either: this would fail at once
                    await conn.execute("SELECT 1 FROM webhook_deliveries FOR UPDATE NOWAIT")
                leased = await conn.fetchrow("SELECT leased_until > now() AS live, lease_id FROM webhook_deliveries")
                assert leased["live"] and leased["lease_id"] is not None
            finally:
                held.set()
            assert await sending is True
    assert worker.stats.delivered == 1
    row = await conn.fetchrow("SELECT status, leased_until, lease_id FROM webhook_deliveries")
    assert (row["status"], row["leased_until"], row["lease_id"]) == ("delivered", None, None)
    async with pool.acquire() as c:
        assert await c.fetchval("SHOW idle_in_transaction_session_timeout") == "10s"


async def test_a_huge_response_is_not_read_whole(client, admin, conn, pool) -> None:
    size = 256 * 1024 * 1024
    sent = 0
    hung_up = asyncio.Event()

    async def huge(writer: asyncio.StreamWriter, _: Received) -> None:
        nonlocal sent
        writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n".encode())
        chunk = b"x" * 65536
        try:
            while sent < size:
                writer.write(chunk)
                await writer.drain()  # raises once the worker has hung up
                sent += len(chunk)
        except ConnectionError:
            hung_up.set()
            raise

    async with Receiver(respond=huge) as receiver:
        hook = await create_webhook(client, admin, receiver.url, EVENTS)
        await registry.add_innovation(conn, "huge-answer")
        async with Worker(pool, FAST) as worker:
            await drain_until(worker, lambda: worker.stats.delivered == 1)
            await wait_for(hung_up.is_set)
    assert receiver.finished == 0
    assert sent < size // 4, sent  # the worker stopped reading (socket buffers hold the rest)
    log = (await client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=admin)).json()["items"]
    assert [(d["status"], d["lastStatusCode"], d["lastError"]) for d in log] == [("delivered", 200, None)]


async def test_the_delivery_log_never_holds_the_receivers_answer(client, admin, conn, pool) -> None:
    async def chatty(writer: asyncio.StreamWriter, _: Received) -> None:
        body = b"root:x:0:0:root:/root:/bin/bash internal secrets here"
        writer.write(b"HTTP/1.1 500 Oops\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()

    async with Receiver(respond=chatty) as receiver:
        hook = await create_webhook(client, admin, receiver.url, EVENTS)
        await registry.add_innovation(conn, "chatty")
        async with Worker(pool, FAST) as worker:
            await drain_until(worker, lambda: worker.stats.failed == 1)
    r = await client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=admin)
    assert "root" not in r.text and "secrets" not in r.text
    assert [(d["lastStatusCode"], d["lastError"]) for d in r.json()["items"]] == [(500, "http_status")]


async def test_a_leased_delivery_is_not_taken_and_an_expired_lease_is(client, admin, conn, pool, db_dsn) -> None:
    """Two workers: while A's lease lives, B finds nothing to do; once it expires (A presumed
    dead), B sends the event and records it, and A's late outcome is dropped."""
    held = asyncio.Event()
    other_pool = await make_pool(db_dsn)
    try:
        async with Receiver(hold_first=held) as receiver:
            hook = await create_webhook(client, admin, receiver.url, EVENTS)
            await registry.add_innovation(conn, "leased")
            async with Worker(pool, FAST, name="a") as a, Worker(other_pool, FAST, name="b") as b:
                await a.fan_out()
                sending = asyncio.create_task(a.deliver_next())
                try:
                    await wait_for(lambda: len(receiver.requests) == 1)
                    assert await b.deliver_next() is False  # the head is leased: nothing due
                    await conn.execute("UPDATE webhook_deliveries SET leased_until = now() - interval '1 second'")
                    assert await b.deliver_next() is True
                    assert len(receiver.requests) == 2 and b.stats.delivered == 1
                finally:
                    held.set()
                assert await sending is True
            assert a.stats.lost == 1 and a.stats.delivered == 0
    finally:
        await other_pool.close()
    first, second = receiver.requests
    assert first.headers["spread-event-id"] == second.headers["spread-event-id"]
    log = (await client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=admin)).json()["items"]
    assert [(d["status"], d["attempts"]) for d in log] == [("delivered", 1)]


async def test_during_a_rotation_deliveries_carry_both_signatures(client, admin, conn, pool) -> None:
    async with Receiver() as receiver:
        hook = await create_webhook(client, admin, receiver.url, EVENTS)
        r = await client.post(f"/v1/webhooks/{hook['id']}/rotate-secret", json={"overlapSeconds": 600}, headers=admin)
        new = r.json()["secret"]
        await registry.add_innovation(conn, "rotating")
        async with Worker(pool, FAST) as worker:
            await drain_until(worker, lambda: len(receiver.delivered()) == 1)
            # the overlap ends: only the new secret signs
            await conn.execute("UPDATE webhooks SET previous_secret_expires_at = now() - interval '1 second'")
            await registry.add_innovation(conn, "rotated")
            await drain_until(worker, lambda: len(receiver.delivered()) == 2)
    during, after = receiver.requests
    values = during.headers["spread-signature"].split(", ")
    assert len(values) == 2 and all(v.startswith("v1=") for v in values)
    for secret in (hook["secret"], new):  # a receiver holding either secret accepts it
        assert verify_signature(
            secret, during.body, during.headers["spread-timestamp"], during.headers["spread-signature"]
        )
    assert len(after.headers["spread-signature"].split(",")) == 1
    assert verify_signature(new, after.body, after.headers["spread-timestamp"], after.headers["spread-signature"])
    assert not verify_signature(
        hook["secret"], after.body, after.headers["spread-timestamp"], after.headers["spread-signature"]
    )


async def test_submissions_fan_out_only_to_webhooks_that_may_see_them(client, admin, conn, pool) -> None:
    """A submission is one partner's private record: an admin's webhook gets every partner's;
    a webhook registered by a partner (possible only by SQL today) gets only its own."""
    partner_a = await conn.fetchval("INSERT INTO partners (name) VALUES ('Partner A') RETURNING id")
    partner_b = await conn.fetchval("INSERT INTO partners (name) VALUES ('Partner B') RETURNING id")
    async with Receiver() as receiver:
        admins = await create_webhook(client, admin, f"{receiver.url}/admin", ["submission.*"])
        own = await create_webhook(client, admin, f"{receiver.url}/a", ["submission.*"])
        await conn.execute(
            "UPDATE webhooks SET sees_all_partners = false, created_by_partner_id = $2 WHERE id = $1",
            uuid.UUID(own["id"]),
            partner_a,
        )
        submissions = {}
        for name, partner in (("a", partner_a), ("b", partner_b)):
            async with conn.transaction():
                await registry._actor(conn)
                submissions[name] = await conn.fetchval(
                    "INSERT INTO submissions (partner_id, mode, row_count, created, updated, unchanged, rejected)"
                    " VALUES ($1, 'atomic', 0, 0, 0, 0, 0) RETURNING id",
                    partner,
                )
        async with Worker(pool, FAST) as worker:
            await drain_until(worker, lambda: len(receiver.delivered()) == 3)
            await worker.drain()
    seen = {(r.path.rsplit("/", 1)[1], r.json()["data"]["entityId"]) for r in receiver.requests}
    assert seen == {("admin", str(submissions["a"])), ("admin", str(submissions["b"])), ("a", str(submissions["a"]))}
    assert admins["id"] != own["id"]
