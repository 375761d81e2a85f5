/** How one zone's changes are sent: refused operations found and set aside, at a bounded cost in calls. */
import { describe, expect, it } from 'vitest';
import type { ApplyResult, DnsProvider } from '../../src/cloudflare/provider.js';
import { applyZone } from '../../src/controller/apply-zone.js';
import { EpictetusError } from '../../src/model/errors.js';
import type { Changes, RecordCreate } from '../../src/model/types.js';

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
});
