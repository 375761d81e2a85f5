/** Plain data shared by every layer. No behaviour lives here. */

export type RecordType = 'A' | 'AAAA';
export const RECORD_TYPES: readonly RecordType[] = ['A', 'AAAA'];

export type ReadyStatus = 'True' | 'False' | 'Unknown';

/** What the controller keeps of a Node: never the whole object. */
export interface NodeSnapshot {
  readonly name: string;
  readonly ipv4: readonly string[];
  readonly ipv6: readonly string[];
  /** Taint keys, sorted and de-duplicated (effect and value do not matter to any rule). */
  readonly taints: readonly string[];
  readonly ready: ReadyStatus;
  readonly unschedulable: boolean;
  /** Only the labels some rule looks at. */
  readonly labels: Readonly<Record<string, string>>;
}

/** A hostname the controller is responsible for, with the record settings it wants. */
export interface HostnameSpec {
  readonly name: string;
  readonly ttl: number;
  readonly proxied: boolean;
}

/** A DNS record as the provider reports it. */
export interface DnsRecord {
  readonly id: string;
  readonly name: string;
  readonly type: string;
  readonly content: string;
  readonly ttl: number;
  readonly proxied: boolean;
  readonly comment: string | null;
}

/** A record to create. */
export interface RecordCreate {
  readonly name: string;
  readonly type: RecordType;
  readonly content: string;
  readonly ttl: number;
  readonly proxied: boolean;
  readonly comment: string;
  readonly node: string | null;
  readonly reason: string;
}

/** A change to an existing record: adoption (comment) and/or settings. */
export interface RecordUpdate {
  readonly record: DnsRecord;
  readonly comment: string;
  readonly ttl: number;
  readonly proxied: boolean;
  readonly node: string | null;
  readonly reason: string;
}

export interface RecordDelete {
  readonly record: DnsRecord;
  readonly node: string | null;
  readonly reason: string;
}

export interface Changes {
  readonly creates: readonly RecordCreate[];
  readonly updates: readonly RecordUpdate[];
  readonly deletes: readonly RecordDelete[];
}

export function hasChanges(c: Changes): boolean {
  return c.creates.length + c.updates.length + c.deletes.length > 0;
}
