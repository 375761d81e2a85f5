/** How one zone's changes are sent: refused operations found and set aside, at a bounded cost in calls. */
import { describe, expect, it } from 'vitest';
import type { ApplyResult, DnsProvider } from '../../src/cloudflare/provider.js';
import { applyZone, BATCHES_IN_FLIGHT } from '../../src/controller/apply-zone.js';
import { EpictetusError } from '../../src/model/errors.js';
import type { Changes, DnsRecord, RecordCreate, RecordDelete } from '../../src/model/types.js';

/** Refuses, as Cloudflare does, every batch with an A/AAAA create at a name that has a CNAME. */
class CnameProvider implements DnsProvider {
  calls = 0;
  created: string[] = [];
  constructor(private readonly cname: string) {}
  async listZones() { return []; }
  async listRecords() { return []; }
  async verifyToken() {}
  budget() { return undefined; }
  async apply(_zoneId: string, changes: Changes): Promise<ApplyResult> {
    this.calls++;
    if (changes.creates.some((c) => c.name === this.cname)) {
      throw new EpictetusError('EPI_CF_REJECTED', 'Cloudflare batch: HTTP 400 (81054: A CNAME record with that host already exists.)', { status: 400, apiCodes: [81054] });
    }
    const created = changes.creates.map((c, i) => ({ ...c, id: `${this.calls}-${i}` }));
    this.created.push(...changes.creates.map((c) => `${c.name} ${c.content}`));
    return { created, updated: [], deletedIds: changes.deletes.map((d) => d.record.id), calls: 1 };
  }
}

const create = (name: string, i: number): RecordCreate => ({
  name, type: 'A', content: `198.18.0.${i}`, ttl: 1, proxied: false, comment: 'epictetus:owner=default', node: `n${i}`, reason: 'node-eligible',
});

describe('applying a zone', () => {
  // Found by the chaos soak's busy-loop judge (30-minute run, seed 20261205): a CNAME made at a
  // claimed name refused its 17 creates, each found by halving on its own: 169 calls in 10 s.
  it('a CNAME at a name: its creates are set aside after one is refused, the others go through, in a few calls', async () => {
    const p = new CnameProvider('www.example.com');
    const creates = [...Array.from({ length: 30 }, (_, i) => create('www.example.com', i + 1)), ...Array.from({ length: 30 }, (_, i) => create('api.example.com', i + 1))];
    const r = await applyZone(p, { zone: { id: 'z', name: 'example.com', status: 'active' }, creates, updates: [], deletes: [] }, {});
    expect(r.refused.size).toBe(30);
    expect([...r.refused.keys()].every((k) => k.includes(' www.example.com '))).toBe(true);
    expect([...r.refused.values()][0]).toMatchObject({ code: 'EPI_CF_REJECTED', apiCodes: [81054] });
    expect(p.created).toHaveLength(30);
    expect(p.created.every((c) => c.startsWith('api.example.com '))).toBe(true);
    expect(p.calls).toBeLessThanOrEqual(10);
    expect(r.calls).toBe(p.calls);
  });

  it('sends batches of creates two at a time, and deletions only once every create is committed', async () => {
    const log: string[] = [];
    let inFlight = 0;
    let most = 0;
    const p: DnsProvider = {
      listZones: async () => [], listRecords: async () => [], verifyToken: async () => undefined,
      async apply(_zoneId, changes) {
        inFlight++;
        most = Math.max(most, inFlight);
        log.push(`start ${changes.creates.length}c ${changes.deletes.length}d`);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        log.push(`end ${changes.creates.length}c ${changes.deletes.length}d`);
        return { created: changes.creates.map((c, i) => ({ ...c, id: `${log.length}-${i}` })), updated: [], deletedIds: changes.deletes.map((d) => d.record.id), calls: 1 };
      },
    };
    const creates = Array.from({ length: 45 }, (_, i) => create('app.example.com', i + 1));
    const record = (i: number): DnsRecord => ({ id: `old${i}`, name: 'app.example.com', type: 'A', content: `198.19.0.${i}`, ttl: 1, proxied: false, comment: 'epictetus:owner=default' });
    const deletes: RecordDelete[] = Array.from({ length: 12 }, (_, i) => ({ record: record(i), node: null, reason: 'node-deleted' }));
    const r = await applyZone(p, { zone: { id: 'z', name: 'example.com', status: 'active' }, creates, updates: [], deletes }, { batchLimit: 10 });
    expect(most).toBe(BATCHES_IN_FLIGHT);
    expect(r.calls).toBe(6); // 45 creates and 12 deletions in batches of 10: 4 of creates, then 5c+5d, then 7d
    const firstDelete = log.findIndex((l) => l.startsWith('start') && !l.endsWith(' 0d'));
    expect(log.slice(0, firstDelete).filter((l) => l.startsWith('end'))).toHaveLength(4); // every create-only batch ended before
    expect(log.slice(firstDelete)).toEqual(['start 5c 5d', 'end 5c 5d', 'start 0c 7d', 'end 0c 7d']);
    expect(r.committed.creates).toHaveLength(45);
    expect(r.committed.deletes).toHaveLength(12);
  });

  it('a batch that fails while another is in flight: the other is waited for and counted, no new one starts, the error goes on', async () => {
    let calls = 0;
    const p: DnsProvider = {
      listZones: async () => [], listRecords: async () => [], verifyToken: async () => undefined,
      async apply(_zoneId, changes) {
        const n = ++calls;
        await new Promise((r) => setTimeout(r, n === 1 ? 1 : 10));
        if (n === 1) throw new EpictetusError('EPI_CF_SERVER', 'HTTP 500', { retryable: true, status: 500 });
        return { created: changes.creates.map((c, i) => ({ ...c, id: `${n}-${i}` })), updated: [], deletedIds: [], calls: 1 };
      },
    };
    const committed: number[] = [];
    const creates = Array.from({ length: 40 }, (_, i) => create('app.example.com', i + 1));
    await expect(applyZone(p, { zone: { id: 'z', name: 'example.com', status: 'active' }, creates, updates: [], deletes: [] }, {
      batchLimit: 10, onCommitted: (res) => committed.push(res.created.length),
    })).rejects.toThrow('HTTP 500');
    expect(calls).toBe(2);
    expect(committed).toEqual([10]);
  });
});
