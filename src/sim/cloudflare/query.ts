import type { DnsRecordView } from './types.js';

export interface ResultInfo {
  page: number;
  per_page: number;
  count: number;
  total_count: number;
  total_pages: number;
}

export interface Page<T> {
  result: T[];
  result_info: ResultInfo;
}

export interface PageLimits {
  defaultPerPage: number;
  minPerPage: number;
  maxPerPage: number;
}

function intParam(q: URLSearchParams, key: string, fallback: number): number {
  const n = Number.parseInt(q.get(key) ?? '', 10);
  return Number.isNaN(n) ? fallback : n;
}

/** A page past the end answers an empty `result` (the SDK's auto-pagination stops on it). */
export function paginate<T>(items: T[], q: URLSearchParams, limits: PageLimits): Page<T> {
  const perPage = Math.min(limits.maxPerPage, Math.max(limits.minPerPage, intParam(q, 'per_page', limits.defaultPerPage)));
  const page = Math.max(1, intParam(q, 'page', 1));
  const result = items.slice((page - 1) * perPage, page * perPage);
  return {
    result,
    result_info: {
      page,
      per_page: perPage,
      count: result.length,
      total_count: items.length,
      total_pages: Math.ceil(items.length / perPage),
    },
  };
}

type Predicate = (r: DnsRecordView) => boolean;
type TextField = 'name' | 'content' | 'comment';

const TEXT_OPERATORS: Record<string, (value: string, wanted: string) => boolean> = {
  exact: (v, w) => v === w,
  contains: (v, w) => v.includes(w),
  startswith: (v, w) => v.startsWith(w),
  endswith: (v, w) => v.endsWith(w),
};

function textPredicates(q: URLSearchParams, field: TextField): Predicate[] {
  const predicates: Predicate[] = [];
  for (const [key, raw] of q) {
    const [param, op = 'exact'] = key.split('.', 2);
    const test = TEXT_OPERATORS[op];
    if (param !== field || !test) continue;
    // Filters are case-insensitive; names are also compared without a trailing dot.
    const wanted = (field === 'name' ? raw.replace(/\.$/, '') : raw).toLowerCase();
    predicates.push((r) => {
      const value = r[field];
      return value !== null && test(value.toLowerCase(), wanted);
    });
  }
  return predicates;
}

function recordPredicates(q: URLSearchParams): Predicate[] {
  const predicates = [...textPredicates(q, 'name'), ...textPredicates(q, 'content'), ...textPredicates(q, 'comment')];
  const type = q.get('type');
  if (type !== null) predicates.push((r) => r.type === type.toUpperCase());
  const proxied = q.get('proxied');
  if (proxied !== null) predicates.push((r) => r.proxied === (proxied === 'true'));
  if (q.has('comment.present')) predicates.push((r) => r.comment !== null);
  if (q.has('comment.absent')) predicates.push((r) => r.comment === null);
  return predicates;
}

const ORDER_FIELDS = ['type', 'name', 'content', 'ttl', 'proxied'] as const;
type OrderField = (typeof ORDER_FIELDS)[number];

function compareBy(field: OrderField, a: DnsRecordView, b: DnsRecordView): number {
  const x = a[field];
  const y = b[field];
  return x < y ? -1 : x > y ? 1 : 0;
}

function sortRecords(records: DnsRecordView[], q: URLSearchParams): DnsRecordView[] {
  const requested = q.get('order');
  const primary = ORDER_FIELDS.find((f) => f === requested) ?? 'type';
  const sign = q.get('direction') === 'desc' ? -1 : 1;
  const keys = [primary, ...ORDER_FIELDS.filter((f) => f !== primary)];
  return records.sort((a, b) => {
    for (const k of keys) {
      const c = compareBy(k, a, b);
      if (c !== 0) return sign * c;
    }
    return a.created_on.localeCompare(b.created_on) || a.id.localeCompare(b.id);
  });
}

/** GET /zones/{id}/dns_records: filters (combined by `match`), `search`, order, pagination. */
export function listRecords(records: DnsRecordView[], q: URLSearchParams): Page<DnsRecordView> {
  const predicates = recordPredicates(q);
  const matchAny = q.get('match') === 'any';
  const search = q.get('search')?.toLowerCase();
  const selected = records.filter(
    (r) =>
      (predicates.length === 0 || (matchAny ? predicates.some((p) => p(r)) : predicates.every((p) => p(r)))) &&
      (search === undefined || [r.name, r.content, r.comment ?? ''].some((v) => v.toLowerCase().includes(search))),
  );
  return paginate(sortRecords(selected, q), q, { defaultPerPage: 100, minPerPage: 1, maxPerPage: 5_000_000 });
}
