import { copyRecord, newId, type Change, type OpContext } from './operations.js';
import type { Commit, DnsRecordView } from './types.js';
import type { ValidationLimits } from './validate.js';
import { ZoneState, type ZoneInfo } from './zone-state.js';

export interface StoreLimits {
  limits: ValidationLimits;
  maxRecordsPerZone: number;
}

/** All zones and their records, with transactional writes and a commit log. */
export class Store {
  readonly commits: Commit[] = [];
  private readonly zones = new Map<string, ZoneState>();
  private readonly listeners = new Set<(c: Commit) => void>();

  constructor(
    zones: Array<{ id?: string; name: string }>,
    private readonly config: StoreLimits,
  ) {
    const createdOn = new Date().toISOString();
    for (const z of zones) {
      const info: ZoneInfo = { id: z.id ?? newId(), name: z.name.toLowerCase().replace(/\.$/, ''), createdOn };
      this.zones.set(info.id, new ZoneState(info));
    }
  }

  zoneInfos(): ZoneInfo[] {
    return [...this.zones.values()].map((s) => s.zone);
  }

  zone(id: string): ZoneState | undefined {
    return this.zones.get(id);
  }

  zoneByName(name: string): ZoneState | undefined {
    const wanted = name.toLowerCase().replace(/\.$/, '');
    return [...this.zones.values()].find((s) => s.zone.name === wanted);
  }

  /** The zone a host name belongs to: the longest zone name it equals or ends with. */
  zoneForHost(host: string): ZoneState | undefined {
    let best: ZoneState | undefined;
    for (const s of this.zones.values()) {
      const n = s.zone.name;
      if ((host === n || host.endsWith(`.${n}`)) && n.length > (best?.zone.name.length ?? -1)) best = s;
    }
    return best;
  }

  /**
   * Applies one operation to the live zone. Operations validate everything before they mutate,
   * so a thrown error leaves the zone untouched; no draft copy is needed (zones can be large).
   */
  apply(zoneId: string, op: (zone: ZoneState, ctx: OpContext) => Change): DnsRecordView {
    const { at, ctx } = this.clock();
    const change = op(this.state(zoneId), ctx);
    this.publish({ at, kind: change.kind, zoneId, record: copyRecord(change.record) });
    return copyRecord(change.record);
  }

  /**
   * Runs several operations on a draft of the zone and commits the draft only if `fn` returns;
   * a thrown error discards it, so either every change happens or none does.
   */
  transact<T>(zoneId: string, fn: (draft: ZoneState, ctx: OpContext) => { value: T; changes: Change[] }): T {
    const { at, ctx } = this.clock();
    const draft = this.state(zoneId).clone();
    const { value, changes } = fn(draft, ctx);
    this.zones.set(zoneId, draft);
    for (const change of changes) this.publish({ at, kind: change.kind, zoneId, record: copyRecord(change.record) });
    return value;
  }

  onCommit(cb: (c: Commit) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  records(zoneId?: string): DnsRecordView[] {
    const states = zoneId === undefined ? [...this.zones.values()] : [this.zones.get(zoneId)];
    return states.flatMap((s) => s?.all() ?? []).map(copyRecord);
  }

  private state(zoneId: string): ZoneState {
    const zone = this.zones.get(zoneId);
    if (!zone) throw new Error(`unknown zone ${zoneId}`);
    return zone;
  }

  /** The commit time of a write, also stamped on the records it creates or modifies. */
  private clock(): { at: number; ctx: OpContext } {
    const at = Date.now();
    return { at, ctx: { now: new Date(at).toISOString(), ...this.config } };
  }

  private publish(commit: Commit): void {
    this.commits.push(commit);
    for (const cb of this.listeners) {
      try {
        cb(copyCommit(commit));
      } catch (err) {
        // A failing subscriber must not turn a committed change into an HTTP error.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}

const copyCommit = (c: Commit): Commit => ({ ...c, record: copyRecord(c.record) });
