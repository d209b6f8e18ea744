"""Hand-built spreads for lineage tests, written with direct SQL (a small helper, not the API).

The main spread, ``virtual wards`` (X), dates in 2020:

    A RQM01 Jan 1 (origin) ──peer_visit──────────> B RXN02 Mar 1 ──peer_visit──> D RJ122 Jun 1
      └────────────────────learning_network──────> C R0A03 Apr 1 ──collaborative─┘   │   │
    E RRK97 Jul 1 (root, piloting) ──conference──> F RTD01 Sep 1 <──peer_visit───────┘   │
                                                   F ──community_of_practice──> G RTH08 2021-01-01
                                                   D ──peer_visit──> H RYJ01 Aug 1 (discontinued)

Generations: A 1, E 1, B 2, C 2, F 2 (1 + min(D 3, E 1)), D 3, G 3, H 4.
Y derives from X at D: Y1 RJ122 (2020-10-01) learned from D, Y2 RQM91 (2021-02-01) from Y1.
Z derives from Y; W derives from X.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import asyncpg
import msgspec

COMPONENTS = [
    {"key": "huddle", "name": "Daily huddle", "description": "Multidisciplinary, every morning"},
    {"key": "monitoring", "name": "Remote monitoring"},
    {"key": "discharge", "name": "Discharge planning", "description": "From day one"},
]


async def innovation(
    conn: asyncpg.Connection,
    title: str,
    *,
    origin: str = "RQM",
    components: list[dict[str, str]] | None = None,
    derived_from: uuid.UUID | None = None,
    derived_at: uuid.UUID | None = None,
) -> uuid.UUID:
    slug = title.lower().replace(" ", "-") + "-" + uuid.uuid4().hex[:6]
    return await conn.fetchval(
        """
        INSERT INTO innovations (slug, title, category, evidence_level, origin_site_code, originated_on,
                                 core_components, derived_from_id, derived_from_adoption_id)
        VALUES ($1, $2, 'models_of_care', 'local_evaluation', $3, '2019-06-01', $4, $5, $6)
        RETURNING id
        """,
        slug,
        title,
        origin,
        components if components is not None else COMPONENTS,
        derived_from,
        derived_at,
    )


async def adoption(
    conn: asyncpg.Connection,
    innovation_id: uuid.UUID,
    site: str,
    started: str,
    *,
    stage: str = "implementing",
    origin: bool = False,
) -> uuid.UUID:
    return await conn.fetchval(
        """
        INSERT INTO adoptions (innovation_id, site_code, stage, started_on, is_origin, discontinued_reason)
        VALUES ($1, $2, $3, $4, $5, CASE WHEN $3 = 'discontinued' THEN 'no staff' END)
        RETURNING id
        """,
        innovation_id,
        site,
        stage,
        dt.date.fromisoformat(started),
        origin,
    )


async def link(
    conn: asyncpg.Connection, learner: uuid.UUID, source: uuid.UUID, channel: str, on: str | None = None
) -> None:
    await conn.execute(
        "INSERT INTO adoption_sources (adoption_id, source_adoption_id, channel, learned_on) VALUES ($1, $2, $3, $4)",
        learner,
        source,
        channel,
        dt.date.fromisoformat(on) if on else None,
    )


async def adaptation(
    conn: asyncpg.Connection,
    adoption_id: uuid.UUID,
    description: str,
    *,
    keys: list[str] | None = None,
    made_on: str | None = None,
    nature: str | None = "tailoring",
) -> uuid.UUID:
    return await conn.fetchval(
        """
        INSERT INTO adaptations (adoption_id, innovation_id, description, made_on, phase, what_modified, nature,
                                 fidelity, core_component_keys)
        SELECT a.id, a.innovation_id, $2, $3, 'implementation', 'content', $4, 'consistent', $5
        FROM adoptions a WHERE a.id = $1
        RETURNING id
        """,
        adoption_id,
        description,
        dt.date.fromisoformat(made_on) if made_on else None,
        nature,
        keys or [],
    )


class Spread(msgspec.Struct):
    """Ids of the hand-built spread, by letter (adoptions) and name (innovations, adaptations)."""

    x: uuid.UUID
    y: uuid.UUID
    z: uuid.UUID
    w: uuid.UUID
    a: dict[str, uuid.UUID]
    ad: dict[str, uuid.UUID]

    def name(self, adoption_id: Any) -> str:
        """The letter of an adoption id (str or UUID), for readable assertions."""
        by_id = {str(v): k for k, v in self.a.items()}
        return by_id[str(adoption_id)]

    def names(self, ids: list[Any]) -> list[str]:
        return [self.name(i) for i in ids]


async def build(conn: asyncpg.Connection) -> Spread:
    x = await innovation(conn, "Virtual wards")
    a: dict[str, uuid.UUID] = {}
    a["A"] = await adoption(conn, x, "RQM01", "2020-01-01", origin=True, stage="sustaining")
    a["B"] = await adoption(conn, x, "RXN02", "2020-03-01")
    a["C"] = await adoption(conn, x, "R0A03", "2020-04-01")
    a["D"] = await adoption(conn, x, "RJ122", "2020-06-01")
    a["E"] = await adoption(conn, x, "RRK97", "2020-07-01", stage="piloting")
    a["F"] = await adoption(conn, x, "RTD01", "2020-09-01")
    a["G"] = await adoption(conn, x, "RTH08", "2021-01-01")
    a["H"] = await adoption(conn, x, "RYJ01", "2020-08-01", stage="discontinued")
    await link(conn, a["B"], a["A"], "peer_visit", "2020-02-15")
    await link(conn, a["C"], a["A"], "learning_network")
    await link(conn, a["D"], a["B"], "peer_visit")
    await link(conn, a["D"], a["C"], "collaborative")
    await link(conn, a["F"], a["D"], "peer_visit")
    await link(conn, a["F"], a["E"], "conference")
    await link(conn, a["G"], a["F"], "community_of_practice")
    await link(conn, a["H"], a["D"], "peer_visit")

    ad: dict[str, uuid.UUID] = {}
    ad["video_huddle"] = await adaptation(conn, a["B"], "Huddle by video call", keys=["huddle"], made_on="2020-03-10")
    ad["pharmacists"] = await adaptation(
        conn, a["C"], "Pharmacists read the monitoring", keys=["monitoring"], made_on="2020-04-10"
    )
    ad["short_huddle"] = await adaptation(
        conn, a["D"], "Fifteen-minute huddle", keys=["huddle"], made_on="2020-06-10", nature="shortening"
    )
    ad["leaflet"] = await adaptation(conn, a["D"], "Leaflet in Urdu", made_on="2020-06-20", nature="adding")
    ad["checklist"] = await adaptation(
        conn, a["F"], "Discharge checklist in the huddle", keys=["discharge", "huddle"], made_on="2020-09-10"
    )
    ad["night_monitoring"] = await adaptation(
        conn, a["H"], "Monitoring overnight only", keys=["monitoring"], made_on="2020-08-10"
    )
    ad["unknown_key"] = await adaptation(conn, a["H"], "Renamed the service", keys=["branding"], made_on="2020-08-11")

    y = await innovation(conn, "Virtual wards for children", origin="RJ1", derived_from=x, derived_at=a["D"])
    a["Y1"] = await adoption(conn, y, "RJ122", "2020-10-01", origin=True)
    a["Y2"] = await adoption(conn, y, "RQM91", "2021-02-01")
    await link(conn, a["Y1"], a["D"], "other")
    await link(conn, a["Y2"], a["Y1"], "peer_visit", "2021-01-20")
    z = await innovation(conn, "Virtual wards for neonates", origin="RJ1", derived_from=y)
    w = await innovation(conn, "Virtual wards at home", origin="RXN", derived_from=x)
    return Spread(x=x, y=y, z=z, w=w, a=a, ad=ad)
