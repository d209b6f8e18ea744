// The typed fetch layer: the same shape as openapi-fetch (`client.GET(path, { params })` answers
// `{ data, error, response }`), so a page written against it moves to the generated TypeScript
// client (clients/typescript) by changing the import. It adds what every Spread reader needs:
//   - the read key from sessionStorage (never the URL), and never a write key (see keys.ts);
//   - If-None-Match with the ETag of the last answer for the same URL (a 304 reuses it);
//   - `allPages`, which follows `nextCursor` to the end;
//   - errors as RFC 9457 problem+json, whose `detail` the page shows to the user.

interface Problem {
  type?: string;
  title: string;
  status: number;
  detail?: string;
}

interface Answer<T> {
  data?: T;
  error?: Problem;
  response?: Response;
}

interface Params {
  path?: Record<string, string>;
  query?: Record<string, string | number | undefined>;
}

const KEY_STORAGE = "spread.explorer.readKey";
const etags = new Map<string, { etag: string; body: unknown }>();

function readKey(): string | null {
  return sessionStorage.getItem(KEY_STORAGE);
}

function buildUrl(path: string, params: Params = {}): string {
  let url = path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(params.path?.[name] ?? ""));
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params.query ?? {})) {
    if (value !== undefined && value !== "") query.set(name, String(value));
  }
  const qs = query.toString();
  if (qs) url += "?" + qs;
  return url;
}

async function GET<T>(path: string, options: { params?: Params; key?: string | null } = {}): Promise<Answer<T>> {
  const url = buildUrl(path, options.params);
  const headers: Record<string, string> = { Accept: "application/json" };
  const key = options.key === undefined ? readKey() : options.key;
  if (key) headers["Authorization"] = `Bearer ${key}`;
  const cached = etags.get(url);
  if (cached && key === readKey()) headers["If-None-Match"] = cached.etag;
  let response: Response;
  try {
    response = await fetch(url, { headers });
  } catch {
    return { error: { title: "Spread is not answering", status: 0, detail: "The API could not be reached. Check your connection and try again." } };
  }
  if (response.status === 304 && cached) return { data: cached.body as T, response };
  const type = response.headers.get("Content-Type") ?? "";
  if (!response.ok) {
    if (type.includes("json")) return { error: (await response.json()) as Problem, response };
    return { error: { title: response.statusText || "Error", status: response.status, detail: `The API answered ${response.status}.` }, response };
  }
  const data = (await response.json()) as T;
  const etag = response.headers.get("ETag");
  if (etag) etags.set(url, { etag, body: data });
  return { data, response };
}

// Every item of a paged list: follows `nextCursor` until the last page (or `max` items).
async function allPages<T>(path: string, params: Params = {}, max = 2000): Promise<Answer<T[]>> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const query = { ...(params.query ?? {}), limit: 100, cursor };
    const { data, error, response } = await GET<{ items: T[]; nextCursor?: string | null }>(path, { params: { ...params, query } });
    if (error || !data) return { error, response };
    items.push(...data.items);
    cursor = data.nextCursor ?? undefined;
  } while (cursor && items.length < max);
  return { data: items };
}

// When a request fails, pages throw this; the router shows it as an NHS error summary.
class ApiError extends Error {
  constructor(public problem: Problem) {
    super(problem.detail ?? problem.title);
  }
}

function must<T>(answer: Answer<T>): T {
  if (answer.error || answer.data === undefined) throw new ApiError(answer.error ?? { title: "No answer", status: 0 });
  return answer.data;
}
