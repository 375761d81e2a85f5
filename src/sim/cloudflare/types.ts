export interface DnsRecordView {
  id: string;
  zone_id: string;
  zone_name: string;
  name: string;
  type: string;
  content: string;
  proxiable: boolean;
  proxied: boolean;
  ttl: number;
  comment: string | null;
  tags: string[];
  created_on: string;
  modified_on: string;
  meta: object;
  settings: object;
}

export interface RecordInput {
  name: string;
  type: string;
  content: string;
  ttl?: number;
  proxied?: boolean;
  comment?: string;
}

export type CommitKind = 'create' | 'update' | 'delete';

export interface Commit {
  at: number;
  kind: CommitKind;
  zoneId: string;
  record: DnsRecordView;
}

export interface BatchOpCounts {
  deletes: number;
  patches: number;
  puts: number;
  posts: number;
}

export interface RequestLogEntry {
  method: string;
  path: string;
  query: string;
  /** 0 when the connection was reset without an answer */
  status: number;
  at: number;
  ops?: BatchOpCounts;
}

export interface RateLimitOptions {
  requests: number;
  windowMs: number;
  blockMs: number;
}

/** Cloudflare's zone statuses (GET /zones `status` filter); only `active` zones answer DNS queries. */
export type ZoneStatus = 'initializing' | 'pending' | 'active' | 'moved' | 'deactivated';

/**
 * What the simulator's token may do in a zone:
 * - `edit` (default): Zone:Read and DNS:Edit;
 * - `read`: Zone:Read and DNS:Read: writes answer 403 10000;
 * - `none`: Zone:Read only (say, a token with Zone:Read on all zones and DNS:Edit on others): the zone
 *   is listed and readable, its DNS records answer 403 10000;
 * - `hidden`: the zone is not among the token's resources: GET /zones leaves it out, and the zone
 *   and everything below it answer 403 9109.
 */
export type ZonePermission = 'hidden' | 'none' | 'read' | 'edit';

export interface ZoneOptions {
  id?: string;
  name: string;
  /** default `active` */
  status?: ZoneStatus;
  /** the id of the account holding the zone (default: the simulator's first account) */
  account?: string;
  /** default `edit` */
  permission?: ZonePermission;
}

/** A zone as the simulator's API describes it to tests. */
export interface SimZone {
  id: string;
  name: string;
  status: ZoneStatus;
  account: { id: string; name: string };
  permission: ZonePermission;
}

export interface CloudflareSimOptions {
  port?: number;
  host?: string;
  token: string;
  zones?: ZoneOptions[];
  batchLimit?: number;
  maxRecordsPerZone?: number;
  rateLimit?: RateLimitOptions | false;
  dnsPort?: number | false;
  commentMaxLength?: number;
}

export interface FailNextOptions {
  method?: string;
  pathIncludes?: string;
  status: number;
  count?: number;
  retryAfter?: string;
  code?: number;
  message?: string;
  html?: boolean;
  reset?: boolean;
}
