// A front end's day with Spread, written against the generated types only (src/schema.d.ts,
// from openapi/openapi.json by openapi-typescript) and openapi-fetch. Compiled with
// `tsc --strict`; run by tests/clients/test_generated_clients.py against a live server:
//   SPREAD_URL=http://127.0.0.1:8000 SPREAD_KEY=spr_... node dist/example.js
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema.js";

type Problem = components["schemas"]["Problem"];

const baseUrl = process.env.SPREAD_URL ?? "http://127.0.0.1:8000";
const key = process.env.SPREAD_KEY;
if (!key) throw new Error("set SPREAD_KEY to an API key with read and write scopes");

// Read-your-writes: a write may answer X-Spread-Consistency (when reads go to a replica);
// the next read sends it back so it sees the write. Harmless when the server sends none.
let consistency: string | null = null;
const readYourWrites: Middleware = {
  onRequest({ request }) {
    if (consistency) request.headers.set("X-Spread-Consistency", consistency);
    request.headers.set("X-Correlation-ID", "spread-example-ts");
    return request;
  },
  onResponse({ response }) {
    const token = response.headers.get("X-Spread-Consistency");
    if (token) consistency = token;
    return response;
  },
};

// Lists also answer text/csv: typing the client for JSON (and problem+json errors) picks the JSON body.
type Json = "application/json" | "application/problem+json";
const spread = createClient<paths, Json>({ baseUrl, headers: { Authorization: `Bearer ${key}` } });
spread.use(readYourWrites);

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

const today = new Date().toISOString().slice(0, 10);

// 1. List innovations with a filter, following nextCursor.
const seen: string[] = [];
let cursor: string | undefined;
let pages = 0;
do {
  const { data, error } = await spread.GET("/v1/innovations", {
    params: { query: { status: "active", limit: 2, cursor } },
  });
  if (error) throw new Error(`list: ${error.detail}`);
  for (const innovation of data.items) {
    check(innovation.status === "active", "the filter holds");
    seen.push(innovation.id);
  }
  cursor = data.nextCursor ?? undefined;
  pages += 1;
} while (cursor && pages < 3);
check(pages >= 2 && new Set(seen).size === seen.length, `paged without repeats: ${pages} pages`);
console.log(`listed ${seen.length} active innovations over ${pages} pages`);

// 2. Read one with its ETag, then revalidate: 304 Not Modified.
const innovationId = seen[0];
check(innovationId, "an innovation");
const first = await spread.GET("/v1/innovations/{id}", { params: { path: { id: innovationId } } });
if (first.error) throw new Error(first.error.detail);
const etag = first.response.headers.get("ETag");
check(etag, "an ETag");
const again = await spread.GET("/v1/innovations/{id}", {
  params: { path: { id: innovationId } },
  headers: { "If-None-Match": etag },
});
check(again.response.status === 304, `revalidated: ${again.response.status}`);
console.log(`read ${first.data.title} (${etag}), then 304`);

// 3. Adopt it at a trust that has not, learning from its origin adoption.
const adoptions = await spread.GET("/v1/innovations/{id}/adoptions", {
  params: { path: { id: innovationId }, query: { limit: 500 } },
});
if (adoptions.error) throw new Error(adoptions.error.detail);
const origin = adoptions.data.items.find((a) => a.isOrigin) ?? adoptions.data.items[0];
check(origin, "an adoption to learn from");
const taken = new Set(adoptions.data.items.map((a) => a.siteCode));
const trusts = await spread.GET("/v1/sites", { params: { query: { kind: "trust", limit: 500 } } });
if (trusts.error) throw new Error(trusts.error.detail);
const free = trusts.data.items.map((s) => s.code).filter((code) => !taken.has(code));
const [siteCode, csvSite] = free;
check(siteCode && csvSite, "two trusts that have not adopted it");
const created = await spread.POST("/v1/innovations/{id}/adoptions", {
  params: { path: { id: innovationId } },
  body: { siteCode, startedOn: today, stage: "exploring", sources: [{ adoptionId: origin.id, channel: "peer_visit" }] },
});
if (created.error) throw new Error(`adopt: ${created.error.detail}`);
check(created.response.status === 201, "created");
console.log(`adopted at ${siteCode}, learned from ${origin.siteCode}`);

// 4. Its lineage: where it came from.
const lineage = await spread.GET("/v1/adoptions/{id}/lineage", {
  params: { path: { id: created.data.id }, query: { direction: "upstream" } },
});
if (lineage.error) throw new Error(lineage.error.detail);
// The operation also answers PROV-JSON, GeoJSON and Mermaid text; JSON is what we asked for.
check(typeof lineage.data === "object" && "nodes" in lineage.data, "JSON lineage");
const nodes = new Set(lineage.data.nodes.map((n) => n.adoptionId));
check(nodes.has(origin.id) && nodes.has(created.data.id), "the lineage links it to its source");
console.log(`lineage: ${lineage.data.nodes.length} adoptions, ${lineage.data.edges.length} links`);

// 5. A partner's spreadsheet: a CSV batch.
const csv = [
  "innovation,siteCode,stage,startedOn,learnedFrom,externalId",
  `${first.data.slug},${csvSite},exploring,${today},${origin.siteCode}:learning_network,ts-example-1`,
].join("\n");
const batch = await spread.POST("/v1/submissions", {
  params: { query: { mode: "partial" }, header: { "Idempotency-Key": `ts-${Date.now()}` } },
  body: csv as never, // the operation takes JSON, NDJSON or CSV; the CSV goes as it is
  bodySerializer: (body: unknown) => String(body),
  headers: { "Content-Type": "text/csv" },
});
if (batch.error) throw new Error(`submit: ${batch.error.detail}`);
check(batch.data.summary.created === 1, `one created: ${JSON.stringify(batch.data.summary)}`);
console.log(`submitted a CSV batch: ${JSON.stringify(batch.data.summary)}`);

// 6. A refusal is a problem document naming the field at fault.
const refused = await spread.POST("/v1/innovations/{id}/adoptions", {
  params: { path: { id: innovationId } },
  body: { siteCode: "ZZZ99", startedOn: today },
});
check(refused.response.status === 422, `422: ${refused.response.status}`);
const problem: Problem | undefined = refused.error;
check(problem && problem.errors?.some((e) => e.field === "siteCode"), "the problem names siteCode");
check(refused.response.headers.get("Content-Type") === "application/problem+json", "problem+json");
console.log(`refused: ${problem.title}: ${problem.detail}`);
console.log("typescript client: all steps passed");
