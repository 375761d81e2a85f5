import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DnsServer } from './dns-server.js';
import { Faults } from './faults.js';
import { createHttpServer } from './http.js';
import { createRecord, deleteRecord, newId } from './operations.js';
import { RateLimiter } from './ratelimit.js';
import { Api } from './routes.js';
import { Store } from './store.js';
import type {
  CloudflareSimOptions,
  Commit,
  DnsRecordView,
  FailNextOptions,
  RecordInput,
  RequestLogEntry,
  SimZone,
  ZoneOptions,
  ZonePermission,
  ZoneStatus,
} from './types.js';
import type { ZoneInfo } from './zone-state.js';

export type {
  BatchOpCounts,
  CloudflareSimOptions,
  Commit,
  CommitKind,
  DnsRecordView,
  FailNextOptions,
  RateLimitOptions,
  RecordInput,
  RequestLogEntry,
  SimZone,
  ZoneOptions,
  ZonePermission,
  ZoneStatus,
} from './types.js';

const DEFAULTS = {
  host: '127.0.0.1',
  batchLimit: 200,
  maxRecordsPerZone: 3500,
  rateLimit: { requests: 1200, windowMs: 300_000, blockMs: 300_000 },
  commentMaxLength: 100,
};

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** A Cloudflare v4 API (DNS records, zones, token verify) and an authoritative DNS server for its zones. */
export class CloudflareSim {
  readonly requests: RequestLogEntry[];
  readonly commits: Commit[];
  readonly baseUrl: string;
  readonly dnsPort: number;

  private constructor(
    private readonly store: Store,
    private readonly faults: Faults,
    private readonly limiter: RateLimiter,
    private readonly http: Server,
    private readonly dns: DnsServer | undefined,
    requests: RequestLogEntry[],
    baseUrl: string,
  ) {
    this.requests = requests;
    this.commits = store.commits;
    this.baseUrl = baseUrl;
    this.dnsPort = dns?.port ?? 0;
  }

  static async start(opts: CloudflareSimOptions): Promise<CloudflareSim> {
    const host = opts.host ?? DEFAULTS.host;
    const store = new Store(
      opts.zones ?? [],
      {
        limits: { commentMaxLength: opts.commentMaxLength ?? DEFAULTS.commentMaxLength },
        maxRecordsPerZone: opts.maxRecordsPerZone ?? DEFAULTS.maxRecordsPerZone,
      },
      { id: newId(), name: 'Simulated account' },
    );
    const faults = new Faults();
    const limiter = new RateLimiter(opts.rateLimit ?? DEFAULTS.rateLimit);
    const api = new Api(store, limiter, {
      token: opts.token,
      tokenId: newId(),
      batchLimit: opts.batchLimit ?? DEFAULTS.batchLimit,
    });
    const requests: RequestLogEntry[] = [];
    const http = createHttpServer({ api, faults, log: requests });
    const port = await listen(http, opts.port ?? 0, host);
    const dns =
      opts.dnsPort === false
        ? undefined
        : await DnsServer.start(host, opts.dnsPort ?? 0, (name) => {
            const zone = store.zoneForHost(name);
            return zone && { zone: zone.zone.name, records: zone.all().filter((r) => r.name === name) };
          }).catch((err: unknown) => {
            http.close();
            throw err;
          });
    return new CloudflareSim(store, faults, limiter, http, dns, requests, `http://${host}:${port}/client/v4`);
  }

  /** The zone with this name (the active one when several accounts hold the name). */
  zone(name: string): SimZone {
    const zone = this.store.zoneByName(name);
    if (!zone) throw new Error(`the simulator has no zone ${name}`);
    return simZone(zone.zone);
  }

  /** Every zone, or every zone with this name (one per account that holds it). */
  zones(name?: string): SimZone[] {
    const wanted = name?.toLowerCase().replace(/\.$/, '');
    return this.store.zoneInfos().filter((z) => wanted === undefined || z.name === wanted).map(simZone);
  }

  /** The account zones go to unless told otherwise. */
  get defaultAccount(): { id: string; name: string } {
    return { ...this.store.defaultAccount };
  }

  /**
   * Adds a zone while running, as someone adding the domain in a dashboard would: give another
   * `account` and `status: 'pending'` for the copy a second account makes of a live zone.
   */
  addZone(zone: ZoneOptions): SimZone {
    return simZone(this.store.addZone(zone));
  }

  /** Changes a zone's status (`pending` → `active`, `active` → `moved`, ...); GET /zones?status= follows. */
  setZoneStatus(zoneId: string, status: ZoneStatus): void {
    this.store.setStatus(zoneId, status);
  }

  /** What the token may do in this zone from now on (see ZonePermission). */
  setZonePermission(zoneId: string, permission: ZonePermission): void {
    const state = this.store.zone(zoneId);
    if (!state) throw new Error(`unknown zone ${zoneId}`);
    if (!['hidden', 'none', 'read', 'edit'].includes(permission)) throw new Error(`unknown zone permission ${permission}`);
    state.zone.permission = permission;
  }

  /** A copy of the records of one zone, or of every zone. */
  records(zoneId?: string): DnsRecordView[] {
    return this.store.records(zoneId);
  }

  /** Creates a record as if someone else had (validated, committed, but not in the request log). */
  addRecord(zoneId: string, rec: RecordInput): DnsRecordView {
    return this.store.apply(zoneId, (zone, ctx) => createRecord(zone, { ...rec }, ctx));
  }

  /** Deletes a record as if someone else had (committed, but not in the request log). */
  deleteRecord(zoneId: string, id: string): void {
    this.store.apply(zoneId, (zone) => deleteRecord(zone, id));
  }

  onCommit(cb: (c: Commit) => void): () => void {
    return this.store.onCommit(cb);
  }

  /** The next `count` (default 1) matching requests fail as described. */
  failNext(opts: FailNextOptions): void {
    this.faults.add(opts);
  }

  /** Failures queued by failNext and not yet served. */
  get pendingFaults(): number {
    return this.faults.remaining;
  }

  /** Drops the failures queued by failNext that were not served yet. */
  clearFaults(): void {
    this.faults.clear();
  }

  setLatency(ms: number): void {
    this.faults.latencyMs = ms;
  }

  resetRateLimit(): void {
    this.limiter.reset();
  }

  async stop(): Promise<void> {
    this.http.closeAllConnections();
    await Promise.all([
      new Promise<void>((resolve) => this.http.close(() => resolve())),
      this.dns?.stop(),
    ]);
  }
}

const simZone = (z: ZoneInfo): SimZone => ({
  id: z.id,
  name: z.name,
  status: z.status,
  account: { ...z.account },
  permission: z.permission,
});
