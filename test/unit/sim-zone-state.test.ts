import { describe, expect, it } from 'vitest';
import type { DnsRecordView } from '../../src/sim/cloudflare/types.js';
import { ZoneState } from '../../src/sim/cloudflare/zone-state.js';

const rec = (id: string, content: string): DnsRecordView => ({ id, name: 'app.example.com', type: 'A', content } as DnsRecordView);

describe("the Cloudflare simulator's zone transactions", () => {
  it('undo every write of a failed transaction: records, indexes and listing order as before', () => {
    const zone = new ZoneState({ id: 'z', name: 'example.com', createdOn: '', account: { id: 'a', name: 'a' }, status: 'active', activatedOn: null, permission: 'edit' });
    for (const r of [rec('a', '192.0.2.1'), rec('b', '192.0.2.2'), rec('c', '192.0.2.3')]) zone.set(r);
    expect(() => zone.transaction(() => {
      zone.set(rec('d', '192.0.2.4')); // a create
      zone.set(rec('b', '192.0.2.22')); // an edit
      zone.remove('a');
      zone.remove('d');
      throw new Error('refused');
    })).toThrow('refused');
    expect(zone.all().map((r) => `${r.id} ${r.content}`)).toEqual(['a 192.0.2.1', 'b 192.0.2.2', 'c 192.0.2.3']);
    expect(['192.0.2.1', '192.0.2.2', '192.0.2.22', '192.0.2.4'].map((content) => zone.identicalTo({ name: 'app.example.com', type: 'A', content })))
      .toEqual(['a', 'b', undefined, undefined]);
    expect(zone.countAt('app.example.com', 'A')).toBe(3);
    // A transaction that returns keeps its writes.
    zone.transaction(() => { zone.remove('c'); zone.set(rec('e', '192.0.2.5')); });
    expect(zone.all().map((r) => r.id)).toEqual(['a', 'b', 'e']);
  });
});
