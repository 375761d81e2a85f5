/**
 * Cloudflare's rate-limit headers, read defensively (a header that does not parse is ignored).
 *
 * Source of the format: Cloudflare's API documentation, "Rate limits" (developers.cloudflare.com/
 * fundamentals/api/reference/limits/) and the changelog entry of 2025-09-03 as corrected on
 * 2025-09-18 (cloudflare/cloudflare-docs#25269: "the underlying services were updated to use the
 * IETF proposed Ratelimit and Ratelimit-Policy headers"). Every REST answer carries
 *   Ratelimit:        "default";r=1195;t=297   (limit name; r = remaining quota; t = seconds until the window resets)
 *   Ratelimit-Policy: "default";q=1200;w=300   (policy name; q = quota; w = window in seconds)
 * and a refused call (429) adds Retry-After in seconds. Both are RFC 9651 structured-field lists
 * (draft-ietf-httpapi-ratelimit-headers): items separated by commas, each a quoted string or a token
 * followed by `;key=value` parameters. The first version of that changelog named the older
 * X-RateLimit-Limit / X-RateLimit-Remaining / X-RateLimit-Reset (an RFC 1123 date, sent with 429
 * only), and an earlier draft of the IETF proposal used RateLimit-Limit / -Remaining / -Reset
 * (seconds): those are read when the structured headers are absent.
 */

/** Read access to an answer's headers (the Fetch API's Headers fits). */
export interface HeaderView {
  get(name: string): string | null;
}

export interface RateLimitInfo {
  /** requests allowed per window */
  readonly limit: number;
  /** requests left in the current window */
  readonly remaining: number;
  /** seconds until the window resets (more capacity) */
  readonly resetSeconds: number;
}

/** Longer headers are not what Cloudflare sends: ignored rather than parsed. */
const MAX_HEADER_LENGTH = 1024;
/** A plausible upper bound for every number in these headers (a day of seconds, a huge quota). */
const MAX_VALUE = 1e9;

interface Item {
  readonly name: string;
  readonly params: ReadonlyMap<string, number>;
}

const count = (raw: string | undefined): number | undefined => {
  if (raw === undefined || !/^\d{1,10}$/.test(raw.trim())) return undefined;
  const n = Number(raw.trim());
  return n <= MAX_VALUE ? n : undefined;
};

/** Splits a structured-field list into items; quoted names may hold commas and semicolons. */
function splitOutsideQuotes(text: string, sep: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === '\\' && quoted) {
      current += ch + (text[i + 1] ?? '');
      i++;
    } else if (ch === '"') {
      quoted = !quoted;
      current += ch;
    } else if (ch === sep && !quoted) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts;
}

/** `"name";k=1;j=2, other;k=3` → items with their integer parameters (other parameter values are dropped). */
export function parseList(header: string | null | undefined): Item[] {
  if (header === null || header === undefined || header.length > MAX_HEADER_LENGTH) return [];
  const items: Item[] = [];
  for (const member of splitOutsideQuotes(header, ',')) {
    const [head = '', ...rest] = splitOutsideQuotes(member.trim(), ';');
    const name = head.trim().replace(/^"(.*)"$/, '$1').replace(/\\(.)/g, '$1');
    if (name === '') continue;
    const params = new Map<string, number>();
    for (const p of rest) {
      const eq = p.indexOf('=');
      const key = (eq < 0 ? p : p.slice(0, eq)).trim().toLowerCase();
      const value = eq < 0 ? undefined : count(p.slice(eq + 1));
      if (key !== '' && value !== undefined) params.set(key, value);
    }
    items.push({ name, params });
  }
  return items;
}

/** The structured headers: the item with the least quota left, and the quota of its policy. */
function structured(headers: HeaderView): RateLimitInfo | undefined {
  const limits = parseList(headers.get('ratelimit')).filter((i) => i.params.has('r') && i.params.has('t'));
  if (limits.length === 0) return undefined;
  const tightest = limits.reduce((a, b) => ((b.params.get('r') ?? 0) < (a.params.get('r') ?? 0) ? b : a));
  const policies = parseList(headers.get('ratelimit-policy')).filter((i) => i.params.has('q'));
  const policy = policies.find((p) => p.name === tightest.name) ?? (policies.length === 1 ? policies[0] : undefined);
  const limit = policy?.params.get('q');
  if (limit === undefined) return undefined;
  return { limit, remaining: tightest.params.get('r') ?? 0, resetSeconds: tightest.params.get('t') ?? 0 };
}

/** Seconds until `raw`: delta seconds, epoch seconds, or an HTTP date. */
function resetIn(raw: string | null, nowMs: number): number | undefined {
  if (raw === null || raw.length > 100) return undefined;
  const n = count(raw);
  if (n !== undefined) return n > 1e8 ? Math.max(0, Math.ceil(n - nowMs / 1000)) : n;
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - nowMs) / 1000));
}

/** X-RateLimit-* (Cloudflare, briefly) or RateLimit-Limit/-Remaining/-Reset (earlier IETF drafts). */
function legacy(headers: HeaderView, nowMs: number): RateLimitInfo | undefined {
  for (const prefix of ['x-ratelimit-', 'ratelimit-']) {
    const limit = count(headers.get(`${prefix}limit`) ?? undefined);
    const remaining = count(headers.get(`${prefix}remaining`) ?? undefined);
    const reset = resetIn(headers.get(`${prefix}reset`), nowMs) ?? resetIn(headers.get('retry-after'), nowMs);
    if (limit !== undefined && remaining !== undefined && reset !== undefined) return { limit, remaining, resetSeconds: reset };
  }
  return undefined;
}

/** What the answer's headers say of the rate limit, or undefined when they say nothing usable. */
export function parseRateLimit(headers: HeaderView, nowMs: number = Date.now()): RateLimitInfo | undefined {
  return structured(headers) ?? legacy(headers, nowMs);
}

/** Retry-After (seconds or an HTTP date) in milliseconds. */
export function retryAfterMs(headers: HeaderView | undefined, nowMs: number = Date.now()): number | undefined {
  const raw = headers?.get('retry-after');
  if (raw === null || raw === undefined || raw.trim() === '' || raw.length > 100) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}
