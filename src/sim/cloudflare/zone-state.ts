import type { DnsRecordView } from './types.js';

export interface ZoneInfo {
  id: string;
  name: string;
  createdOn: string;
}

type Identity = Pick<DnsRecordView, 'name' | 'type' | 'content'>;

const identityKey = (r: Identity): string => `${r.type}\u0000${r.name}\u0000${r.content}`;

/**
 * The records of one zone. Records are never mutated in place (a change replaces the
 * object), so `clone()` is a cheap copy of two maps and serves as a transaction draft.
 */
export class ZoneState {
  constructor(
    readonly zone: ZoneInfo,
    private readonly byId = new Map<string, DnsRecordView>(),
    private readonly byIdentity = new Map<string, string>(),
  ) {}

  clone(): ZoneState {
    return new ZoneState(this.zone, new Map(this.byId), new Map(this.byIdentity));
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
    if (previous) this.byIdentity.delete(identityKey(previous));
    this.byId.set(record.id, record);
    this.byIdentity.set(identityKey(record), record.id);
  }

  remove(id: string): DnsRecordView | undefined {
    const record = this.byId.get(id);
    if (!record) return undefined;
    this.byId.delete(id);
    this.byIdentity.delete(identityKey(record));
    return record;
  }
}
