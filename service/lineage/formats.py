"""Other renderings of a lineage graph: W3C PROV-JSON, GeoJSON and a Mermaid flowchart.

- PROV-JSON (``application/provenance+json``): sites are agents (``prov:Organization``),
  adoptions are activities associated with their site, and each adoption generates an entity,
  the innovation's variant as that site runs it. A learned-from link is ``wasInformedBy``
  (learner informed by source, with the channel) plus a ``wasDerivedFrom`` between the two
  variants; a root's variant derives from the innovation itself. Every adaptation is a
  ``wasDerivedFrom`` of the site's variant from the innovation with ``prov:type`` ``prov:Revision``,
  identified by the adaptation's id. Identifiers are URNs (``urn:spread:...``).
- GeoJSON: adopting sites as Points and learned-from links as LineStrings (``[longitude,
  latitude]``); a site without coordinates gets ``geometry: null``, as RFC 7946 allows.
- Mermaid: ``flowchart TD`` text to paste into Markdown; roots are bold, generation-0 nodes
  (the parent innovation's adoption the idea came in from) dashed.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import msgspec

from service.lineage.queries import AdaptationRow
from service.lineage.schemas import LineageEdge, LineageNode

MEDIA_TYPES = {
    "json": "application/json",
    "prov": "application/provenance+json",
    "geojson": "application/geo+json",
    "mermaid": "text/plain",  # Litestar adds the charset
}

PREFIXES = {
    "spread": "urn:spread:",
    "site": "urn:spread:site:",
    "adoption": "urn:spread:adoption:",
    "innovation": "urn:spread:innovation:",
    "variant": "urn:spread:variant:",
    "adaptation": "urn:spread:adaptation:",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}

_encode = msgspec.json.Encoder().encode


def _qname(value: str) -> dict[str, str]:
    return {"$": value, "type": "prov:QUALIFIED_NAME"}


def _time(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00"


def prov(
    innovation_id: uuid.UUID,
    title: str,
    nodes: list[LineageNode],
    edges: list[LineageEdge],
    adaptations: list[AdaptationRow],
) -> bytes:
    """The graph as a PROV-JSON document."""
    agents: dict[str, Any] = {}
    activities: dict[str, Any] = {}
    entities: dict[str, Any] = {}
    associated: dict[str, Any] = {}
    generated: dict[str, Any] = {}
    informed: dict[str, Any] = {}
    derived: dict[str, Any] = {}

    innovations = {n.innovation_id for n in nodes} | {innovation_id}
    for inn in sorted(innovations, key=str):
        entities[f"innovation:{inn}"] = {
            "prov:type": _qname("spread:Innovation"),
            **({"prov:label": title} if inn == innovation_id else {}),
        }
    for n in nodes:
        site = f"site:{n.site.code}"
        agents.setdefault(site, {"prov:type": _qname("prov:Organization"), "prov:label": n.site.name})
        act = f"adoption:{n.adoption_id}"
        activities[act] = {
            "prov:startTime": _time(n.started_on),
            "prov:label": f"{n.site.code} adopts",
            "spread:stage": n.stage,
            "spread:generation": n.generation,
        }
        var = f"variant:{n.adoption_id}"
        entities[var] = {
            "prov:type": _qname("spread:Variant"),
            "prov:label": f"as run at {n.site.code}",
            "spread:innovation": _qname(f"innovation:{n.innovation_id}"),
        }
        associated[f"_:assoc-{n.adoption_id}"] = {"prov:activity": act, "prov:agent": site}
        generated[f"_:gen-{n.adoption_id}"] = {"prov:entity": var, "prov:activity": act}
        if n.generation <= 1:
            derived[f"_:from-innovation-{n.adoption_id}"] = {
                "prov:generatedEntity": var,
                "prov:usedEntity": f"innovation:{n.innovation_id}",
                "prov:activity": act,
            }
    for e in edges:
        informed[f"_:informed-{e.from_}-{e.to}"] = {
            "prov:informed": f"adoption:{e.to}",
            "prov:informant": f"adoption:{e.from_}",
            "spread:channel": e.channel,
            **({"spread:on": e.on.isoformat()} if e.on else {}),
        }
        derived[f"_:learned-{e.from_}-{e.to}"] = {
            "prov:generatedEntity": f"variant:{e.to}",
            "prov:usedEntity": f"variant:{e.from_}",
            "prov:activity": f"adoption:{e.to}",
        }
    innovation_of = {n.adoption_id: n.innovation_id for n in nodes}
    for a in adaptations:
        if a.adoption_id not in innovation_of:
            continue
        derived[f"adaptation:{a.id}"] = {
            "prov:generatedEntity": f"variant:{a.adoption_id}",
            "prov:usedEntity": f"innovation:{innovation_of[a.adoption_id]}",
            "prov:activity": f"adoption:{a.adoption_id}",
            "prov:type": _qname("prov:Revision"),
            "prov:label": a.description[:300],
            "spread:whatModified": a.what_modified,
            "spread:fidelity": a.fidelity,
            **({"spread:nature": a.nature} if a.nature else {}),
            **({"spread:coreComponents": ",".join(a.core_component_keys)} if a.core_component_keys else {}),
        }
    document: dict[str, Any] = {"prefix": PREFIXES, "agent": agents, "activity": activities, "entity": entities}
    for name, relation in (
        ("wasAssociatedWith", associated),
        ("wasGeneratedBy", generated),
        ("wasInformedBy", informed),
        ("wasDerivedFrom", derived),
    ):
        if relation:
            document[name] = relation
    return _encode(document)


class _Point(msgspec.Struct, gc=False):
    type: str
    coordinates: tuple[float, float]


class _Line(msgspec.Struct, gc=False):
    type: str
    coordinates: tuple[tuple[float, float], tuple[float, float]]


class _AdoptionProperties(msgspec.Struct, gc=False, rename="camel"):
    kind: str
    adoption_id: uuid.UUID
    innovation_id: uuid.UUID
    site_code: str
    site_name: str
    stage: str
    generation: int
    started_on: dt.date
    is_root: bool


class _LinkProperties(msgspec.Struct, gc=False):
    kind: str
    from_: uuid.UUID = msgspec.field(name="from")
    to: uuid.UUID | None = None
    channel: str = ""
    on: dt.date | None = None


class _Feature(msgspec.Struct, gc=False):
    type: str
    id: str
    geometry: _Point | _Line | None
    properties: _AdoptionProperties | _LinkProperties


class _FeatureCollection(msgspec.Struct, rename="camel"):
    type: str
    innovation_id: uuid.UUID  # a GeoJSON foreign member
    features: list[_Feature]


def geojson(innovation_id: uuid.UUID, nodes: list[LineageNode], edges: list[LineageEdge]) -> bytes:
    """The graph as a GeoJSON FeatureCollection of Points (sites) and LineStrings (links).
    Structs rather than dicts: ~23,000 features for a 10,000-node spread build and encode faster."""
    features: list[_Feature] = []
    where: dict[uuid.UUID, tuple[float, float] | None] = {}
    for n in nodes:
        lat, lon = n.site.latitude, n.site.longitude
        point = (lon, lat) if lat is not None and lon is not None else None
        where[n.adoption_id] = point
        features.append(
            _Feature(
                type="Feature",
                id=str(n.adoption_id),
                geometry=_Point("Point", point) if point else None,
                properties=_AdoptionProperties(
                    kind="adoption",
                    adoption_id=n.adoption_id,
                    innovation_id=n.innovation_id,
                    site_code=n.site.code,
                    site_name=n.site.name,
                    stage=n.stage,
                    generation=n.generation,
                    started_on=n.started_on,
                    is_root=n.is_root,
                ),
            )
        )
    for e in edges:
        a, b = where.get(e.from_), where.get(e.to)
        features.append(
            _Feature(
                type="Feature",
                id=f"{e.from_}>{e.to}",
                geometry=_Line("LineString", (a, b)) if a and b else None,
                properties=_LinkProperties(kind="learnedFrom", from_=e.from_, to=e.to, channel=e.channel, on=e.on),
            )
        )
    return _encode(_FeatureCollection(type="FeatureCollection", innovation_id=innovation_id, features=features))


# Control characters (C0, DEL, C1) and Unicode line/paragraph separators would end a
# Mermaid comment or label and let the rest of a title or site name run as diagram source.
_LINE_BREAKING = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u0085]+")


def _label(text: str) -> str:
    """Text safe inside a quoted Mermaid label or a ``%%`` comment: one line, no breaking characters."""
    text = _LINE_BREAKING.sub(" ", text)
    return text.replace("#", "#35;").replace('"', "#34;").replace("<", "#60;").replace(">", "#62;")


def mermaid(title: str, nodes: list[LineageNode], edges: list[LineageEdge]) -> bytes:
    """The graph as a Mermaid flowchart, top to bottom, one box per adoption."""
    ids = {n.adoption_id: f"n{i + 1}" for i, n in enumerate(nodes)}
    lines = [f"%% {_label(title)}: how it spread (Spread lineage)", "flowchart TD"]
    for n in nodes:
        head = _label(f"{n.site.code} {n.site.name}")
        step = f"gen {n.generation}" if n.generation else "parent innovation"
        tail = _label(f"{step} · {n.stage} · {n.started_on.isoformat()}")
        lines.append(f'    {ids[n.adoption_id]}["{head}<br/>{tail}"]')
    for e in edges:
        lines.append(f"    {ids[e.from_]} -->|{e.channel.replace('_', ' ')}| {ids[e.to]}")
    roots = [ids[n.adoption_id] for n in nodes if n.is_root]
    entries = [ids[n.adoption_id] for n in nodes if n.generation == 0]
    if roots:
        lines.append("    classDef root stroke-width:3px")
        lines.append(f"    class {','.join(roots)} root")
    if entries:
        lines.append("    classDef entry stroke-dasharray:4 3")
        lines.append(f"    class {','.join(entries)} entry")
    return ("\n".join(lines) + "\n").encode()
