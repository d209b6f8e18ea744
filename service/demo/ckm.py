"""The Coleman-Katz-Menzel "Medical Innovation" spread as a lineage: real data on how a new drug
travelled through a peer network.

Source: J. Coleman, E. Katz, H. Menzel, "The Diffusion of an Innovation Among Physicians",
Sociometry 20 (1957) 253-270. Data as shipped in ``service/data/reference/ckm/`` (De Domenico
multiplex collection via CompNet/MultiplexCentrality, "provided as is"; see its README).

How the record becomes registry rows (choices documented in the README's Lineage section):

- Each physician who adopted (``nodeAdoptionDate`` 1-17) becomes a site of kind ``other``,
  code ``CKM-`` + the three-digit node id (``CKM-007``), named "Physician 7, Peoria (CKM 1957)".
  City codes 1-4 are read as Peoria, Bloomington, Quincy and Galesburg, the order the source
  lists the towns. Coordinates: the town centre, offset on a small spiral (1-3 km) so the points
  do not overlap; they are not addresses. Physicians who never adopted (18) or whose date is
  unknown (98, 99) are left out, with their ties.
- One innovation, "Tetracycline prescribing (Coleman, Katz & Menzel 1957)" (pharmaceutical,
  peer reviewed, ``isDemo`` true: real history, but not an NHS record), originated 1953-11-01.
  The registry needs an origin site: the lowest-numbered month-1 adopter stands in for it.
- Adoption month m starts on the first day of the m-th month from November 1953 (month 1 =
  1953-11-01, month 17 = 1955-03-01), stage ``implementing`` (they prescribed it).
- A learned-from link runs from an adopter to each physician it named who adopted in an
  earlier month (same-month ties are left out: who learned from whom is unknowable). Named as
  adviser (layer 1) -> ``peer_visit``; discussion partner (layer 2) -> ``community_of_practice``;
  friend (layer 3) -> ``other``. A pair named in several layers keeps the first of that order.
  The date a link was made is unknown, so ``on`` is empty.

Rows are written with SQL in one transaction with an empty change-log actor (system work).
Idempotent: sites are upserted only when different, and innovation, adoptions and links are
inserted ``ON CONFLICT DO NOTHING``, so a second run changes nothing.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "reference" / "ckm"
CITATION = (
    'J. Coleman, E. Katz, H. Menzel, "The Diffusion of an Innovation Among Physicians", '
    "Sociometry 20 (1957) 253-270. Data: De Domenico multiplex collection (CompNet/MultiplexCentrality), "
    "provided as is."
)
SLUG = "tetracycline-ckm-1957"
TITLE = "Tetracycline prescribing (Coleman, Katz & Menzel 1957)"
MONTH_ONE = dt.date(1953, 11, 1)
TOWNS = {
    1: ("Peoria", 40.6936, -89.5890),
    2: ("Bloomington", 40.4842, -88.9937),
    3: ("Quincy", 39.9356, -91.4099),
    4: ("Galesburg", 40.9478, -90.3712),
}
LAYER_CHANNELS = {1: "peer_visit", 2: "community_of_practice", 3: "other"}
SUMMARY = (
    "How a new antibiotic spread among the physicians of four Illinois towns in 1953-55: the month each "
    "first prescribed tetracycline, and whom each had named as adviser, discussion partner or friend."
)
DESCRIPTION = (
    "The classic real record of an innovation spreading through peer networks. Each adopting physician is a "
    "site; each adoption starts in the month the physician first prescribed tetracycline (month 1 = November "
    "1953); learned-from links run to the earlier adopters the physician named as adviser (peer visit), "
    "discussion partner (community of practice) or friend (other). Source: " + CITATION
)
COMPONENTS = [
    {
        "key": "prescribing",
        "name": "Prescribing tetracycline",
        "description": "Using the new broad-spectrum antibiotic for suitable infections.",
    }
]

Progress = Callable[[str, int, int], Any]


class Physician:
    __slots__ = ("city", "month", "node")

    def __init__(self, node: int, city: int, month: int) -> None:
        self.node, self.city, self.month = node, city, month

    @property
    def code(self) -> str:
        return f"CKM-{self.node:03d}"

    @property
    def started_on(self) -> dt.date:
        months = MONTH_ONE.month - 1 + self.month - 1
        return dt.date(MONTH_ONE.year + months // 12, months % 12 + 1, 1)

    @property
    def adopted(self) -> bool:
        return 1 <= self.month <= 17


def read_physicians(data_dir: Path = DATA_DIR) -> dict[int, Physician]:
    physicians: dict[int, Physician] = {}
    lines = (data_dir / "CKM-Physicians-Innovation_nodes.txt").read_text().splitlines()
    for line in lines[1:]:
        if line.strip():
            node, city, month, *_ = (int(v) for v in line.split())
            physicians[node] = Physician(node, city, month)
    return physicians


def read_ties(data_dir: Path = DATA_DIR) -> list[tuple[int, int, int]]:
    """(layer, naming physician, named physician) for every tie."""
    ties = []
    for line in (data_dir / "CKM-Physicians-Innovation_multiplex.edges").read_text().splitlines():
        if line.strip():
            layer, source, target, _ = line.split()
            ties.append((int(layer), int(source), int(target)))
    return ties


def plan(data_dir: Path = DATA_DIR) -> tuple[list[Physician], list[tuple[int, int, str]]]:
    """Adopters (by node id) and learned-from links (learner node, source node, channel)."""
    physicians = read_physicians(data_dir)
    adopters = sorted((p for p in physicians.values() if p.adopted), key=lambda p: p.node)
    links: dict[tuple[int, int], str] = {}
    for layer, learner, named in sorted(read_ties(data_dir)):
        a, b = physicians.get(learner), physicians.get(named)
        if a is None or b is None or not a.adopted or not b.adopted or b.month >= a.month:
            continue
        links.setdefault((learner, named), LAYER_CHANNELS[layer])  # layers sorted: advice first
    return adopters, [(learner, named, channel) for (learner, named), channel in sorted(links.items())]


def _place(p: Physician) -> tuple[float, float]:
    _, lat, lon = TOWNS[p.city]
    angle = p.node * 2.399963  # the golden angle, in radians
    radius_km = 1.0 + 2.0 * ((p.node * 0.618034) % 1.0)
    dlat = radius_km / 111.0 * math.sin(angle)
    dlon = radius_km / (111.0 * math.cos(math.radians(lat))) * math.cos(angle)
    return round(lat + dlat, 5), round(lon + dlon, 5)


UPSERT_SITES = """
INSERT INTO sites AS s (code, name, kind, latitude, longitude)
SELECT code, name, 'other', lat, lon
FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[]) AS v (code, name, lat, lon)
ON CONFLICT (code) DO UPDATE SET
    name = excluded.name, kind = excluded.kind, latitude = excluded.latitude, longitude = excluded.longitude,
    updated_at = now(), version = s.version + 1
WHERE (s.name, s.kind, s.latitude, s.longitude)
      IS DISTINCT FROM (excluded.name, excluded.kind, excluded.latitude, excluded.longitude)
RETURNING (xmax = 0) AS inserted
"""

INSERT_INNOVATION = """
INSERT INTO innovations (slug, title, summary, description, category, care_settings, themes, evidence_level,
                         origin_site_code, originated_on, core_components, is_demo)
VALUES ($1, $2, $3, $4, 'pharmaceutical', '{primary_care}', '{antibiotics,peer networks}', 'peer_reviewed',
        $5, $6, $7, true)
ON CONFLICT (slug) DO NOTHING
RETURNING id
"""

INNOVATION_BY_SLUG = "SELECT id FROM innovations WHERE slug = $1"

INSERT_ADOPTIONS = """
INSERT INTO adoptions (innovation_id, site_code, stage, started_on, is_origin, notes, external_id)
SELECT $1, v.site_code, 'implementing', v.started_on, v.is_origin, v.notes, v.external_id
FROM unnest($2::text[], $3::date[], $4::bool[], $5::text[], $6::text[])
     AS v (site_code, started_on, is_origin, notes, external_id)
ON CONFLICT (innovation_id, site_code) WHERE stage <> 'discontinued' DO NOTHING
RETURNING id
"""

ADOPTION_IDS = """
SELECT a.site_code, a.id FROM adoptions a
WHERE a.innovation_id = $1 AND a.site_code = ANY($2::text[]) AND a.stage <> 'discontinued'
"""

INSERT_LINKS = """
INSERT INTO adoption_sources (adoption_id, source_adoption_id, channel)
SELECT v.learner, v.source, v.channel
FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS v (learner, source, channel)
ON CONFLICT (adoption_id, source_adoption_id) DO NOTHING
RETURNING id
"""


async def import_ckm(conn: asyncpg.Connection, progress: Progress | None = None) -> dict[str, Any]:
    """Load the CKM spread (idempotent); ``progress(step, done, total)`` after each step."""
    adopters, links = plan()
    steps = 4

    def report(step: str, done: int) -> None:
        if progress is not None:
            progress(step, done, steps)

    async with conn.transaction():
        # System work: an empty actor in the change log.
        await conn.execute("SELECT set_config('spread.actor', '', true)")
        sites = await conn.fetch(
            UPSERT_SITES,
            [p.code for p in adopters],
            [f"Physician {p.node}, {TOWNS[p.city][0]} (CKM 1957)" for p in adopters],
            [_place(p)[0] for p in adopters],
            [_place(p)[1] for p in adopters],
        )
        report("sites", 1)

        origin = min((p for p in adopters if p.month == 1), key=lambda p: p.node)
        innovation_id = await conn.fetchval(
            INSERT_INNOVATION, SLUG, TITLE, SUMMARY, DESCRIPTION, origin.code, MONTH_ONE, COMPONENTS
        )
        created_innovation = innovation_id is not None
        if innovation_id is None:
            innovation_id = await conn.fetchval(INNOVATION_BY_SLUG, SLUG)
        report("innovation", 2)

        adoptions = await conn.fetch(
            INSERT_ADOPTIONS,
            innovation_id,
            [p.code for p in adopters],
            [p.started_on for p in adopters],
            [p is origin for p in adopters],
            [f"Month {p.month} of the CKM study: first prescription of tetracycline." for p in adopters],
            [f"ckm-physician-{p.node}" for p in adopters],
        )
        report("adoptions", 3)

        ids = {
            r["site_code"]: r["id"] for r in await conn.fetch(ADOPTION_IDS, innovation_id, [p.code for p in adopters])
        }
        code = {p.node: p.code for p in adopters}
        created_links = await conn.fetch(
            INSERT_LINKS,
            [ids[code[learner]] for learner, _, _ in links],
            [ids[code[source]] for _, source, _ in links],
            [channel for _, _, channel in links],
        )
        report("learned-from links", 4)

    physicians = read_physicians()
    return {
        "innovationId": str(innovation_id),
        "physicians": len(physicians),
        "adopters": len(adopters),
        "excluded": len(physicians) - len(adopters),
        "links": len(links),
        "created": {
            "sites": sum(1 for r in sites if r["inserted"]),
            "innovation": int(created_innovation),
            "adoptions": len(adoptions),
            "links": len(created_links),
        },
        "citation": CITATION,
    }
