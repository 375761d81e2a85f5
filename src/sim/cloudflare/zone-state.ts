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
 * The records of one zone. Records are never mutated in place (a change replaces the
 * object), so `clone()` is a cheap copy of three maps and serves as a transaction draft.
 */
export class ZoneState {
  constructor(
    readonly zone: ZoneInfo,
    private readonly byId = new Map<string, DnsRecordView>(),
    private readonly byIdentity = new Map<string, string>(),
    private readonly byNameType = new Map<string, number>(),
  ) {}

  clone(): ZoneState {
    return new ZoneState(this.zone, new Map(this.byId), new Map(this.byIdentity), new Map(this.byNameType));
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
    this.byId.delete(id);
    this.byIdentity.delete(identityKey(record));
    this.bump(record, -1);
    return record;
  }
}
