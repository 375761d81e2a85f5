import { getHeapStatistics } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { fullCollector } from '../../src/util/gc.js';

describe('the collector run after a full sync', () => {
  it('collects the first time, then once the heap has grown past twice what the last collection left and by 16 MiB, and only then', () => {
    const collect = fullCollector();
    expect(collect).toBeTypeOf('function');
    const first = collect?.(); // nothing collected yet: the first call always collects
    expect(first?.liveBytes).toBeGreaterThan(0);
    expect(collect?.()).toBeUndefined(); // the heap has not grown since
    let garbage: unknown[] | undefined = [];
    while (getHeapStatistics().total_heap_size <= Math.max(2 * (first?.liveBytes ?? 0), (first?.liveBytes ?? 0) + 16 * 2 ** 20) + 8 * 2 ** 20) {
      garbage.push(JSON.parse(JSON.stringify(Array.from({ length: 10_000 }, (_, i) => ({ i, s: `x${i}` })))));
    }
    garbage = undefined;
    const second = collect?.();
    expect(second).toBeDefined();
    expect(second?.liveBytes).toBeLessThan(getHeapStatistics().total_heap_size);
    expect(garbage).toBeUndefined();
  });
});
