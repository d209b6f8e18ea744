"use strict";
// The parts of the API's schemas (openapi/openapi.json) the explorer reads.
// The typed fetch layer: the same shape as openapi-fetch (`client.GET(path, { params })` answers
// `{ data, error, response }`), so a page written against it moves to the generated TypeScript
// client (clients/typescript) by changing the import. It adds what every Spread reader needs:
//   - the read key from sessionStorage (never the URL), and never a write key (see keys.ts);
//   - If-None-Match with the ETag of the last answer for the same URL (a 304 reuses it);
//   - `allPages`, which follows `nextCursor` to the end;
//   - errors as RFC 9457 problem+json, whose `detail` the page shows to the user.
const KEY_STORAGE = "spread.explorer.readKey";
const etags = new Map();
function readKey() {
    return sessionStorage.getItem(KEY_STORAGE);
}
function buildUrl(path, params = {}) {
    let url = path.replace(/\{(\w+)\}/g, (_, name) => encodeURIComponent(params.path?.[name] ?? ""));
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(params.query ?? {})) {
        if (value !== undefined && value !== "")
            query.set(name, String(value));
    }
    const qs = query.toString();
    if (qs)
        url += "?" + qs;
    return url;
}
async function GET(path, options = {}) {
    const url = buildUrl(path, options.params);
    const headers = { Accept: "application/json" };
    const key = options.key === undefined ? readKey() : options.key;
    if (key)
        headers["Authorization"] = `Bearer ${key}`;
    const cached = etags.get(url);
    if (cached && key === readKey())
        headers["If-None-Match"] = cached.etag;
    let response;
    try {
        response = await fetch(url, { headers });
    }
    catch {
        return { error: { title: "Spread is not answering", status: 0, detail: "The API could not be reached. Check your connection and try again." } };
    }
    if (response.status === 304 && cached)
        return { data: cached.body, response };
    const type = response.headers.get("Content-Type") ?? "";
    if (!response.ok) {
        if (type.includes("json"))
            return { error: (await response.json()), response };
        return { error: { title: response.statusText || "Error", status: response.status, detail: `The API answered ${response.status}.` }, response };
    }
    const data = (await response.json());
    const etag = response.headers.get("ETag");
    if (etag)
        etags.set(url, { etag, body: data });
    return { data, response };
}
// Every item of a paged list: follows `nextCursor` until the last page (or `max` items).
async function allPages(path, params = {}, max = 2000) {
    const items = [];
    let cursor;
    do {
        const query = { ...(params.query ?? {}), limit: 100, cursor };
        const { data, error, response } = await GET(path, { params: { ...params, query } });
        if (error || !data)
            return { error, response };
        items.push(...data.items);
        cursor = data.nextCursor ?? undefined;
    } while (cursor && items.length < max);
    return { data: items };
}
// When a request fails, pages throw this; the router shows it as an NHS error summary.
class ApiError extends Error {
    constructor(problem) {
        super(problem.detail ?? problem.title);
        this.problem = problem;
    }
}
function must(answer) {
    if (answer.error || answer.data === undefined)
        throw new ApiError(answer.error ?? { title: "No answer", status: 0 });
    return answer.data;
}
// Small DOM helpers: every text goes in through textContent or escape(), never raw HTML,
// except the API's search highlights (titleHtml/snippet), which the API escapes and marks.
function escape(text) {
    return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);
}
// The API's highlight HTML is escaped text with <mark> tags; anything else is shown as text.
function highlighted(html) {
    return /</.test(html.replace(/<\/?mark>/g, "")) ? escape(html) : html;
}
function words(code) {
    const text = code.replace(/_/g, " ");
    return text.charAt(0).toUpperCase() + text.slice(1);
}
function main() {
    return document.getElementById("maincontent");
}
function setTitle(title) {
    document.title = `${title} - Spread Explorer`;
}
function showError(problem) {
    const needsKey = problem.status === 401 || problem.status === 403;
    setTitle("There is a problem");
    main().innerHTML = `
    <div class="nhsuk-error-summary" aria-labelledby="error-summary-title" role="alert" tabindex="-1">
      <h1 class="nhsuk-error-summary__title" id="error-summary-title">There is a problem</h1>
      <div class="nhsuk-error-summary__body">
        <p data-testid="problem-title">${escape(problem.title)}${problem.status ? ` (${problem.status})` : ""}</p>
        <p data-testid="problem-detail">${escape(problem.detail ?? "")}</p>
        <ul class="nhsuk-list nhsuk-error-summary__list">
          ${needsKey ? '<li><a href="#/key">Paste a read-only API key</a></li>' : ""}
          <li><a href="#/">Go back to search</a></li>
        </ul>
      </div>
    </div>`;
    main().querySelector(".nhsuk-error-summary").focus();
}
// The spread as a map: England's NHS regions (regions.json, built from ONS boundaries) as SVG,
// one marker per adopting site (shape and number = generation; a cross = discontinued), one
// arrow per learned-from link, and a month slider that replays the spread.
const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs) {
    const el = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs))
        el.setAttribute(name, String(value));
    return el;
}
function project(map, lon, lat) {
    const p = map.projection;
    return [(lon - p.west) * p.kx, (p.north - lat) * p.ky];
}
// A site's coordinates: its own, else the mean of its hospital sites' (a trust has none itself).
async function coordinates(site) {
    if (site.latitude != null && site.longitude != null)
        return [site.longitude, site.latitude];
    const { data } = await GET("/v1/sites", {
        params: { query: { parent: site.code, limit: 20 } },
    });
    const located = (data?.items ?? []).filter((s) => s.latitude != null && s.longitude != null);
    if (!located.length)
        return null;
    const lon = located.reduce((sum, s) => sum + s.longitude, 0) / located.length;
    const lat = located.reduce((sum, s) => sum + s.latitude, 0) / located.length;
    return [lon, lat];
}
function marker(generation, discontinued) {
    const g = svg("g", {});
    const r = 7;
    const shapes = [
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
    if (discontinued)
        g.appendChild(svg("path", { class: "explorer-map__cross", d: `M${-r - 3} ${-r - 3}L${r + 3} ${r + 3}M${r + 3} ${-r - 3}L${-r - 3} ${r + 3}` }));
    return g;
}
function months(nodes) {
    const starts = nodes.map((n) => n.startedOn.slice(0, 7)).sort();
    if (!starts.length)
        return [];
    const out = [];
    let [y, m] = starts[0].split("-").map(Number);
    const [ly, lm] = starts[starts.length - 1].split("-").map(Number);
    while (y < ly || (y === ly && m <= lm)) {
        out.push(`${y}-${String(m).padStart(2, "0")}`);
        m += 1;
        if (m > 12)
            [y, m] = [y + 1, 1];
    }
    return out;
}
async function drawSpreadMap(host, lineage, regions) {
    const byId = new Map(lineage.nodes.map((n) => [n.adoptionId, n]));
    const located = await Promise.all(lineage.nodes.map((n) => coordinates(n.site)));
    const placed = new Map();
    const unplaced = [];
    lineage.nodes.forEach((node, i) => {
        const c = located[i];
        if (!c)
            return void unplaced.push(node);
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
        if (!a || !b)
            continue;
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
    if (steps.length < 2)
        return;
    const field = document.createElement("div");
    field.className = "nhsuk-form-group";
    field.innerHTML = `<label class="nhsuk-label" for="map-month">Show the spread up to <output id="map-month-value" for="map-month"></output></label>
    <input class="explorer-slider" type="range" id="map-month" min="0" max="${steps.length - 1}" value="${steps.length - 1}" step="1">`;
    host.insertBefore(field, root);
    const slider = field.querySelector("input");
    const output = field.querySelector("output");
    const update = () => {
        const month = steps[Number(slider.value)];
        output.textContent = month;
        slider.setAttribute("aria-valuetext", month);
        root.querySelectorAll("[data-month]").forEach((el) => {
            const hidden = (el.getAttribute("data-month") ?? "") > month;
            el.classList.toggle("explorer-map--hidden", hidden);
        });
    };
    slider.addEventListener("input", update);
    update();
}
// The pages. Each renders into <main> and throws ApiError on a failed request (the router
// shows it). Hash routes: #/ (search), #/innovations/{id}, #/sites/{code}, #/key; campaigns.ts has
// #/campaigns and #/campaigns/{id}.
let regionsMap = null;
function loadRegions() {
    regionsMap ?? (regionsMap = fetch("regions.json").then((r) => r.json()));
    return regionsMap;
}
// The filters the search page offers as facets: the URL hash carries them with q and cursor.
const FACETS = [["type", "types"], ["category", "category"], ["evidenceLevel", "evidenceLevel"], ["region", "region"], ["stage", "stage"]];
const FACET_TITLES = { type: "Type", category: "Category", evidenceLevel: "Evidence level", region: "Region", stage: "Adoption stage" };
function searchHash(query, changes) {
    const next = new URLSearchParams(query);
    next.delete("cursor");
    for (const [name, value] of Object.entries(changes)) {
        if (value === null)
            next.delete(name);
        else
            next.set(name, value);
    }
    return "#/?" + next.toString();
}
async function searchPage(query) {
    const q = query.get("q") ?? "";
    const cursor = query.get("cursor") ?? undefined;
    setTitle(q ? `Search: ${q}` : "Search");
    main().innerHTML = `
    <h1>Find an innovation</h1>
    <form class="explorer-search" role="search" id="search-form">
      <div class="nhsuk-form-group">
        <label class="nhsuk-label" for="search-q">Search innovations, sites and adaptations</label>
        <div class="nhsuk-hint" id="search-hint">Words, "an exact phrase", or to leave out a word: -word. Spelling mistakes are corrected.</div>
        <input class="nhsuk-input" id="search-q" name="q" type="search" aria-describedby="search-hint" value="${escape(q)}">
      </div>
      <button class="nhsuk-button" type="submit">Search</button>
    </form>
    <div class="nhsuk-grid-row"><div class="nhsuk-grid-column-one-third" id="facets"></div><div class="nhsuk-grid-column-two-thirds" id="results"></div></div>`;
    document.getElementById("search-form").addEventListener("submit", (event) => {
        event.preventDefault();
        const value = document.getElementById("search-q").value.trim();
        location.hash = searchHash(query, { q: value || null });
    });
    const filters = {};
    for (const [, param] of FACETS) {
        const value = query.get(param);
        if (value)
            filters[param] = value;
    }
    const params = q ? { q, cursor, limit: 10, ...filters } : { sort: "mostAdopted", types: "innovation", cursor, limit: 10, ...filters };
    const [data, regions] = await Promise.all([GET("/v1/search", { params: { query: params } }).then(must), loadRegions()]);
    const regionName = new Map(regions.regions.map((r) => [r.code, r.name]));
    const label = (facet, value) => (facet === "region" ? regionName.get(value) ?? value : words(value));
    document.getElementById("facets").innerHTML = `<h2 class="nhsuk-heading-s">Filter the results</h2>${FACETS.map(([facet, param]) => {
        const counts = data.facets?.[facet] ?? {};
        const active = query.get(param);
        const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
        if (!entries.length && !active)
            return "";
        const items = active
            ? `<li><strong>${escape(label(facet, active))}</strong> <a href="${searchHash(query, { [param]: null })}">Remove<span class="nhsuk-u-visually-hidden"> the ${escape(FACET_TITLES[facet].toLowerCase())} filter</span></a></li>`
            : entries.map(([value, n]) => `<li><a href="${searchHash(query, { [param]: value })}">${escape(label(facet, value))}</a> (${n})</li>`).join("");
        return `<h3 class="nhsuk-heading-xs">${escape(FACET_TITLES[facet])}</h3><ul class="nhsuk-list nhsuk-body-s explorer-facet" data-facet="${facet}">${items}</ul>`;
    }).join("")}`;
    const results = document.getElementById("results");
    const corrected = data.correctedQuery ? `<p class="nhsuk-body">Showing results for <strong>${escape(data.correctedQuery)}</strong>.</p>` : "";
    const items = data.items
        .map((hit) => {
        const href = hit.type === "innovation" ? `#/innovations/${hit.id}` : hit.type === "site" ? `#/sites/${encodeURIComponent(hit.id)}` : "";
        const title = hit.titleHtml ? highlighted(hit.titleHtml) : escape(hit.title);
        const heading = href ? `<a class="nhsuk-card__link" href="${href}">${title}</a>` : title;
        const tags = hit.type === "innovation"
            ? `<strong class="nhsuk-tag nhsuk-tag--blue">${escape(words(hit.evidenceLevel))}</strong> <span class="nhsuk-body-s">${hit.adoptionCount} adoptions</span>`
            : `<strong class="nhsuk-tag nhsuk-tag--grey">${escape(words(hit.type))}</strong>`;
        return `<li class="nhsuk-card nhsuk-card--clickable explorer-result" data-type="${hit.type}">
        <div class="nhsuk-card__content">
          <h2 class="nhsuk-card__heading nhsuk-heading-s">${heading}</h2>
          <p class="nhsuk-card__description">${highlighted(hit.snippet)}</p>
          <p class="nhsuk-body-s">${tags}</p>
        </div></li>`;
    })
        .join("");
    const count = `${data.total}${data.totalIsFloor ? "+" : ""} result${data.total === 1 ? "" : "s"}`;
    const next = data.nextCursor
        ? `<nav class="nhsuk-pagination" role="navigation" aria-label="Pagination"><ul class="nhsuk-list nhsuk-pagination__list">
        <li class="nhsuk-pagination-item--next"><a class="nhsuk-pagination__link nhsuk-pagination__link--next" href="${searchHash(query, { cursor: data.nextCursor })}">
        <span class="nhsuk-pagination__title">Next</span><span class="nhsuk-u-visually-hidden">:</span><span class="nhsuk-pagination__page">More results</span></a></li></ul></nav>`
        : "";
    results.innerHTML = `${corrected}<p class="nhsuk-body" id="result-count">${count}</p><ul class="nhsuk-list explorer-results">${items}</ul>${next}`;
}
function summaryList(rows) {
    return `<dl class="nhsuk-summary-list">${rows
        .map(([k, v]) => `<div class="nhsuk-summary-list__row"><dt class="nhsuk-summary-list__key">${escape(k)}</dt><dd class="nhsuk-summary-list__value">${v}</dd></div>`)
        .join("")}</dl>`;
}
async function innovationPage(id) {
    const innovation = must(await GET("/v1/innovations/{id}", { params: { path: { id } } }));
    setTitle(innovation.title);
    main().innerHTML = `
    <span class="nhsuk-caption-l">Innovation</span>
    <h1>${escape(innovation.title)}</h1>
    <p class="nhsuk-lede-text">${escape(innovation.summary)}</p>
    ${summaryList([
        ["Evidence level", `<strong class="nhsuk-tag nhsuk-tag--blue">${escape(words(innovation.evidenceLevel))}</strong>`],
        ["Category", escape(words(innovation.category))],
        ["Status", escape(words(innovation.status))],
        ["Started", `${escape(innovation.originatedOn)} at <a href="#/sites/${encodeURIComponent(innovation.originSiteCode)}">${escape(innovation.originSiteCode)}</a>`],
        ["Adopted by", `${innovation.siteCount} sites`],
    ])}
    <h2>Core components</h2>
    <ul class="nhsuk-list nhsuk-list--bullet">${innovation.coreComponents.map((c) => `<li><strong>${escape(c.name)}</strong>: ${escape(c.description)}</li>`).join("")}</ul>
    <h2>How it spread</h2>
    <p class="nhsuk-body">Each shape is an adopting site; the number and shape give its generation (1: circle, learned from nobody in the registry; 2: square; 3: triangle; 4 or more: diamond). A cross marks a site that stopped. Arrows run from the site that taught to the site that learned.</p>
    <div id="spread-map" class="explorer-map__host"><p class="nhsuk-body">Drawing the map…</p></div>
    <h2>Lineage</h2>
    <div id="lineage"></div>
    <h2>Adaptations</h2>
    <div id="adaptations"></div>
    <h2>Outcomes</h2>
    <div id="outcomes"><p class="nhsuk-body">Loading…</p></div>`;
    const [lineage, regions, adaptations] = await Promise.all([
        GET("/v1/innovations/{id}/lineage", { params: { path: { id } } }).then(must),
        loadRegions(),
        allPages("/v1/innovations/{id}/adaptations", { path: { id } }).then(must),
    ]);
    await drawSpreadMap(document.getElementById("spread-map"), lineage, regions);
    renderLineage(document.getElementById("lineage"), lineage);
    renderAdaptations(document.getElementById("adaptations"), lineage, adaptations);
    await renderOutcomes(document.getElementById("outcomes"), id);
}
// Generations left to right; each site lists whom it learned from and through which channel.
function renderLineage(host, lineage) {
    const byId = new Map(lineage.nodes.map((n) => [n.adoptionId, n]));
    const generations = [...new Set(lineage.nodes.map((n) => n.generation))].sort((a, b) => a - b);
    host.innerHTML = `<div class="explorer-lineage">${generations
        .map((g) => {
        const nodes = lineage.nodes.filter((n) => n.generation === g).sort((a, b) => a.startedOn.localeCompare(b.startedOn));
        return `<section class="explorer-lineage__generation" aria-labelledby="gen-${g}"><h3 class="nhsuk-heading-xs" id="gen-${g}">Generation ${g}</h3><ul class="nhsuk-list">${nodes
            .map((n) => {
            const from = lineage.edges
                .filter((e) => e.to === n.adoptionId)
                .map((e) => `<li class="explorer-edge">from ${escape(byId.get(e.from)?.site.name ?? "another adoption")} <strong class="nhsuk-tag nhsuk-tag--white">${escape(words(e.channel))}</strong></li>`)
                .join("");
            const stopped = n.stage === "discontinued" ? ' <strong class="nhsuk-tag nhsuk-tag--red">Discontinued</strong>' : "";
            return `<li class="explorer-lineage__node"><a href="#/sites/${encodeURIComponent(n.site.code)}">${escape(n.site.name)}</a>${stopped}<br><span class="nhsuk-body-s">${escape(words(n.stage))} since ${escape(n.startedOn)}</span>${from ? `<ul class="nhsuk-list nhsuk-body-s">${from}</ul>` : ""}</li>`;
        })
            .join("")}</ul></section>`;
    })
        .join("")}</div>`;
}
function renderAdaptations(host, lineage, adaptations) {
    if (!adaptations.length) {
        host.innerHTML = '<p class="nhsuk-body">No adaptations recorded.</p>';
        return;
    }
    const site = new Map(lineage.nodes.map((n) => [n.adoptionId, n.site.name]));
    const siteOf = (a) => site.get(a.adoptionId) ?? String(a["siteCode"] ?? "");
    // Grouped per adoption (site), oldest change first within it.
    const sorted = [...adaptations].sort((a, b) => siteOf(a).localeCompare(siteOf(b)) || String(a["madeOn"] ?? "").localeCompare(String(b["madeOn"] ?? "")));
    const rows = sorted
        .map((a) => `<tr class="nhsuk-table__row"><td class="nhsuk-table__cell">${escape(siteOf(a))}</td><td class="nhsuk-table__cell">${escape(String(a.description ?? ""))}</td><td class="nhsuk-table__cell">${escape(words(String(a["whatModified"] ?? "")))}</td><td class="nhsuk-table__cell">${escape(words(String(a.nature ?? "")))}</td><td class="nhsuk-table__cell">${escape(words(String(a.fidelity ?? "")))}</td></tr>`)
        .join("");
    host.innerHTML = `<table class="nhsuk-table"><caption class="nhsuk-table__caption">Adaptations per adoption (FRAME fields)</caption>
    <thead class="nhsuk-table__head"><tr class="nhsuk-table__row"><th scope="col" class="nhsuk-table__header">Site</th><th scope="col" class="nhsuk-table__header">Change</th><th scope="col" class="nhsuk-table__header">What was modified</th><th scope="col" class="nhsuk-table__header">Nature</th><th scope="col" class="nhsuk-table__header">Fidelity</th></tr></thead>
    <tbody class="nhsuk-table__body">${rows}</tbody></table>`;
}
async function sitePage(code) {
    const [site, regions] = await Promise.all([GET("/v1/sites/{code}", { params: { path: { code } } }).then(must), loadRegions()]);
    const region = regions.regions.find((r) => r.code === site.regionCode);
    setTitle(site.name);
    main().innerHTML = `<span class="nhsuk-caption-l">Site ${escape(site.code)}</span><h1>${escape(site.name)}</h1>
    ${summaryList([["Kind", escape(words(site.kind))], ["Region", escape(region ? `${region.name} (${region.code})` : site.regionCode ?? "")], ["ICB", escape(site.icbCode ?? "")], ["Status", escape(words(site.status))]])}
    <h2>What it adopted</h2><div id="site-adoptions"><p class="nhsuk-body">Loading…</p></div>
    <h2>Its campaigns</h2><div id="site-campaigns"><p class="nhsuk-body">Loading…</p></div>`;
    // The site's adoptions are found through search (a site filter on adoptions is per innovation).
    const hits = must(await allPages("/v1/search", { query: { types: "innovation", region: site.regionCode ?? undefined, sort: "newest" } }, 300));
    const rows = [];
    await Promise.all(hits.map(async (hit) => {
        const lineage = must(await GET("/v1/innovations/{id}/lineage", { params: { path: { id: hit.id } } }));
        const byId = new Map(lineage.nodes.map((n) => [n.adoptionId, n]));
        for (const node of lineage.nodes.filter((n) => n.site.code === site.code)) {
            const from = lineage.edges.filter((e) => e.to === node.adoptionId).map((e) => `${siteLink(byId.get(e.from)?.site)} (${escape(words(e.channel))})`);
            const to = lineage.edges.filter((e) => e.from === node.adoptionId).map((e) => `${siteLink(byId.get(e.to)?.site)} (${escape(words(e.channel))})`);
            rows.push(`<tr class="nhsuk-table__row explorer-site-adoption"><td class="nhsuk-table__cell"><a href="#/innovations/${hit.id}">${escape(hit.title)}</a></td><td class="nhsuk-table__cell">${escape(words(node.stage))} since ${escape(node.startedOn)}</td><td class="nhsuk-table__cell">${from.join("<br>") || "Nobody in the registry"}</td><td class="nhsuk-table__cell">${to.join("<br>") || "Nobody yet"}</td></tr>`);
        }
    }));
    document.getElementById("site-adoptions").innerHTML = rows.length
        ? `<table class="nhsuk-table"><caption class="nhsuk-table__caption nhsuk-u-visually-hidden">Adoptions at ${escape(site.name)}</caption><thead class="nhsuk-table__head"><tr class="nhsuk-table__row"><th scope="col" class="nhsuk-table__header">Innovation</th><th scope="col" class="nhsuk-table__header">Stage</th><th scope="col" class="nhsuk-table__header">Learned from</th><th scope="col" class="nhsuk-table__header">Taught</th></tr></thead><tbody class="nhsuk-table__body">${rows.join("")}</tbody></table>`
        : '<p class="nhsuk-body">This site has not adopted an innovation in the registry.</p>';
    await renderSiteCampaigns(document.getElementById("site-campaigns"), site.code);
}
// The campaigns in which the site has committed to a share of the aim.
async function renderSiteCampaigns(host, code) {
    const campaigns = must(await allPages("/v1/campaigns"));
    const found = [];
    for (const campaign of campaigns) {
        const commitments = must(await allPages("/v1/campaigns/{id}/commitments", { path: { id: campaign.id } }));
        for (const c of commitments.filter((c) => c.siteCode === code)) {
            found.push(`<li><a href="#/campaigns/${campaign.id}">${escape(campaign.name)}</a>: committed to ${c.target.toLocaleString("en-GB")} by ${escape(c.dueOn)}</li>`);
        }
    }
    host.innerHTML = found.length ? `<ul class="nhsuk-list nhsuk-list--bullet" id="site-campaign-list">${found.join("")}</ul>` : '<p class="nhsuk-body">No campaign commitments.</p>';
}
function siteLink(site) {
    return site ? `<a href="#/sites/${encodeURIComponent(site.code)}">${escape(site.name)}</a>` : "another adoption";
}
async function keyPage() {
    setTitle("Your API key");
    const current = sessionStorage.getItem(KEY_STORAGE);
    main().innerHTML = `<h1>Your API key</h1>
    <p class="nhsuk-body">Paste a <strong>read-only</strong> Spread API key. It is kept in this browser tab only (session storage) and sent to this server only. The explorer refuses a key that can write.</p>
    <form id="key-form"><div class="nhsuk-form-group" id="key-group">
      <label class="nhsuk-label" for="key-input">Read-only API key</label>
      <div class="nhsuk-hint" id="key-hint">It starts with spr_</div>
      <span class="nhsuk-error-message" id="key-error" hidden></span>
      <input class="nhsuk-input" id="key-input" type="password" autocomplete="off" aria-describedby="key-hint key-error">
    </div>
    <button class="nhsuk-button" type="submit">Use this key</button>
    ${current ? '<button class="nhsuk-button nhsuk-button--secondary" type="button" id="key-forget">Forget the key</button>' : ""}</form>`;
    document.getElementById("key-forget")?.addEventListener("click", () => {
        sessionStorage.removeItem(KEY_STORAGE);
        location.hash = "#/";
    });
    document.getElementById("key-form").addEventListener("submit", async (event) => {
        event.preventDefault();
        const key = document.getElementById("key-input").value.trim();
        const fail = (message) => {
            const error = document.getElementById("key-error");
            error.hidden = false;
            error.innerHTML = `<span class="nhsuk-u-visually-hidden">Error:</span> ${escape(message)}`;
            document.getElementById("key-group").classList.add("nhsuk-form-group--error");
        };
        const { data, error } = await GET("/v1/me", { key });
        if (error || !data)
            return fail(error?.detail ?? "That key was not accepted.");
        if (data.scopes.some((s) => s !== "read"))
            return fail("This key can change the registry. Paste a read-only key: the explorer never uses a write key.");
        sessionStorage.setItem(KEY_STORAGE, key);
        location.hash = "#/";
    });
}
// Campaigns: the list, and one campaign's progress against its trajectory, sites behind and
// ahead, impediments and breakthroughs. The chart is the API's own SVG (format=svg), shown as
// an image from a data: URL (the page's policy allows no inline SVG styles).
async function campaignsPage() {
    setTitle("Campaigns");
    const campaigns = must(await allPages("/v1/campaigns"));
    main().innerHTML = `<h1>Campaigns</h1><ul class="nhsuk-list explorer-results">${campaigns
        .map((c) => `<li class="nhsuk-card explorer-result"><div class="nhsuk-card__content"><h2 class="nhsuk-card__heading nhsuk-heading-s"><a href="#/campaigns/${c.id}">${escape(c.name)}</a></h2><p class="nhsuk-card__description">${escape(c.startsOn)} to ${escape(c.endsOn)}, led by ${escape(c.leadPartner)}</p></div></li>`)
        .join("")}</ul>`;
}
function statusTag(status) {
    const colour = { met: "green", ahead: "green", on_track: "blue", behind: "red", not_started: "grey" };
    return `<strong class="nhsuk-tag nhsuk-tag--${colour[status] ?? "grey"}">${escape(words(status))}</strong>`;
}
async function campaignPage(id) {
    const campaign = must(await GET("/v1/campaigns/{id}", { params: { path: { id } } }));
    setTitle(campaign.name);
    const [progress, impediments, breakthroughs, chart, innovations] = await Promise.all([
        GET("/v1/campaigns/{id}/progress", { params: { path: { id } } }).then(must),
        allPages("/v1/campaigns/{id}/impediments", { path: { id } }).then(must),
        allPages("/v1/campaigns/{id}/breakthroughs", { path: { id } }).then(must),
        svgChart(`/v1/campaigns/${encodeURIComponent(id)}/progress?format=svg`),
        Promise.all(campaign.innovationIds.map((i) => GET("/v1/innovations/{id}", { params: { path: { id: i } } }).then(must))),
    ]);
    const o = progress.overall;
    const sites = [...progress.sites].sort((a, b) => a.value / (a.expectedByNow || 1) - b.value / (b.expectedByNow || 1));
    main().innerHTML = `<span class="nhsuk-caption-l">Campaign</span><h1>${escape(campaign.name)}</h1>
    <p class="nhsuk-lede-text">${escape(campaign.description)}</p>
    ${summaryList([
        ["Progress", `${o.value.toLocaleString("en-GB")} of ${o.target.toLocaleString("en-GB")} (${escape(progress.measureCode)}) ${statusTag(o.status)}`],
        ["Expected by now", o.expectedByNow.toLocaleString("en-GB")],
        ["Runs", `${escape(campaign.startsOn)} to ${escape(campaign.endsOn)}`],
        ["Innovations", innovations.map((i) => `<a href="#/innovations/${i.id}">${escape(i.title)}</a>`).join("<br>")],
    ])}
    ${chart ? `<img class="explorer-chart" src="${chart}" alt="Progress of ${escape(campaign.name)} month by month against its trajectory: ${o.value} of ${o.target}, status ${escape(words(o.status))}.">` : ""}
    <h2>Sites, furthest behind first</h2>
    <table class="nhsuk-table" id="campaign-sites"><caption class="nhsuk-table__caption nhsuk-u-visually-hidden">Progress by site</caption>
    <thead class="nhsuk-table__head"><tr class="nhsuk-table__row"><th scope="col" class="nhsuk-table__header">Site</th><th scope="col" class="nhsuk-table__header nhsuk-table__header--numeric">Value</th><th scope="col" class="nhsuk-table__header nhsuk-table__header--numeric">Expected by now</th><th scope="col" class="nhsuk-table__header nhsuk-table__header--numeric">Target</th><th scope="col" class="nhsuk-table__header">Status</th><th scope="col" class="nhsuk-table__header nhsuk-table__header--numeric">Open impediments</th></tr></thead>
    <tbody class="nhsuk-table__body">${sites
        .map((s) => `<tr class="nhsuk-table__row"><td class="nhsuk-table__cell"><a href="#/sites/${encodeURIComponent(s.siteCode)}">${escape(s.siteName)}</a>${s.stalled ? ' <strong class="nhsuk-tag nhsuk-tag--orange">Stalled</strong>' : ""}</td><td class="nhsuk-table__cell nhsuk-table__cell--numeric">${s.value}</td><td class="nhsuk-table__cell nhsuk-table__cell--numeric">${Math.round(s.expectedByNow)}</td><td class="nhsuk-table__cell nhsuk-table__cell--numeric">${s.target}</td><td class="nhsuk-table__cell">${statusTag(s.status)}</td><td class="nhsuk-table__cell nhsuk-table__cell--numeric">${s.openImpediments}</td></tr>`)
        .join("")}</tbody></table>
    <h2>Impediments</h2>
    <ul class="nhsuk-list nhsuk-list--bullet" id="campaign-impediments">${impediments.map((i) => `<li>${escape(i.siteCode)}, ${escape(i.raisedOn)}: ${escape(i.description)} ${statusTag(i.status)}</li>`).join("") || "<li>None raised.</li>"}</ul>
    <h2>Breakthroughs</h2>
    <ul class="nhsuk-list nhsuk-list--bullet" id="campaign-breakthroughs">${breakthroughs.map((b) => `<li><strong>${escape(b.title)}</strong> (${escape(b.siteCode)}): ${escape(b.story)}</li>`).join("") || "<li>None yet.</li>"}</ul>`;
}
// The API's SVG as a data: URL, or null when it cannot be had (the page still shows the table).
async function svgChart(url) {
    const key = sessionStorage.getItem(KEY_STORAGE);
    try {
        const response = await fetch(url, { headers: { Accept: "image/svg+xml", ...(key ? { Authorization: `Bearer ${key}` } : {}) } });
        if (!response.ok)
            return null;
        return "data:image/svg+xml;charset=utf-8," + encodeURIComponent(await response.text());
    }
    catch {
        return null;
    }
}
// Outcomes on an innovation's page: for each measure with data for its adoptions, the sites the
// API ranks as exceptional (GET /v1/insights/exceptional: peers worth visiting) and the SPC
// chart the API draws for each (format=svg, shown as a data: image).
async function renderOutcomes(host, innovationId) {
    const measures = must(await allPages("/v1/measures"));
    const ranked = await Promise.all(measures.map(async (m) => {
        const answer = await GET("/v1/insights/exceptional", { params: { query: { measure: m.code, innovation: innovationId, limit: 3 } } });
        return { measure: m, exceptional: answer.data };
    }));
    const sections = [];
    for (const { measure, exceptional } of ranked) {
        if (!exceptional || !exceptional.items.length)
            continue;
        const charts = await Promise.all(exceptional.items.map((e) => svgChart(`/v1/adoptions/${encodeURIComponent(e.adoptionId)}/measures/${encodeURIComponent(measure.code)}/spc?format=svg`)));
        sections.push(`<h3>${escape(measure.name)}</h3>
      <p class="nhsuk-body">Sites whose results improved most after adopting (of ${exceptional.assessed} with data): peers to visit.</p>
      <ol class="nhsuk-list nhsuk-list--number explorer-exceptional">${exceptional.items
            .map((e, i) => `<li><a href="#/sites/${encodeURIComponent(e.site.code)}">${escape(e.site.name)}</a>, ${escape(words(e.stage))} since ${escape(e.startedOn)}${e.spc.improving ? ' <strong class="nhsuk-tag nhsuk-tag--green">Improving</strong>' : ""}
          ${charts[i] ? `<img class="explorer-chart" src="${charts[i]}" alt="Statistical process control chart of ${escape(measure.name)} at ${escape(e.site.name)}, before and after adopting on ${escape(e.startedOn)}.">` : ""}</li>`)
            .join("")}</ol>`);
    }
    host.innerHTML = sections.join("") || '<p class="nhsuk-body">No outcome data has been recorded for this innovation\'s adoptions.</p>';
}
// The router: the URL hash picks the page; any failure becomes an NHS error summary on the page.
async function route() {
    const [path, queryString] = location.hash.replace(/^#/, "").split("?");
    const query = new URLSearchParams(queryString ?? "");
    const parts = (path || "/").split("/").filter(Boolean).map(decodeURIComponent);
    document.body.setAttribute("data-state", "loading");
    try {
        if (parts.length === 0)
            await searchPage(query);
        else if (parts[0] === "innovations" && parts.length === 2)
            await innovationPage(parts[1]);
        else if (parts[0] === "sites" && parts.length === 2)
            await sitePage(parts[1]);
        else if (parts[0] === "campaigns" && parts.length === 1)
            await campaignsPage();
        else if (parts[0] === "campaigns" && parts.length === 2)
            await campaignPage(parts[1]);
        else if (parts[0] === "key")
            await keyPage();
        else
            showError({ title: "Page not found", status: 404, detail: "There is no explorer page at this address." });
    }
    catch (error) {
        if (error instanceof ApiError)
            showError(error.problem);
        else
            showError({ title: "Something went wrong", status: 0, detail: "The page could not be shown. Try again, or go back to search." });
    }
    document.body.setAttribute("data-state", "ready");
    const keyLink = document.getElementById("key-status");
    if (keyLink)
        keyLink.textContent = sessionStorage.getItem(KEY_STORAGE) ? "Key: set (change)" : "Paste an API key";
}
window.addEventListener("hashchange", () => void route());
void route();
