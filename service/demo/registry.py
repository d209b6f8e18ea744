"""Demo data for ``spread serve --demo``: a living registry a newcomer can explore at once.

Loads the NHS reference sites, then a handful of demo innovations (title prefix ``[Demo] ``,
``isDemo`` true) adopted across real trusts and ICBs. The adoption histories, learned-from
links and adaptations are fictional, generated from a fixed seed so every run builds the same
registry. Everything is written through the service functions, so every registry rule holds.

Idempotent: an innovation whose slug already exists is skipped, and each innovation with its
adoptions and adaptations is written in one transaction, so a second run changes nothing.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
import msgspec

from service.adaptations.schemas import AdaptationCreate
from service.adaptations.service import create_adaptation
from service.adoptions.schemas import AdoptionCreate, AdoptionUpdate, SourceIn
from service.adoptions.service import create_adoption, update_adoption
from service.auth.queries import ensure_partner
from service.auth.schemas import Principal
from service.db import Actor
from service.demo.campaigns import load_campaign_demo
from service.demo.catalogue import DEMO_INNOVATIONS, DEMO_SLUGS, FAR_CHANNELS, NEAR_CHANNELS
from service.demo.ckm import import_ckm
from service.demo.outcomes import load_outcomes_demo
from service.demo.specs import DemoInnovation
from service.innovations.schemas import CoreComponent, InnovationCreate, LinkItem
from service.innovations.service import create_innovation
from service.sites.importer import ATTRIBUTION, import_reference_sites
from service.vocab import Channel, Stage

Echo = Callable[[str], Any]

DEMO_PARTNER = "Spread demo"
DEMO_NOTE = "Demo data: a fictional adoption at a real NHS organisation."
# The fictional histories end here; ICBs exist only from 1 July 2022.
HISTORY_ENDS = dt.date(2024, 12, 31)
ICBS_FROM = dt.date(2022, 7, 1)


_POOLS = {
    # Acute trusts: English trusts with hospital sites in the reference data.
    "acute": """
        SELECT t.code, t.region_code FROM sites t
        WHERE t.kind = 'trust' AND t.region_code IS NOT NULL
          AND EXISTS (SELECT 1 FROM sites s WHERE s.parent_code = t.code AND s.kind = 'trust_site')
        ORDER BY t.code""",
    "trust": "SELECT code, region_code FROM sites WHERE kind = 'trust' AND region_code IS NOT NULL ORDER BY code",
    "icb": "SELECT code, region_code FROM sites WHERE kind = 'icb' ORDER BY code",
}
_EXISTING = "SELECT slug, id FROM innovations WHERE slug = ANY($1::text[])"
_ADOPTIONS_OF = """
SELECT id, site_code, started_on, is_origin FROM adoptions WHERE innovation_id = $1 ORDER BY started_on, id
"""
_SITE_REGION = "SELECT region_code FROM sites WHERE code = $1"


class _ParentAdoption(msgspec.Struct, frozen=True, kw_only=True):
    """An adoption of the idea a derived demo innovation grew from."""

    id: uuid.UUID
    site_code: str
    started_on: dt.date
    is_origin: bool


async def _adoptions_of(conn: asyncpg.Connection, innovation_id: uuid.UUID) -> list[_ParentAdoption]:
    rows = await conn.fetch(_ADOPTIONS_OF, innovation_id)
    return [
        _ParentAdoption(id=r["id"], site_code=r["site_code"], started_on=r["started_on"], is_origin=r["is_origin"])
        for r in rows
    ]


class _Planned(msgspec.Struct):
    """One adoption in the plan: where, when, and which earlier adoptions it learned from."""

    site: str
    region: str | None
    started_on: dt.date
    stage: Stage
    sources: list[tuple[int, Channel, dt.date]]  # (index in the plan, channel, learned on)
    external_sources: list[tuple[uuid.UUID, Channel, dt.date]] = []
    id: uuid.UUID | None = None


def _between(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    days = max((end - start).days, 0)
    return start + dt.timedelta(days=rng.randint(0, days))


def _stage_for(rng: random.Random, started_on: dt.date, end: dt.date) -> Stage:
    age = (end - started_on).days
    if age > 730:
        return rng.choice(["sustaining", "sustaining", "sustaining", "implementing"])
    if age > 365:
        return rng.choice(["implementing", "implementing", "sustaining"])
    if age > 180:
        return rng.choice(["piloting", "implementing"])
    return rng.choice(["exploring", "planning", "piloting"])


def _plan(
    spec: DemoInnovation,
    rng: random.Random,
    origin: tuple[str, str | None, dt.date],
    pool: list[tuple[str, str | None]],
    end: dt.date,
    parent_adoptions: list[_ParentAdoption],
) -> list[_Planned]:
    """The origin, then ``spec.adoptions`` learners: the origin's region first, spreading outward."""
    origin_site, origin_region, origin_date = origin
    candidates = [(c, r) for c, r in pool if c != origin_site]
    home = [c for c in candidates if c[1] == origin_region]
    away = [c for c in candidates if c[1] != origin_region]
    rng.shuffle(home)
    rng.shuffle(away)
    n_home = min(len(home), max(2, spec.adoptions // 4))
    chosen = home[:n_home] + away[: spec.adoptions - n_home]
    # Home-region sites tend to adopt earlier: sort by a noisy distance before handing out dates.
    chosen.sort(key=lambda c: (c[1] != origin_region) + rng.random() * 1.3)
    first = origin_date + dt.timedelta(days=45)
    dates = sorted(_between(rng, first, end) for _ in chosen)
    plan = [_Planned(site=origin_site, region=origin_region, started_on=origin_date, stage="sustaining", sources=[])]
    for (site, region), started_on in zip(chosen, dates, strict=True):
        learner = _Planned(
            site=site, region=region, started_on=started_on, stage=_stage_for(rng, started_on, end), sources=[]
        )
        earlier = [i for i, p in enumerate(plan) if p.started_on <= started_on]
        if rng.random() < 0.08:
            pass  # learned from a paper or a talk: a root of its own
        else:
            nearby = [i for i in earlier if plan[i].region == region]
            picked = rng.choice(nearby) if nearby and rng.random() < 0.7 else rng.choice(earlier)
            picks = [picked]
            others = [i for i in earlier if i != picked]
            if others and rng.random() < 0.2:
                picks.append(rng.choice(others))
            for i in picks:
                source = plan[i]
                channels = NEAR_CHANNELS if source.region == region else FAR_CHANNELS
                channel: Channel = "direct_from_innovator" if i == 0 and rng.random() < 0.3 else rng.choice(channels)
                learned_on = _between(rng, max(source.started_on, started_on - dt.timedelta(days=180)), started_on)
                learner.sources.append((i, channel, learned_on))
        # A derived idea's adopters sometimes learned from a site running the parent idea.
        usable = [a for a in parent_adoptions if a.started_on <= started_on and a.site_code != site]
        if usable and rng.random() < 0.25:
            parent = rng.choice(usable)
            learned_on = _between(rng, max(parent.started_on, started_on - dt.timedelta(days=180)), started_on)
            learner.external_sources = [(parent.id, "learning_network", learned_on)]
        plan.append(learner)
    return plan


def generations(plan: list[_Planned]) -> list[int]:
    """Generation of each planned adoption: roots 1, others 1 + the smallest among their sources."""
    gen: list[int] = []
    for p in plan:
        gen.append(1 + min(gen[i] for i, _, _ in p.sources) if p.sources else 1)
    return gen


async def _load_one(
    conn: asyncpg.Connection,
    spec: DemoInnovation,
    actor: Actor,
    principal: Principal,
    pools: dict[str, list[tuple[str, str | None]]],
    parent_id: uuid.UUID | None,
) -> tuple[uuid.UUID, str]:
    rng = random.Random(f"spread-demo:{spec.slug}")
    end = min(HISTORY_ENDS, dt.date.today())
    pool = pools[spec.pool]
    parent_adoptions: list[_ParentAdoption] = []
    derived_from_adoption: uuid.UUID | None = None
    if parent_id is not None:
        parent_adoptions = await _adoptions_of(conn, parent_id)
    if spec.origin_site is None:
        # A derived idea grows at one of the parent's adopters (not its origin), some months later.
        eligible = [a for a in parent_adoptions if not a.is_origin and a.site_code in dict(pool)]
        start_from = eligible[min(2, len(eligible) - 1)] if eligible else parent_adoptions[0]
        origin_site = start_from.site_code
        originated_on = max(start_from.started_on + dt.timedelta(days=180), dt.date(2020, 11, 16))
        derived_from_adoption = start_from.id
    else:
        codes = dict(pool)
        origin_site = spec.origin_site if spec.origin_site in codes else pool[0][0]
        originated_on = spec.originated_on or dt.date(2019, 1, 1)
    if spec.pool == "icb":
        originated_on = max(originated_on, ICBS_FROM)
    origin_region = await conn.fetchval(_SITE_REGION, origin_site)

    innovation, _ = await create_innovation(
        conn,
        actor,
        principal,
        InnovationCreate(
            title=spec.title,
            slug=spec.slug,
            summary=spec.summary,
            description=spec.description,
            category=spec.category,
            care_settings=spec.care_settings,
            themes=spec.themes,
            evidence_level=spec.evidence_level,
            origin_site_code=origin_site,
            originated_on=originated_on,
            core_components=[CoreComponent(key=k, name=n, description=d) for k, n, d in spec.components],
            links=[LinkItem(title=t, url=u) for t, u in spec.links],
            derived_from_id=parent_id,
            derived_from_adoption_id=derived_from_adoption,
        ),
        is_demo=True,
    )
    plan = _plan(spec, rng, (origin_site, origin_region, originated_on), pool, end, parent_adoptions)
    plan[0].id = (await _adoptions_of(conn, innovation.id))[0].id
    ids = [plan[0].id]  # the adoption written for each planned one, in plan order

    links = 0
    for p in plan[1:]:
        sources = [SourceIn(adoption_id=ids[i], channel=ch, on=on) for i, ch, on in p.sources]
        sources += [SourceIn(adoption_id=a, channel=ch, on=on) for a, ch, on in p.external_sources]
        links += len(sources)
        adoption, _ = await create_adoption(
            conn,
            actor,
            principal,
            innovation.id,
            AdoptionCreate(
                site_code=p.site,
                started_on=p.started_on,
                stage=p.stage,
                sources=sources,
                notes=DEMO_NOTE,
            ),
        )
        p.id = adoption.id
        ids.append(adoption.id)

    # A few adoptions are abandoned (evidence too): piloted or implemented, then discontinued.
    learners = [p for p in plan[1:] if p.stage in ("piloting", "implementing", "sustaining")]
    quitters = rng.sample(learners, k=min(len(spec.discontinue_reasons), len(learners)))
    for p, reason in zip(quitters, spec.discontinue_reasons, strict=False):
        assert p.id is not None
        await update_adoption(
            conn,
            actor,
            principal,
            p.id,
            AdoptionUpdate(stage="discontinued", discontinued_reason=reason),
            None,
        )

    adaptations = 0
    for p in plan[1:]:
        if rng.random() < 0.3:
            continue
        assert p.id is not None
        for template in rng.sample(spec.adaptations, k=rng.choice([1, 1, 2, 2, 3])):
            made_on = min(p.started_on + dt.timedelta(days=rng.randint(14, 420)), end)
            if template.phase == "pre_implementation":
                made_on = max(p.started_on - dt.timedelta(days=rng.randint(7, 90)), dt.date(2019, 1, 1))
            await create_adaptation(
                conn,
                actor,
                principal,
                p.id,
                msgspec.convert(
                    {
                        "description": template.description,
                        "madeOn": made_on.isoformat(),
                        "phase": template.phase,
                        "planning": template.planning,
                        "decidedBy": template.decided_by,
                        "whatModified": template.what_modified,
                        "level": template.level,
                        "nature": template.nature,
                        "contextChanges": template.context_changes,
                        "fidelity": template.fidelity,
                        "coreComponentKeys": template.keys,
                        "goals": template.goals,
                        "reasons": template.reasons,
                        "outcomeNotes": template.outcome_notes,
                    },
                    AdaptationCreate,
                ),
            )
            adaptations += 1

    regions = len({p.region for p in plan if p.region})
    depth = max(generations(plan))
    return innovation.id, (
        f"  {spec.title}: {len(plan)} adoptions in {regions} regions, {links} learned-from links, "
        f"{depth} generations, {len(quitters)} discontinued, {adaptations} adaptations"
    )


async def load_demo(conn: asyncpg.Connection, echo: Echo = print) -> None:
    """Load reference sites and the demo innovations; a second run changes nothing."""
    echo("Loading NHS reference sites ...")
    sites = await import_reference_sites(conn)
    echo(f"  sites: {sites.created} created, {sites.updated} updated, {sites.unchanged} unchanged")
    echo(f"  {ATTRIBUTION}")

    partner_id = await ensure_partner(conn, DEMO_PARTNER)
    principal = Principal(
        key_id=uuid.UUID(int=0),
        partner_id=partner_id,
        partner_name=DEMO_PARTNER,
        scopes=("read", "write", "admin"),
        expires_at=None,
    )
    actor = Actor(partner_id=str(partner_id), partner_name=DEMO_PARTNER, request_id="spread-demo")
    pools = {name: [(r["code"], r["region_code"]) for r in await conn.fetch(sql)] for name, sql in _POOLS.items()}
    existing = {r["slug"]: r["id"] for r in await conn.fetch(_EXISTING, DEMO_SLUGS)}

    echo("Loading demo innovations (fictional adoptions at real NHS organisations) ...")
    for spec in DEMO_INNOVATIONS:
        if spec.slug in existing:
            echo(f"  {spec.title}: already loaded")
            continue
        parent_id = existing.get(spec.derived_from) if spec.derived_from else None
        if spec.derived_from and parent_id is None:
            echo(f"  {spec.title}: skipped (its parent {spec.derived_from} is missing)")
            continue
        # One transaction per innovation: the service transactions nest as savepoints, so an
        # interrupted load leaves no half-built innovation and the next run finishes the job.
        async with conn.transaction():
            existing[spec.slug], summary = await _load_one(conn, spec, actor, principal, pools, parent_id)
        echo(summary)

    ckm = await import_ckm(conn)
    echo(
        "  Real spread: tetracycline among physicians (Coleman, Katz and Menzel, 1957): "
        f"{ckm['adopters']} adopting physicians, {ckm['links']} learned-from links"
    )
    await load_outcomes_demo(conn, echo)
    await load_campaign_demo(conn, echo)
    echo("Demo data ready. Demo innovations are titled '[Demo] ...' and have isDemo true.")
