import { copyRecord, newId, type Change, type OpContext } from './operations.js';
import type { Commit, DnsRecordView, ZoneOptions, ZoneStatus } from './types.js';
import type { ValidationLimits } from './validate.js';
import { ZoneState, type Account, type ZoneInfo } from './zone-state.js';

export interface StoreLimits {
  limits: ValidationLimits;
  maxRecordsPerZone: number;
}

const ZONE_STATUSES: readonly ZoneStatus[] = ['initializing', 'pending', 'active', 'moved', 'deactivated'];
const canonical = (name: string): string => name.toLowerCase().replace(/\.$/, '');

/** All zones and their records, with transactional writes and a commit log. */
export class Store {
  readonly commits: Commit[] = [];
  private readonly zones = new Map<string, ZoneState>();
  private readonly accounts = new Map<string, Account>();
  private readonly listeners = new Set<(c: Commit) => void>();

  constructor(
    zones: ZoneOptions[],
    private readonly config: StoreLimits,
    readonly defaultAccount: Account,
  ) {
    this.accounts.set(defaultAccount.id, defaultAccount);
    for (const z of zones) this.addZone(z);
  }

  /**
   * Adds a zone, as someone adding a domain in the dashboard would. The same name may exist in
   * several accounts (a second account's copy stays `pending`), never twice in one account.
   */
  addZone(opts: ZoneOptions): ZoneInfo {
    const name = canonical(opts.name);
    const id = opts.id ?? newId();
    if (this.zones.has(id)) throw new Error(`the simulator already has a zone with id ${id}`);
    const accountId = opts.account ?? this.defaultAccount.id;
    let account = this.accounts.get(accountId);
    if (!account) {
      account = { id: accountId, name: `Simulated account ${accountId.slice(0, 8)}` };
      this.accounts.set(accountId, account);
    }
    if (this.zoneInfos().some((z) => z.name === name && z.account.id === accountId)) {
      throw new Error(`account ${accountId} already has a zone ${name}`);
    }
    const status = opts.status ?? 'active';
    assertStatus(status);
    const createdOn = new Date().toISOString();
    const info: ZoneInfo = {
      id, name, createdOn, account, status, activatedOn: status === 'active' ? createdOn : null, permission: opts.permission ?? 'edit',
    };
    this.zones.set(id, new ZoneState(info));
    return info;
  }

  setStatus(zoneId: string, status: ZoneStatus): void {
    assertStatus(status);
    const info = this.state(zoneId).zone;
    if (status === 'active' && info.status !== 'active') info.activatedOn = new Date().toISOString();
    info.status = status;
  }

  zoneInfos(): ZoneInfo[] {
    return [...this.zones.values()].map((s) => s.zone);
  }

  zone(id: string): ZoneState | undefined {
    return this.zones.get(id);
  }

  /** The zone with this name: the active one when several accounts hold it, else the first added. */
  zoneByName(name: string): ZoneState | undefined {
    const wanted = canonical(name);
    const all = [...this.zones.values()].filter((s) => s.zone.name === wanted);
    return all.find((s) => s.zone.status === 'active') ?? all[0];
  }

  /** The active zone a host name belongs to: the longest zone name it equals or ends with. */
  zoneForHost(host: string): ZoneState | undefined {
    let best: ZoneState | undefined;
    for (const s of this.zones.values()) {
      if (s.zone.status !== 'active') continue;
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
   * Runs several operations on the zone as one transaction: a thrown error undoes every write
   * `fn` made, so either every change happens or none does.
   */
  transact<T>(zoneId: string, fn: (draft: ZoneState, ctx: OpContext) => { value: T; changes: Change[] }): T {
    const { at, ctx } = this.clock();
    const state = this.state(zoneId);
    const { value, changes } = state.transaction(() => fn(state, ctx));
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

function assertStatus(status: string): asserts status is ZoneStatus {
  if (!(ZONE_STATUSES as readonly string[]).includes(status)) {
    throw new Error(`unknown zone status ${status}: one of ${ZONE_STATUSES.join(', ')}`);
  }
}
