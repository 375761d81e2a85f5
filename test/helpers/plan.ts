import type { DnsRecord } from '../../src/model/types.js';
import { plan, type PlanInput } from '../../src/reconcile/plan.js';
import type { Zone } from '../../src/reconcile/zones.js';

export const ZONE: Zone = { id: 'z1', name: 'example.com', status: 'active' };

/** One zone's plan, flattened: what the tests of a single zone look at. */
export function planOne(input: Omit<PlanInput, 'zones' | 'records'> & { current: readonly DnsRecord[] }) {
  const { current, ...rest } = input;
  const p = plan({ ...rest, zones: [ZONE], records: new Map([[ZONE.id, current]]) });
  const z = p.zones[0] ?? { creates: [], updates: [], deletes: [] };
  return { ...p, creates: z.creates, updates: z.updates, deletes: z.deletes };
}
