// The parts of the API's schemas (openapi/openapi.json) the explorer reads.

interface InnovationHit {
  type: "innovation";
  id: string;
  title: string;
  titleHtml?: string;
  snippet: string;
  category: string;
  evidenceLevel: string;
  status: string;
  adoptionCount: number;
}
interface OtherHit {
  type: "site" | "adaptation";
  id: string;
  title: string;
  titleHtml?: string;
  snippet: string;
}
type Hit = InnovationHit | OtherHit;

interface SearchResults {
  items: Hit[];
  total: number;
  totalIsFloor: boolean;
  correctedQuery?: string | null;
  facets?: Record<string, Record<string, number>>;
  nextCursor?: string | null;
}

interface Innovation {
  id: string;
  title: string;
  summary: string;
  description: string;
  category: string;
  evidenceLevel: string;
  status: string;
  coreComponents: { key: string; name: string; description: string }[];
  themes: string[];
  originSiteCode: string;
  originatedOn: string;
  adoptionCount: number;
  siteCount: number;
}

interface LineageSite {
  code: string;
  name: string;
  kind: string;
  latitude?: number | null;
  longitude?: number | null;
  regionCode?: string | null;
}
interface LineageNode {
  adoptionId: string;
  innovationId: string;
  generation: number;
  isOrigin: boolean;
  stage: string;
  startedOn: string;
  adaptationCount: number;
  site: LineageSite;
}
interface LineageEdge {
  from: string;
  to: string;
  channel: string;
  on?: string | null;
}
interface InnovationLineage {
  innovationId: string;
  nodes: LineageNode[];
  edges: LineageEdge[];
}

interface Adaptation {
  id: string;
  adoptionId: string;
  what?: string;
  description?: string;
  nature?: string;
  fidelity?: string;
  reason?: string;
  [field: string]: unknown;
}

interface Site {
  code: string;
  name: string;
  kind: string;
  regionCode?: string | null;
  icbCode?: string | null;
  postcode?: string | null;
  status: string;
}

interface Adoption {
  id: string;
  innovationId: string;
  siteCode: string;
  siteName: string;
  stage: string;
  startedOn: string;
  sources: { adoptionId: string; siteCode?: string; channel?: string }[];
}

interface Me {
  partnerName: string;
  scopes: string[];
}

interface RegionsMap {
  projection: { west: number; north: number; kx: number; ky: number };
  width: number;
  height: number;
  attribution: string[];
  regions: { code: string; name: string; d: string }[];
}

interface Campaign {
  id: string;
  name: string;
  description: string;
  kind: string;
  leadPartner: string;
  innovationIds: string[];
  startsOn: string;
  endsOn: string;
}
interface SiteProgress {
  siteCode: string;
  siteName: string;
  target: number;
  value: number;
  expectedByNow: number;
  status: string;
  openImpediments: number;
  stalled: boolean;
}
interface CampaignProgress {
  measureCode: string;
  asOf: string;
  overall: { value: number; target: number; expectedByNow: number; status: string; projectedCompletion?: string | null };
  sites: SiteProgress[];
}
interface Impediment {
  id: string;
  siteCode: string;
  description: string;
  category: string;
  status: string;
  raisedOn: string;
}
interface Breakthrough {
  id: string;
  siteCode: string;
  title: string;
  story: string;
}
