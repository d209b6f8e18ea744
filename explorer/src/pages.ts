// The pages. Each renders into <main> and throws ApiError on a failed request (the router
// shows it). Hash routes: #/ (search), #/innovations/{id}, #/sites/{code}, #/key; campaigns.ts has
// #/campaigns and #/campaigns/{id}.

let regionsMap: Promise<RegionsMap> | null = null;

function loadRegions(): Promise<RegionsMap> {
  regionsMap ??= fetch("regions.json").then((r) => r.json() as Promise<RegionsMap>);
  return regionsMap;
}

// The filters the search page offers as facets: the URL hash carries them with q and cursor.
const FACETS: [string, string][] = [["type", "types"], ["category", "category"], ["evidenceLevel", "evidenceLevel"], ["region", "region"], ["stage", "stage"]];
const FACET_TITLES: Record<string, string> = { type: "Type", category: "Category", evidenceLevel: "Evidence level", region: "Region", stage: "Adoption stage" };

function searchHash(query: URLSearchParams, changes: Record<string, string | null>): string {
  const next = new URLSearchParams(query);
  next.delete("cursor");
  for (const [name, value] of Object.entries(changes)) {
    if (value === null) next.delete(name);
    else next.set(name, value);
  }
  return "#/?" + next.toString();
}

async function searchPage(query: URLSearchParams): Promise<void> {
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
  (document.getElementById("search-form") as HTMLFormElement).addEventListener("submit", (event) => {
    event.preventDefault();
    const value = (document.getElementById("search-q") as HTMLInputElement).value.trim();
    location.hash = searchHash(query, { q: value || null });
  });
  const filters: Record<string, string> = {};
  for (const [, param] of FACETS) {
    const value = query.get(param);
    if (value) filters[param] = value;
  }
  const params = q ? { q, cursor, limit: 10, ...filters } : { sort: "mostAdopted", types: "innovation", cursor, limit: 10, ...filters };
  const [data, regions] = await Promise.all([GET<SearchResults>("/v1/search", { params: { query: params } }).then(must), loadRegions()]);
  const regionName = new Map(regions.regions.map((r) => [r.code, r.name]));
  const label = (facet: string, value: string): string => (facet === "region" ? regionName.get(value) ?? value : words(value));
  (document.getElementById("facets") as HTMLElement).innerHTML = `<h2 class="nhsuk-heading-s">Filter the results</h2>${FACETS.map(([facet, param]) => {
    const counts = data.facets?.[facet] ?? {};
    const active = query.get(param);
    const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
    if (!entries.length && !active) return "";
    const items = active
      ? `<li><strong>${escape(label(facet, active))}</strong> <a href="${searchHash(query, { [param]: null })}">Remove<span class="nhsuk-u-visually-hidden"> the ${escape(FACET_TITLES[facet].toLowerCase())} filter</span></a></li>`
      : entries.map(([value, n]) => `<li><a href="${searchHash(query, { [param]: value })}">${escape(label(facet, value))}</a> (${n})</li>`).join("");
    return `<h3 class="nhsuk-heading-xs">${escape(FACET_TITLES[facet])}</h3><ul class="nhsuk-list nhsuk-body-s explorer-facet" data-facet="${facet}">${items}</ul>`;
  }).join("")}`;
  const results = document.getElementById("results") as HTMLElement;
  const corrected = data.correctedQuery ? `<p class="nhsuk-body">Showing results for <strong>${escape(data.correctedQuery)}</strong>.</p>` : "";
  const items = data.items
    .map((hit) => {
      const href = hit.type === "innovation" ? `#/innovations/${hit.id}` : hit.type === "site" ? `#/sites/${encodeURIComponent(hit.id)}` : "";
      const title = hit.titleHtml ? highlighted(hit.titleHtml) : escape(hit.title);
      const heading = href ? `<a class="nhsuk-card__link" href="${href}">${title}</a>` : title;
      const tags =
        hit.type === "innovation"
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

function summaryList(rows: [string, string][]): string {
  return `<dl class="nhsuk-summary-list">${rows
    .map(([k, v]) => `<div class="nhsuk-summary-list__row"><dt class="nhsuk-summary-list__key">${escape(k)}</dt><dd class="nhsuk-summary-list__value">${v}</dd></div>`)
    .join("")}</dl>`;
}

async function innovationPage(id: string): Promise<void> {
  const innovation = must(await GET<Innovation>("/v1/innovations/{id}", { params: { path: { id } } }));
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
    GET<InnovationLineage>("/v1/innovations/{id}/lineage", { params: { path: { id } } }).then(must),
    loadRegions(),
    allPages<Adaptation>("/v1/innovations/{id}/adaptations", { path: { id } }).then(must),
  ]);
  await drawSpreadMap(document.getElementById("spread-map") as HTMLElement, lineage, regions);
  renderLineage(document.getElementById("lineage") as HTMLElement, lineage);
  renderAdaptations(document.getElementById("adaptations") as HTMLElement, lineage, adaptations);
  await renderOutcomes(document.getElementById("outcomes") as HTMLElement, id);
}

// Generations left to right; each site lists whom it learned from and through which channel.
function renderLineage(host: HTMLElement, lineage: InnovationLineage): void {
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

function renderAdaptations(host: HTMLElement, lineage: InnovationLineage, adaptations: Adaptation[]): void {
  if (!adaptations.length) {
    host.innerHTML = '<p class="nhsuk-body">No adaptations recorded.</p>';
    return;
  }
  const site = new Map(lineage.nodes.map((n) => [n.adoptionId, n.site.name]));
  const siteOf = (a: Adaptation): string => site.get(a.adoptionId) ?? String(a["siteCode"] ?? "");
  // Grouped per adoption (site), oldest change first within it.
  const sorted = [...adaptations].sort((a, b) => siteOf(a).localeCompare(siteOf(b)) || String(a["madeOn"] ?? "").localeCompare(String(b["madeOn"] ?? "")));
  const rows = sorted
    .map((a) => `<tr class="nhsuk-table__row"><td class="nhsuk-table__cell">${escape(siteOf(a))}</td><td class="nhsuk-table__cell">${escape(String(a.description ?? ""))}</td><td class="nhsuk-table__cell">${escape(words(String(a["whatModified"] ?? "")))}</td><td class="nhsuk-table__cell">${escape(words(String(a.nature ?? "")))}</td><td class="nhsuk-table__cell">${escape(words(String(a.fidelity ?? "")))}</td></tr>`)
    .join("");
  host.innerHTML = `<table class="nhsuk-table"><caption class="nhsuk-table__caption">Adaptations per adoption (FRAME fields)</caption>
    <thead class="nhsuk-table__head"><tr class="nhsuk-table__row"><th scope="col" class="nhsuk-table__header">Site</th><th scope="col" class="nhsuk-table__header">Change</th><th scope="col" class="nhsuk-table__header">What was modified</th><th scope="col" class="nhsuk-table__header">Nature</th><th scope="col" class="nhsuk-table__header">Fidelity</th></tr></thead>
    <tbody class="nhsuk-table__body">${rows}</tbody></table>`;
}

async function sitePage(code: string): Promise<void> {
  const [site, regions] = await Promise.all([GET<Site>("/v1/sites/{code}", { params: { path: { code } } }).then(must), loadRegions()]);
  const region = regions.regions.find((r) => r.code === site.regionCode);
  setTitle(site.name);
  main().innerHTML = `<span class="nhsuk-caption-l">Site ${escape(site.code)}</span><h1>${escape(site.name)}</h1>
    ${summaryList([["Kind", escape(words(site.kind))], ["Region", escape(region ? `${region.name} (${region.code})` : site.regionCode ?? "")], ["ICB", escape(site.icbCode ?? "")], ["Status", escape(words(site.status))]])}
    <h2>What it adopted</h2><div id="site-adoptions"><p class="nhsuk-body">Loading…</p></div>
    <h2>Its campaigns</h2><div id="site-campaigns"><p class="nhsuk-body">Loading…</p></div>`;
  // The site's adoptions are found through search (a site filter on adoptions is per innovation).
  const hits = must(await allPages<Hit>("/v1/search", { query: { types: "innovation", region: site.regionCode ?? undefined, sort: "newest" } }, 300));
  const rows: string[] = [];
  await Promise.all(
    hits.map(async (hit) => {
      const lineage = must(await GET<InnovationLineage>("/v1/innovations/{id}/lineage", { params: { path: { id: hit.id } } }));
      const byId = new Map(lineage.nodes.map((n) => [n.adoptionId, n]));
      for (const node of lineage.nodes.filter((n) => n.site.code === site.code)) {
        const from = lineage.edges.filter((e) => e.to === node.adoptionId).map((e) => `${siteLink(byId.get(e.from)?.site)} (${escape(words(e.channel))})`);
        const to = lineage.edges.filter((e) => e.from === node.adoptionId).map((e) => `${siteLink(byId.get(e.to)?.site)} (${escape(words(e.channel))})`);
        rows.push(`<tr class="nhsuk-table__row explorer-site-adoption"><td class="nhsuk-table__cell"><a href="#/innovations/${hit.id}">${escape(hit.title)}</a></td><td class="nhsuk-table__cell">${escape(words(node.stage))} since ${escape(node.startedOn)}</td><td class="nhsuk-table__cell">${from.join("<br>") || "Nobody in the registry"}</td><td class="nhsuk-table__cell">${to.join("<br>") || "Nobody yet"}</td></tr>`);
      }
    }),
  );
  (document.getElementById("site-adoptions") as HTMLElement).innerHTML = rows.length
    ? `<table class="nhsuk-table"><caption class="nhsuk-table__caption nhsuk-u-visually-hidden">Adoptions at ${escape(site.name)}</caption><thead class="nhsuk-table__head"><tr class="nhsuk-table__row"><th scope="col" class="nhsuk-table__header">Innovation</th><th scope="col" class="nhsuk-table__header">Stage</th><th scope="col" class="nhsuk-table__header">Learned from</th><th scope="col" class="nhsuk-table__header">Taught</th></tr></thead><tbody class="nhsuk-table__body">${rows.join("")}</tbody></table>`
    : '<p class="nhsuk-body">This site has not adopted an innovation in the registry.</p>';
  await renderSiteCampaigns(document.getElementById("site-campaigns") as HTMLElement, site.code);
}

// The campaigns in which the site has committed to a share of the aim.
async function renderSiteCampaigns(host: HTMLElement, code: string): Promise<void> {
  const campaigns = must(await allPages<Campaign>("/v1/campaigns"));
  const found: string[] = [];
  for (const campaign of campaigns) {
    const commitments = must(await allPages<{ siteCode: string; target: number; dueOn: string }>("/v1/campaigns/{id}/commitments", { path: { id: campaign.id } }));
    for (const c of commitments.filter((c) => c.siteCode === code)) {
      found.push(`<li><a href="#/campaigns/${campaign.id}">${escape(campaign.name)}</a>: committed to ${c.target.toLocaleString("en-GB")} by ${escape(c.dueOn)}</li>`);
    }
  }
  host.innerHTML = found.length ? `<ul class="nhsuk-list nhsuk-list--bullet" id="site-campaign-list">${found.join("")}</ul>` : '<p class="nhsuk-body">No campaign commitments.</p>';
}

function siteLink(site: LineageSite | undefined): string {
  return site ? `<a href="#/sites/${encodeURIComponent(site.code)}">${escape(site.name)}</a>` : "another adoption";
}

async function keyPage(): Promise<void> {
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
  (document.getElementById("key-form") as HTMLFormElement).addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = (document.getElementById("key-input") as HTMLInputElement).value.trim();
    const fail = (message: string): void => {
      const error = document.getElementById("key-error") as HTMLElement;
      error.hidden = false;
      error.innerHTML = `<span class="nhsuk-u-visually-hidden">Error:</span> ${escape(message)}`;
      (document.getElementById("key-group") as HTMLElement).classList.add("nhsuk-form-group--error");
    };
    const { data, error } = await GET<Me>("/v1/me", { key });
    if (error || !data) return fail(error?.detail ?? "That key was not accepted.");
    if (data.scopes.some((s) => s !== "read")) return fail("This key can change the registry. Paste a read-only key: the explorer never uses a write key.");
    sessionStorage.setItem(KEY_STORAGE, key);
    location.hash = "#/";
  });
}
