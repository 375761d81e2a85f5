import type { ApplyResult, DnsProvider } from '../../src/cloudflare/provider.js';
import { EpictetusError } from '../../src/model/errors.js';
import type { Changes, DnsRecord } from '../../src/model/types.js';

/** An in-memory DnsProvider for controller unit tests (the simulator covers the real API). */
export class FakeProvider implements DnsProvider {
  records: DnsRecord[] = [];
  lists = 0;
  applies: Changes[] = [];
  failNext: EpictetusError[] = [];
  private nextId = 1;

  zones = [{ id: 'z', name: 'example.com' }];

  async listZones(): Promise<Array<{ id: string; name: string }>> {
    return this.zones;
  }

  async listRecords(): Promise<DnsRecord[]> {
    this.lists++;
    const f = this.failNext.shift();
    if (f) throw f;
    return this.records.map((r) => ({ ...r }));
  }

  async apply(_zone: string, changes: Changes): Promise<ApplyResult> {
    const f = this.failNext.shift();
    if (f) throw f;
    for (const d of changes.deletes) {
      if (!this.records.some((r) => r.id === d.record.id)) throw new EpictetusError('EPI_CF_NOT_FOUND', '81044: Record does not exist.', { status: 404 });
    }
    for (const c of changes.creates) {
      if (this.records.some((r) => r.name === c.name && r.type === c.type && r.content === c.content)) {
        throw new EpictetusError('EPI_CF_REJECTED', '81058: An identical record already exists.', { status: 400 });
      }
    }
    this.applies.push(changes);
    const deleted = new Set(changes.deletes.map((d) => d.record.id));
    const updated = changes.updates.map((u) => ({ ...u.record, ttl: u.ttl, proxied: u.proxied, comment: u.comment }));
    const created = changes.creates.map((c) => ({
      id: `id${this.nextId++}`, name: c.name, type: c.type, content: c.content, ttl: c.ttl, proxied: c.proxied, comment: c.comment,
    }));
    const touched = new Set(updated.map((u) => u.id));
    this.records = [...this.records.filter((r) => !deleted.has(r.id) && !touched.has(r.id)), ...updated, ...created];
    return { created, updated, deletedIds: [...deleted], calls: 1 };
  }

  async verifyToken(): Promise<void> {}

  contents(name: string): string[] {
    return this.records.filter((r) => r.name === name).map((r) => r.content).sort();
  }
}
