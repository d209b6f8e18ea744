"""``review.overdue``: fired once per review milestone that passes its due date unmet."""

from __future__ import annotations

import datetime as dt

import asyncpg
import httpx

from service.reviews.overdue import notice_overdue
from service.webhooks.worker import Worker
from tests.factories import adopt, make_innovation
from tests.webhooks.conftest import FAST, create_webhook, drain_until
from tests.webhooks.receiver import Receiver

TODAY = dt.date.today()


async def test_review_overdue_fires_once(client: httpx.AsyncClient, admin, conn: asyncpg.Connection, pool) -> None:
    async with Receiver() as receiver:
        await create_webhook(client, admin, receiver.url, ["review.overdue"])
        inn = await make_innovation(client, admin, originStage="piloting")
        started = (TODAY - dt.timedelta(days=250)).isoformat()  # the 6-month review is overdue
        r = await adopt(client, admin, inn["id"], "RQM", started, stage="implementing")
        assert r.status_code == 201, r.text
        adoption = r.json()["id"]
        fresh = await adopt(client, admin, inn["id"], "RJ1", TODAY.isoformat(), stage="implementing")
        assert fresh.status_code == 201, fresh.text  # nothing due yet: no event
        async with Worker(pool, FAST) as worker:  # its first fan-out notices overdue reviews
            await drain_until(worker, lambda: len(receiver.requests) >= 1)
            # noticing again (as the next check, or a second worker, would) adds nothing
            assert await notice_overdue(conn) == 0
            await worker.drain()
    events = [req.json() for req in receiver.requests]
    assert [e["type"] for e in events] == ["review.overdue"]
    after = events[0]["data"]["after"]
    due = await conn.fetchval("SELECT ($1::date + interval '6 months')::date", TODAY - dt.timedelta(days=250))
    assert (after["adoptionId"], after["months"], after["dueOn"]) == (adoption, 6, due.isoformat())
    assert await conn.fetchval("SELECT count(*) FROM review_overdue") == 1


async def test_a_met_milestone_is_not_overdue(client: httpx.AsyncClient, admin, conn: asyncpg.Connection) -> None:
    inn = await make_innovation(client, admin, originStage="piloting")
    started = (TODAY - dt.timedelta(days=250)).isoformat()
    adoption = (await adopt(client, admin, inn["id"], "RQM", started, stage="implementing")).json()["id"]
    factors = dict.fromkeys(
        [
            "benefitsBeyondHelpingPatients",
            "credibilityOfBenefits",
            "adaptability",
            "monitoringProgress",
            "staffInvolvementAndTraining",
            "staffBehaviours",
            "seniorLeadership",
            "clinicalLeadership",
            "fitWithAimsAndCulture",
            "infrastructure",
        ],
        3,
    )
    on = (TODAY - dt.timedelta(days=80)).isoformat()  # a few days before the 6-month date
    r = await client.post(
        f"/v1/adoptions/{adoption}/reviews",
        json={"reviewedOn": on, "stillInUse": "yes", "factors": factors},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    assert await notice_overdue(conn) == 0
    # ...until a day past its 12-month date, unmet
    assert await notice_overdue(conn, TODAY + dt.timedelta(days=130)) == 1
