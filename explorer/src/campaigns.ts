// Campaigns: the list, and one campaign's progress against its trajectory, sites behind and
// ahead, impediments and breakthroughs. The chart is the API's own SVG (format=svg), shown as
// an image from a data: URL (the page's policy allows no inline SVG styles).

async function campaignsPage(): Promise<void> {
  setTitle("Campaigns");
  const campaigns = must(await allPages<Campaign>("/v1/campaigns"));
  main().innerHTML = `<h1>Campaigns</h1><ul class="nhsuk-list explorer-results">${campaigns
    .map((c) => `<li class="nhsuk-card explorer-result"><div class="nhsuk-card__content"><h2 class="nhsuk-card__heading nhsuk-heading-s"><a href="#/campaigns/${c.id}">${escape(c.name)}</a></h2><p class="nhsuk-card__description">${escape(c.startsOn)} to ${escape(c.endsOn)}, led by ${escape(c.leadPartner)}</p></div></li>`)
    .join("")}</ul>`;
}

function statusTag(status: string): string {
  const colour: Record<string, string> = { met: "green", ahead: "green", on_track: "blue", behind: "red", not_started: "grey" };
  return `<strong class="nhsuk-tag nhsuk-tag--${colour[status] ?? "grey"}">${escape(words(status))}</strong>`;
}

async function campaignPage(id: string): Promise<void> {
  const campaign = must(await GET<Campaign>("/v1/campaigns/{id}", { params: { path: { id } } }));
  setTitle(campaign.name);
  const [progress, impediments, breakthroughs, chart, innovations] = await Promise.all([
    GET<CampaignProgress>("/v1/campaigns/{id}/progress", { params: { path: { id } } }).then(must),
    allPages<Impediment>("/v1/campaigns/{id}/impediments", { path: { id } }).then(must),
    allPages<Breakthrough>("/v1/campaigns/{id}/breakthroughs", { path: { id } }).then(must),
    svgChart(`/v1/campaigns/${encodeURIComponent(id)}/progress?format=svg`),
    Promise.all(campaign.innovationIds.map((i) => GET<Innovation>("/v1/innovations/{id}", { params: { path: { id: i } } }).then(must))),
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
async function svgChart(url: string): Promise<string | null> {
  const key = sessionStorage.getItem(KEY_STORAGE);
  try {
    const response = await fetch(url, { headers: { Accept: "image/svg+xml", ...(key ? { Authorization: `Bearer ${key}` } : {}) } });
    if (!response.ok) return null;
    return "data:image/svg+xml;charset=utf-8," + encodeURIComponent(await response.text());
  } catch {
    return null;
  }
}
