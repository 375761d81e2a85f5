import { describe, expect, it } from 'vitest';
import { HoldManager } from '../../src/controller/holds.js';
import { createLogger } from '../../src/log/logger.js';
import type { NodeSnapshot, RecordDelete } from '../../src/model/types.js';
import { node, rec } from '../helpers/snapshots.js';

const KEY = 'delay-deletion.cluster-autoscaler.kubernetes.io/epictetus';
const CA = ['DeletionCandidateOfClusterAutoscaler', 'ToBeDeletedByClusterAutoscaler'];
const T0 = Date.parse('2026-01-01T00:00:00Z');

/** By default a cap high enough for 2 × 60 s + 10 s, as with --node-deletion-delay-timeout=140s. */
function setup(opts: { marginMs?: number; maxMs?: number } = {}) {
  const patches: Array<[string, string | null]> = [];
  const lines: string[] = [];
  const log = createLogger({ level: 'info', format: 'json', secrets: () => [], fd: 1 });
  const quiet = Object.assign(Object.create(log) as typeof log, { info: (...a: unknown[]) => lines.push(String(a[1])), warn: (...a: unknown[]) => lines.push(String(a[1])) });
  const ended: string[] = [];
  const holds = new HoldManager({ setAnnotation: async (n, k, v) => { expect(k).toBe(KEY); patches.push([n, v]); } },
    { annotation: KEY, marginMs: opts.marginMs ?? 10_000, maxMs: opts.maxMs ?? 130_000, policy: { caTaintMode: 'both' }, assumedTtlS: () => 60 },
    quiet, { ended: (n, ms, why) => ended.push(`${n} ${ms} ${why}`) });
  return { holds, patches, lines, ended };
}

const retiring = (hold?: string) => node('n1', { ipv4: ['1.1.1.1'], taints: CA, ...(hold ? { hold } : {}) });
const removal = (ttl: number, reason = 'both-ca-taints'): RecordDelete[] => [{ record: rec('app.example.com', '1.1.1.1', null, { ttl }), node: 'n1', reason }];
const gone = () => false;

describe('holding a retiring node', () => {
  it('places the annotation only after the records are gone, valued with when they went', async () => {
    const { holds, patches } = setup();
    await holds.sync([retiring()], gone, true, T0);
    expect(patches).toEqual([]); // nothing removed yet: nothing to hold
    holds.recordsRemoved(removal(60), T0);
    await holds.sync([retiring()], () => true, true, T0); // records still published (floor): no hold
    expect(patches).toEqual([]);
    holds.recordsRemoved(removal(60), T0);
    const next = await holds.sync([retiring()], gone, true, T0 + 5);
    expect(patches).toEqual([['n1', new Date(T0).toISOString()]]);
    expect(next).toBe(T0 + 130_000);
  });

  it('releases after twice the TTL + margin, at once when the scale-down is cancelled, or the records are back', async () => {
    const { holds, patches, ended } = setup();
    const since = new Date(T0).toISOString();
    holds.recordsRemoved(removal(60), T0);
    await holds.sync([retiring(since)], gone, true, T0 + 129_000);
    expect(patches).toEqual([]);
    await holds.sync([retiring(since)], gone, true, T0 + 130_000);
    expect(patches).toEqual([['n1', null]]);
    expect(ended).toEqual([`n1 130000 the records' TTL has passed`]);

    const cancelled = node('n1', { ipv4: ['1.1.1.1'], taints: [CA[0]!], hold: since });
    await holds.sync([cancelled], gone, true, T0 + 1000);
    expect(ended.at(-1)).toContain('the scale-down was cancelled');
    await holds.sync([retiring(since)], () => true, true, T0 + 1000);
    expect(ended.at(-1)).toContain('its records could not be removed');
  });

  it('holds twice the TTL plus the margin, caps it, and says which autoscaler flag to raise', async () => {
    const { holds, lines } = setup({ maxMs: 110_000 });
    expect(holds.holdMs(1)).toBe(110_000); // automatic TTL is 300 s: 610 s wanted
    expect(holds.holdMs(60)).toBe(110_000); // 130 s wanted
    expect(lines.find((l) => l.includes('(130 s)'))).toContain('--node-deletion-delay-timeout to at least 140s and HOLD_MAX_SECONDS to 130');
    const { holds: raised } = setup({ maxMs: 130_000 });
    expect(raised.holdMs(60)).toBe(130_000);
    expect(raised.holdMs(30)).toBe(70_000);
  });

  it('finishes a hold it finds after a restart, by the annotation alone', async () => {
    const { holds, patches } = setup();
    const found = retiring(new Date(T0).toISOString());
    await holds.sync([found], gone, true, T0 + 60_000);
    expect(patches).toEqual([]); // 60 s TTL assumed: 2 × 60 s + 10 s: not yet
    await holds.sync([found], gone, true, T0 + 130_001);
    expect(patches).toEqual([['n1', null]]);
    const garbage = node('n1', { ipv4: ['1.1.1.1'], taints: CA, hold: 'not a time' });
    await holds.sync([garbage], gone, true, T0);
    expect(patches.at(-1)).toEqual(['n1', null]);
  });

  it('writes nothing while not leading, and places the hold once leading', async () => {
    const { holds, patches } = setup();
    holds.recordsRemoved(removal(60), T0);
    await holds.sync([retiring()], gone, false, T0);
    expect(patches).toEqual([]);
    await holds.sync([retiring()], gone, true, T0 + 1000);
    expect(patches).toEqual([['n1', new Date(T0).toISOString()]]);
  });

  it('never holds for other reasons, and forgets nodes that were deleted', async () => {
    const { holds, patches } = setup();
    holds.recordsRemoved(removal(60, 'not-ready'), T0);
    await holds.sync([node('n1', { ipv4: ['1.1.1.1'], ready: 'False', taints: CA })], gone, true, T0);
    expect(patches).toEqual([]);
    holds.recordsRemoved(removal(60), T0);
    await holds.sync([] as NodeSnapshot[], gone, true, T0); // n1 deleted before its hold
    await holds.sync([retiring()], gone, true, T0 + 1000); // a new node of the same name is not held
    expect(patches).toEqual([]);
  });
});
