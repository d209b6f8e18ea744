// Outcomes on an innovation's page: for each measure with data for its adoptions, the sites the
// API ranks as exceptional (GET /v1/insights/exceptional: peers worth visiting) and the SPC
// chart the API draws for each (format=svg, shown as a data: image).

interface Measure {
  code: string;
  name: string;
  unit: string;
}
interface ExceptionalAdoption {
  rank: number;
  adoptionId: string;
  stage: string;
  startedOn: string;
  site: { code: string; name: string };
  spc: { meanBefore?: number | null; meanAfter?: number | null; improving?: boolean; variation?: string };
}
interface Exceptional {
  measureCode: string;
  assessed: number;
  items: ExceptionalAdoption[];
}

async function renderOutcomes(host: HTMLElement, innovationId: string): Promise<void> {
  const measures = must(await allPages<Measure>("/v1/measures"));
  const ranked = await Promise.all(
    measures.map(async (m) => {
      const answer = await GET<Exceptional>("/v1/insights/exceptional", { params: { query: { measure: m.code, innovation: innovationId, limit: 3 } } });
      return { measure: m, exceptional: answer.data };
    }),
  );
  const sections: string[] = [];
  for (const { measure, exceptional } of ranked) {
    if (!exceptional || !exceptional.items.length) continue;
    const charts = await Promise.all(
      exceptional.items.map((e) => svgChart(`/v1/adoptions/${encodeURIComponent(e.adoptionId)}/measures/${encodeURIComponent(measure.code)}/spc?format=svg`)),
    );
    sections.push(`<h3>${escape(measure.name)}</h3>
      <p class="nhsuk-body">Sites whose results improved most after adopting (of ${exceptional.assessed} with data): peers to visit.</p>
      <ol class="nhsuk-list nhsuk-list--number explorer-exceptional">${exceptional.items
        .map((e, i) => `<li><a href="#/sites/${encodeURIComponent(e.site.code)}">${escape(e.site.name)}</a>, ${escape(words(e.stage))} since ${escape(e.startedOn)}${e.spc.improving ? ' <strong class="nhsuk-tag nhsuk-tag--green">Improving</strong>' : ""}
          ${charts[i] ? `<img class="explorer-chart" src="${charts[i]}" alt="Statistical process control chart of ${escape(measure.name)} at ${escape(e.site.name)}, before and after adopting on ${escape(e.startedOn)}.">` : ""}</li>`)
        .join("")}</ol>`);
  }
  host.innerHTML = sections.join("") || '<p class="nhsuk-body">No outcome data has been recorded for this innovation\'s adoptions.</p>';
}
