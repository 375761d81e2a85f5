import { paginate, type Page } from './query.js';
import type { ZonePermission } from './types.js';
import type { ZoneInfo } from './zone-state.js';

/** The `permissions` a zone view lists for the token. */
const PERMISSIONS: Record<ZonePermission, string[]> = {
  hidden: [],
  none: ['#zone:read'],
  read: ['#dns_records:read', '#zone:read'],
  edit: ['#dns_records:edit', '#dns_records:read', '#zone:read'],
};

/** A zone as GET /zones answers it, with every field the OpenAPI description requires. */
export function zoneView(z: ZoneInfo): Record<string, unknown> {
  const account = { ...z.account };
  return {
    id: z.id,
    name: z.name,
    status: z.status,
    paused: false,
    type: 'full',
    development_mode: 0,
    name_servers: ['ada.ns.cloudflare.com', 'bob.ns.cloudflare.com'],
    original_name_servers: null,
    original_registrar: null,
    original_dnshost: null,
    created_on: z.createdOn,
    modified_on: z.createdOn,
    activated_on: z.activatedOn,
    meta: { step: 2, custom_certificate_quota: 0, page_rule_quota: 3, phishing_detected: false },
    owner: { id: account.id, type: 'user', email: 'owner@example.invalid' },
    account,
    permissions: PERMISSIONS[z.permission],
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

/**
 * GET /zones: the zones among the token's resources (not `hidden` ones), whatever their status;
 * filters `name`, `status`, `account.id` and `account.name`; ordered by name, then account
 * (two accounts may hold the same name); 5–50 per page (default 20).
 */
export function listZones(zones: ZoneInfo[], q: URLSearchParams): Page<Record<string, unknown>> {
  const matchesName = nameMatcher(q.get('name'));
  const matchesAccountName = nameMatcher(q.get('account.name'));
  const status = q.get('status');
  const accountId = q.get('account.id');
  const sign = q.get('direction') === 'desc' ? -1 : 1;
  const selected = zones
    .filter(
      (z) =>
        z.permission !== 'hidden' &&
        matchesName(z.name) &&
        (status === null || z.status === status) &&
        (accountId === null || z.account.id === accountId) &&
        matchesAccountName(z.account.name.toLowerCase()),
    )
    .sort((a, b) => (a.name.localeCompare(b.name) || a.account.id.localeCompare(b.account.id)) * sign)
    .map(zoneView);
  return paginate(selected, q, { defaultPerPage: 20, minPerPage: 5, maxPerPage: 50 });
}
