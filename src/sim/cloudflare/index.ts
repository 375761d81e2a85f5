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
} from './types.js';

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
    const store = new Store(opts.zones ?? [], {
      limits: { commentMaxLength: opts.commentMaxLength ?? DEFAULTS.commentMaxLength },
      maxRecordsPerZone: opts.maxRecordsPerZone ?? DEFAULTS.maxRecordsPerZone,
    });
    const faults = new Faults();
    const limiter = new RateLimiter(opts.rateLimit ?? DEFAULTS.rateLimit);
    const accountId = newId();
    const api = new Api(store, limiter, {
      token: opts.token,
      tokenId: newId(),
      account: { id: accountId, name: 'Simulated account' },
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

  zone(name: string): { id: string; name: string } {
    const zone = this.store.zoneByName(name);
    if (!zone) throw new Error(`the simulator has no zone ${name}`);
    return { id: zone.zone.id, name: zone.zone.name };
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
