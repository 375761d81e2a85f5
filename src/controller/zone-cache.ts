/**
 * The zones and their records as last read, kept up to date with each batch's answer. Zones are
 * read independently: one that cannot be read is reported and left out (its hostnames are then
 * written nowhere), never in the way of the others. A full sync re-reads the zones that can
 * hold a claimed hostname; the others (where only records left behind can be) are read at
 * start-up and then every `otherZonesEvery` full syncs, and not at all while the rate-limit
 * budget runs low.
 */
import type { DnsProvider } from '../cloudflare/provider.js';
import { errorCode, errorMessage } from '../model/errors.js';
import type { DnsRecord } from '../model/types.js';
import type { Zone } from '../reconcile/zones.js';
import { backoffDelay } from '../util/retry.js';

export interface ZoneReadStatus {
  readonly id: string;
  readonly name: string;
  readonly status: string;
  /** ok: its records are known; failed: the last read failed (see error); unread: not read yet. */
  readonly read: 'ok' | 'failed' | 'unread';
  readonly error?: string;
  readonly code?: string;
  readonly lastReadAt?: string;
}

export interface ZoneCacheOptions {
  /** Zone ids to manage; empty: every zone the token sees. */
  readonly zoneIds: readonly string[];
  /** Re-discover zones at every full sync (false when zone ids are pinned). */
  readonly rediscover: boolean;
  /** Zones that can hold no claimed hostname are read every this many full syncs. */
  readonly otherZonesEvery?: number;
  /** Below this many requests left in the rate-limit window, only what matters now is read. */
  readonly budgetReserve?: number;
  /** First delay before a failed zone is read again; it doubles with each failure in a row (with jitter). */
  readonly retryBaseDelayMs?: number;
}

function covers(zoneName: string, hostname: string): boolean {
  return hostname === zoneName || hostname.endsWith(`.${zoneName}`);
}

const sameRecord = (a: DnsRecord, b: DnsRecord): boolean => a.id === b.id && a.name === b.name && a.type === b.type
  && a.content === b.content && a.ttl === b.ttl && a.proxied === b.proxied && a.comment === b.comment;

/**
 * A listing with each record equal to one already known replaced by that one, and the known array
 * itself when nothing changed: a full sync then leaves no second copy of thousands of unchanged
 * records (~300 bytes a node), and what is cached per records array stays valid.
 */
export function keepUnchanged(before: DnsRecord[] | undefined, listed: DnsRecord[]): DnsRecord[] {
  if (before === undefined || before.length === 0) return listed;
  const known = new Map(before.map((r) => [r.id, r]));
  let same = listed.length === before.length;
  const out = listed.map((r, i) => {
    const k = known.get(r.id);
    if (k === undefined || !sameRecord(k, r)) {
      same = false;
      return r;
    }
    same &&= before[i] === k;
    return k;
  });
  return same ? before : out;
}

/** A failure this long after the previous one's back-off ended is not counted as in a row. */
const FAILURES_IN_A_ROW_MS = 10 * 60_000;

export class ZoneCache {
  private zones: Zone[] | undefined;
  private readonly records = new Map<string, DnsRecord[]>();
  /** Zones whose read or batch failed: each waits out its own back-off, never holding up the others. */
  private readonly failures = new Map<string, { message: string; code: string; count: number; retryAt: number; writing: boolean }>();
  private readonly readAt = new Map<string, { at: number; sync: number }>();
  private syncs = 0;
  private zonesError: { message: string; code: string } | undefined;

  constructor(private readonly provider: DnsProvider, private readonly opts: ZoneCacheOptions) {}

  /** Every zone known (any status). */
  known(): readonly Zone[] {
    return this.zones ?? [];
  }

  /** zone id -> records, for the zones whose records are known now. */
  current(): ReadonlyMap<string, readonly DnsRecord[]> {
    return this.records;
  }

  /** Forget what is known (a follower, or after a failure that may have left it stale). */
  invalidate(zoneId?: string): void {
    if (zoneId === undefined) this.records.clear();
    else this.records.delete(zoneId);
  }

  /**
   * Makes the records of the zones that matter known. `full`: re-read them (a full sync); else
   * read only those not known yet. Returns the ids of the zones read now. Throws only when no
   * zone list can be had at all.
   */
  async read(claimed: readonly string[], full: boolean, signal?: AbortSignal): Promise<Set<string>> {
    if (full) this.syncs++;
    const lowBudget = this.lowBudget();
    if (this.zones === undefined || (full && this.opts.rediscover && !lowBudget)) {
      try {
        this.zones = await this.provider.listZones(this.opts.zoneIds, signal);
        this.zonesError = undefined;
      } catch (err) {
        this.zonesError = { message: errorMessage(err), code: errorCode(err) };
        if (this.zones === undefined) throw err; // nothing to work with yet
      }
    }
    const relevant = (z: Zone) => claimed.some((h) => covers(z.name, h));
    const every = this.opts.otherZonesEvery ?? 10;
    const now = Date.now();
    const due = this.zones.filter((z) => {
      if ((this.failures.get(z.id)?.retryAt ?? 0) > now) return false; // still backing off
      const last = this.readAt.get(z.id);
      // Not known: a zone that matters, one never read, one whose failure's back-off is over, or its turn.
      if (!this.records.has(z.id)) return relevant(z) || last === undefined || this.failures.has(z.id) || (full && !lowBudget && this.syncs - last.sync >= every);
      if (!full) return false;
      return relevant(z) || (!lowBudget && (last === undefined || this.syncs - last.sync >= every));
    });
    const fresh = new Set<string>();
    for (const z of due) {
      if (signal?.aborted) break;
      try {
        this.records.set(z.id, keepUnchanged(this.records.get(z.id), await this.provider.listRecords(z.id, signal)));
        fresh.add(z.id);
        // A read mends a failed read; a failed batch is mended only by a batch that goes through
        // (a token that may read a zone but not edit it must not be retried ever faster).
        if (this.failures.get(z.id)?.writing !== true) this.failures.delete(z.id);
        this.readAt.set(z.id, { at: Date.now(), sync: this.syncs });
      } catch (err) {
        this.failed(z.id, err);
      }
    }
    // A zone no longer listed (deleted, or hidden from the token) is forgotten, its failure too.
    const listed = new Set(this.zones.map((z) => z.id));
    for (const id of [...this.records.keys()]) if (!listed.has(id)) this.records.delete(id);
    for (const id of [...this.failures.keys()]) if (!listed.has(id)) this.failures.delete(id);
    return fresh;
  }

  /** A batch's answer: what it created, updated and deleted. */
  applied(zoneId: string, created: readonly DnsRecord[], updated: readonly DnsRecord[], deletedIds: readonly string[]): void {
    if (this.failures.get(zoneId)?.writing === true) this.failures.delete(zoneId);
    const records = this.records.get(zoneId);
    if (records === undefined) return;
    const gone = new Set([...deletedIds, ...updated.map((r) => r.id)]);
    this.records.set(zoneId, [...records.filter((r) => !gone.has(r.id)), ...updated, ...created]);
  }

  /**
   * A zone's read or changes (`writing`) failed: forget its records (they may be stale) and back
   * off reading it, longer with each failure in a row.
   */
  failed(zoneId: string, err: unknown, writing = false): void {
    this.records.delete(zoneId);
    // Failures in a row lengthen the back-off; one long after the last starts afresh.
    const prev = this.failures.get(zoneId);
    const inARow = prev !== undefined && Date.now() - prev.retryAt < FAILURES_IN_A_ROW_MS;
    const count = (inARow ? prev.count : 0) + 1;
    const delay = Math.min(backoffDelay(count - 1, Math.max(this.opts.retryBaseDelayMs ?? 1_000, 100)), 5 * 60_000);
    this.failures.set(zoneId, { message: errorMessage(err), code: errorCode(err), count, retryAt: Date.now() + delay, writing: writing || (inARow && prev.writing) });
  }

  /** When the next failed zone may be read again (ms epoch), if any waits for it. */
  nextRetryAt(): number | undefined {
    // Zones waiting to be read again (a zone read since, whose batch failed before, waits for nothing).
    const listed = new Set(this.known().map((z) => z.id));
    const times = [...this.failures].filter(([id]) => listed.has(id) && !this.records.has(id)).map(([, f]) => f.retryAt);
    return times.length > 0 ? Math.min(...times) : undefined;
  }

  /** The A/AAAA contents of the records known (undefined when nothing is known, as on a follower). */
  publishedIps(): ReadonlySet<string> | undefined {
    if (this.records.size === 0) return undefined;
    const out = new Set<string>();
    for (const records of this.records.values()) for (const r of records) if (r.type === 'A' || r.type === 'AAAA') out.add(r.content);
    return out;
  }

  status(): { zones: ZoneReadStatus[]; listError: string | undefined } {
    return {
      listError: this.zonesError?.message,
      zones: this.known().map((z) => {
        const f = this.failures.get(z.id);
        const at = this.readAt.get(z.id)?.at;
        return {
          id: z.id, name: z.name, status: z.status ?? 'active',
          read: this.records.has(z.id) ? 'ok' : f ? 'failed' : 'unread',
          ...(f && !this.records.has(z.id) ? { error: f.message, code: f.code } : {}),
          ...(at ? { lastReadAt: new Date(at).toISOString() } : {}),
        };
      }),
    };
  }

  private lowBudget(): boolean {
    const b = this.provider.budget?.();
    return b !== undefined && b.remaining < (this.opts.budgetReserve ?? 100);
  }
}
