import type { DnsRecordView, ZonePermission, ZoneStatus } from './types.js';

export interface Account {
  id: string;
  name: string;
}

/** A zone's identity and settings; shared by a zone's drafts, so status and permission change in place. */
export interface ZoneInfo {
  readonly id: string;
  readonly name: string;
  readonly createdOn: string;
  readonly account: Account;
  status: ZoneStatus;
  /** when the zone last became active; null while it never was */
  activatedOn: string | null;
  permission: ZonePermission;
}

type Identity = Pick<DnsRecordView, 'name' | 'type' | 'content'>;

const identityKey = (r: Identity): string => `${r.type}\u0000${r.name}\u0000${r.content}`;
const nameTypeKey = (name: string, type: string): string => `${type}\u0000${name}`;

/**
 * The records of one zone. Records are never mutated in place (a change replaces the object).
 * A transaction writes in place and keeps what each write replaced, to put it back when the
 * transaction fails (a copy of the zone per batch cost O(records) per call: at 15,000 records
 * half of what the simulator spent on a batch of 200 creates).
 */
export class ZoneState {
  private readonly byId = new Map<string, DnsRecordView>();
  private readonly byIdentity = new Map<string, string>();
  private readonly byNameType = new Map<string, number>();
  /** While a transaction runs: each written id and the record it had before (undefined: none). */
  private journal: Array<[string, DnsRecordView | undefined]> | undefined;
  /** The records in their order before the transaction's first deletion (a listing's order), and the journal's length then. */
  private orderBefore: { readonly records: DnsRecordView[]; readonly at: number } | undefined;

  constructor(readonly zone: ZoneInfo) {}

  /** Runs `fn` on this zone; when it throws, every write it made is undone and the error goes on. */
  transaction<T>(fn: () => T): T {
    if (this.journal !== undefined) throw new Error('a transaction is already running on this zone');
    const journal: Array<[string, DnsRecordView | undefined]> = [];
    this.journal = journal;
    try {
      return fn();
    } catch (err) {
      this.journal = undefined;
      let undo = journal.length;
      const order = this.orderBefore;
      if (order !== undefined) {
        // A record put back would come last in listings: restore the zone as it was at the first
        // deletion, in order; then undo the writes before it (creates and edits only).
        this.byId.clear();
        this.byIdentity.clear();
        this.byNameType.clear();
        for (const r of order.records) this.set(r);
        undo = order.at;
      }
      for (let i = undo - 1; i >= 0; i--) {
        const [id, before] = journal[i]!;
        if (before === undefined) this.remove(id);
        else this.set(before);
      }
      throw err;
    } finally {
      this.journal = undefined;
      this.orderBefore = undefined;
    }
  }

  /** How many records of this type have this name. */
  countAt(name: string, type: string): number {
    return this.byNameType.get(nameTypeKey(name, type)) ?? 0;
  }

  private bump(r: DnsRecordView, by: 1 | -1): void {
    const key = nameTypeKey(r.name, r.type);
    const n = (this.byNameType.get(key) ?? 0) + by;
    if (n > 0) this.byNameType.set(key, n);
    else this.byNameType.delete(key);
  }

  get size(): number {
    return this.byId.size;
  }

  all(): DnsRecordView[] {
    return [...this.byId.values()];
  }

  get(id: string): DnsRecordView | undefined {
    return this.byId.get(id);
  }

  /** The id of the record with this name, type and content, if any. */
  identicalTo(r: Identity): string | undefined {
    return this.byIdentity.get(identityKey(r));
  }

  /** Inserts a record, or replaces the record with the same id. */
  set(record: DnsRecordView): void {
    const previous = this.byId.get(record.id);
    this.journal?.push([record.id, previous]);
    if (previous) {
      this.byIdentity.delete(identityKey(previous));
      this.bump(previous, -1);
    }
    this.byId.set(record.id, record);
    this.byIdentity.set(identityKey(record), record.id);
    this.bump(record, 1);
  }

  remove(id: string): DnsRecordView | undefined {
    const record = this.byId.get(id);
    if (!record) return undefined;
    if (this.journal !== undefined) {
      this.orderBefore ??= { records: [...this.byId.values()], at: this.journal.length };
      this.journal.push([id, record]);
    }
    this.byId.delete(id);
    this.byIdentity.delete(identityKey(record));
    this.bump(record, -1);
    return record;
  }
}
