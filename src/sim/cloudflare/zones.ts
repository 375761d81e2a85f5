import { paginate, type Page } from './query.js';
import type { ZoneInfo } from './zone-state.js';

export interface Account {
  id: string;
  name: string;
}

/** A zone as GET /zones answers it, with every field the OpenAPI description requires. */
export function zoneView(z: ZoneInfo, account: Account): Record<string, unknown> {
  return {
    id: z.id,
    name: z.name,
    status: 'active',
    paused: false,
    type: 'full',
    development_mode: 0,
    name_servers: ['ada.ns.cloudflare.com', 'bob.ns.cloudflare.com'],
    original_name_servers: null,
    original_registrar: null,
    original_dnshost: null,
    created_on: z.createdOn,
    modified_on: z.createdOn,
    activated_on: z.createdOn,
    meta: { step: 2, custom_certificate_quota: 0, page_rule_quota: 3, phishing_detected: false },
    owner: { id: account.id, type: 'user', email: 'owner@example.invalid' },
    account,
    permissions: ['#dns_records:edit', '#dns_records:read', '#zone:read'],
    plan: { id: '0feeeeeeeeeeeeeeeeeeeeeeeeeeeeee', name: 'Free Website', price: 0, currency: 'USD', legacy_id: 'free' },
  };
}

const equal = (n: string, w: string): boolean => n === w.toLowerCase();

const NAME_OPERATORS: Record<string, (name: string, wanted: string) => boolean> = {
  equal,
  not_equal: (n, w) => n !== w.toLowerCase(),
  starts_with: (n, w) => n.startsWith(w.toLowerCase()),
  ends_with: (n, w) => n.endsWith(w.toLowerCase()),
  contains: (n, w) => n.includes(w.toLowerCase()),
  starts_with_case_sensitive: (n, w) => n.startsWith(w),
  ends_with_case_sensitive: (n, w) => n.endsWith(w),
  contains_case_sensitive: (n, w) => n.includes(w),
};

/** `name` takes an optional operator prefix, as in `name=contains:.org`. */
function nameMatcher(raw: string | null): (name: string) => boolean {
  if (raw === null) return () => true;
  const sep = raw.indexOf(':');
  const op = sep > 0 ? NAME_OPERATORS[raw.slice(0, sep)] : undefined;
  return op ? (n) => op(n, raw.slice(sep + 1)) : (n) => equal(n, raw);
}

/** GET /zones: filters `name` and `status`, ordered by name, 5–50 per page (default 20). */
export function listZones(zones: ZoneInfo[], q: URLSearchParams, account: Account): Page<Record<string, unknown>> {
  const matchesName = nameMatcher(q.get('name'));
  const status = q.get('status');
  const selected = zones
    .filter((z) => matchesName(z.name) && (status === null || status === 'active'))
    .sort((a, b) => a.name.localeCompare(b.name) * (q.get('direction') === 'desc' ? -1 : 1))
    .map((z) => zoneView(z, account));
  return paginate(selected, q, { defaultPerPage: 20, minPerPage: 5, maxPerPage: 50 });
}
