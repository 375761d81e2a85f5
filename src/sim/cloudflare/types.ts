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

export interface CloudflareSimOptions {
  port?: number;
  host?: string;
  token: string;
  zones?: Array<{ id?: string; name: string }>;
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
