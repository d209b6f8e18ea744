// The spread as a map: England's NHS regions (regions.json, built from ONS boundaries) as SVG,
// one marker per adopting site (shape and number = generation; a cross = discontinued), one
// arrow per learned-from link, and a month slider that replays the spread.

const SVG = "http://www.w3.org/2000/svg";

interface Placed {
  node: LineageNode;
  x: number;
  y: number;
}

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  return el;
}

function project(map: RegionsMap, lon: number, lat: number): [number, number] {
  const p = map.projection;
  return [(lon - p.west) * p.kx, (p.north - lat) * p.ky];
}

// A site's coordinates: its own, else the mean of its hospital sites' (a trust has none itself).
async function coordinates(site: LineageSite): Promise<[number, number] | null> {
  if (site.latitude != null && site.longitude != null) return [site.longitude, site.latitude];
  const { data } = await GET<{ items: Site & { latitude?: number | null; longitude?: number | null }[] }>("/v1/sites", {
    params: { query: { parent: site.code, limit: 20 } },
  });
  const located = (data?.items ?? []).filter((s) => s.latitude != null && s.longitude != null);
  if (!located.length) return null;
  const lon = located.reduce((sum, s) => sum + (s.longitude as number), 0) / located.length;
  const lat = located.reduce((sum, s) => sum + (s.latitude as number), 0) / located.length;
  return [lon, lat];
}

function marker(generation: number, discontinued: boolean): SVGElement {
  const g = svg("g", {});
  const r = 7;
  const shapes: SVGElement[] = [
    svg("circle", { r }),
    svg("rect", { x: -r, y: -r, width: 2 * r, height: 2 * r }),
    svg("polygon", { points: `0,${-r - 2} ${r + 1},${r} ${-r - 1},${r}` }),
    svg("polygon", { points: `0,${-r - 2} ${r + 2},0 0,${r + 2} ${-r - 2},0` }),
  ];
  const shape = shapes[Math.min(generation, 4) - 1];
  shape.setAttribute("class", `explorer-map__shape explorer-map__shape--g${Math.min(generation, 4)}`);
  g.appendChild(shape);
  const label = svg("text", { class: `explorer-map__label explorer-map__label--g${Math.min(generation, 4)}`, "text-anchor": "middle", dy: "0.35em" });
  label.textContent = String(generation);
  g.appendChild(label);
  if (discontinued) g.appendChild(svg("path", { class: "explorer-map__cross", d: `M${-r - 3} ${-r - 3}L${r + 3} ${r + 3}M${r + 3} ${-r - 3}L${-r - 3} ${r + 3}` }));
  return g;
}

function months(nodes: LineageNode[]): string[] {
  const starts = nodes.map((n) => n.startedOn.slice(0, 7)).sort();
  if (!starts.length) return [];
  const out: string[] = [];
  let [y, m] = starts[0].split("-").map(Number);
  const [ly, lm] = starts[starts.length - 1].split("-").map(Number);
  while (y < ly || (y === ly && m <= lm)) {
    out.push(`${y}-${String(m).padStart(2, "0")}`);
    m += 1;
    if (m > 12) [y, m] = [y + 1, 1];
  }
  return out;
}

async function drawSpreadMap(host: HTMLElement, lineage: InnovationLineage, regions: RegionsMap): Promise<void> {
  const byId = new Map(lineage.nodes.map((n) => [n.adoptionId, n]));
  const located = await Promise.all(lineage.nodes.map((n) => coordinates(n.site)));
  const placed = new Map<string, Placed>();
  const unplaced: LineageNode[] = [];
  lineage.nodes.forEach((node, i) => {
    const c = located[i];
    if (!c) return void unplaced.push(node);
    const [x, y] = project(regions, c[0], c[1]);
    placed.set(node.adoptionId, { node, x, y });
  });

  const root = svg("svg", { viewBox: `0 0 ${regions.width} ${regions.height}`, class: "explorer-map", role: "group", "aria-labelledby": "map-title" });
  const title = svg("title", { id: "map-title" });
  title.textContent = `Map of England's NHS regions with ${placed.size} adopting sites and ${lineage.edges.length} learned-from links`;
  root.appendChild(title);
  const defs = svg("defs", {});
  const head = svg("marker", { id: "arrowhead", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto-start-reverse" });
  head.appendChild(svg("path", { d: "M0 0L10 5L0 10z", class: "explorer-map__arrowhead" }));
  defs.appendChild(head);
  root.appendChild(defs);
  for (const region of regions.regions) {
    const path = svg("path", { d: region.d, class: "explorer-map__region" });
    const t = svg("title", {});
    t.textContent = region.name;
    path.appendChild(t);
    root.appendChild(path);
  }
  const arrows = svg("g", { class: "explorer-map__arrows" });
  const markers = svg("g", { class: "explorer-map__markers" });
  root.append(arrows, markers);

  for (const edge of lineage.edges) {
    const a = placed.get(edge.from);
    const b = placed.get(edge.to);
    if (!a || !b) continue;
    const dx = b.x - a.x;
    const dy = b.y - a.y;
    const length = Math.hypot(dx, dy) || 1;
    const shorten = Math.min(9, length / 2);
    const line = svg("line", {
      x1: a.x, y1: a.y, x2: b.x - (dx / length) * shorten, y2: b.y - (dy / length) * shorten,
      class: "explorer-map__arrow", "marker-end": "url(#arrowhead)", "data-from": edge.from, "data-to": edge.to,
      "data-month": (byId.get(edge.to)?.startedOn ?? "").slice(0, 7),
    });
    const t = svg("title", {});
    t.textContent = `${a.node.site.name} taught ${b.node.site.name} (${words(edge.channel)})`;
    line.appendChild(t);
    arrows.appendChild(line);
  }
  for (const { node, x, y } of placed.values()) {
    const link = svg("a", { href: `#/sites/${encodeURIComponent(node.site.code)}`, class: "explorer-map__marker", "data-site": node.site.code, "data-generation": node.generation, "data-month": node.startedOn.slice(0, 7) });
    const g = marker(node.generation, node.stage === "discontinued");
    g.setAttribute("transform", `translate(${x.toFixed(1)} ${y.toFixed(1)})`);
    const t = svg("title", {});
    t.textContent = `${node.site.name}: generation ${node.generation}, ${words(node.stage)} since ${node.startedOn}`;
    link.append(t, g);
    markers.appendChild(link);
  }

  host.innerHTML = "";
  host.appendChild(root);
  const caption = document.createElement("p");
  caption.className = "nhsuk-body-s explorer-map__attribution";
  caption.textContent = regions.attribution.join(". ") + ".";
  host.appendChild(caption);
  if (unplaced.length) {
    const note = document.createElement("p");
    note.className = "nhsuk-body-s";
    note.textContent = `Not on the map (no coordinates): ${unplaced.map((n) => n.site.name).join(", ")}.`;
    host.appendChild(note);
  }

  // The time slider: one step per month from the first adoption to the last.
  const steps = months(lineage.nodes);
  if (steps.length < 2) return;
  const field = document.createElement("div");
  field.className = "nhsuk-form-group";
  field.innerHTML = `<label class="nhsuk-label" for="map-month">Show the spread up to <output id="map-month-value" for="map-month"></output></label>
    <input class="explorer-slider" type="range" id="map-month" min="0" max="${steps.length - 1}" value="${steps.length - 1}" step="1">`;
  host.insertBefore(field, root);
  const slider = field.querySelector("input") as HTMLInputElement;
  const output = field.querySelector("output") as HTMLOutputElement;
  const update = (): void => {
    const month = steps[Number(slider.value)];
    output.textContent = month;
    slider.setAttribute("aria-valuetext", month);
    root.querySelectorAll<SVGElement>("[data-month]").forEach((el) => {
      const hidden = (el.getAttribute("data-month") ?? "") > month;
      el.classList.toggle("explorer-map--hidden", hidden);
    });
  };
  slider.addEventListener("input", update);
  update();
}
