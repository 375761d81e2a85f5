import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { fullCollector } from '../../src/util/gc.js';

/** What `--expose-gc` gives a process (the service's re-executed image has it), in this test worker. */
function exposeGc(): void {
  setFlagsFromString('--expose-gc');
  Object.defineProperty(globalThis, 'gc', { value: runInNewContext('gc'), writable: true, enumerable: true, configurable: false });
}

describe('the collector run after a full sync', () => {
  it('collects the first time, then after a sync of thousands of records once the resident size has grown by 16 MiB, and only then', () => {
    exposeGc();
    const collect = fullCollector();
    expect(collect).toBeTypeOf('function');
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined(); // taken off the global object
    const first = collect?.(300); // what start-up left: always
    expect(first?.liveBytes).toBeGreaterThan(0);
    expect(collect?.(15_000)).toBeUndefined(); // nothing has grown since
    expect(collect?.(300)).toBeUndefined();
    let garbage: unknown[] | undefined = [];
    while (process.memoryUsage.rss() - (first?.rssBytes ?? 0) < 24 * 2 ** 20) {
      garbage.push(JSON.parse(JSON.stringify(Array.from({ length: 10_000 }, (_, i) => ({ i, s: `x${i}` })))));
    }
    garbage = undefined;
    expect(collect?.(300)).toBeUndefined(); // a small zone's sync: never after the first
    const second = collect?.(15_000);
    expect(second).toBeDefined();
    expect(second?.rssBytes).toBeLessThan(process.memoryUsage.rss() + 2 ** 20);
    expect(garbage).toBeUndefined();
  });

  it('is off where the process has no gc to give', () => {
    (globalThis as { gc?: unknown }).gc = undefined;
    expect(fullCollector()).toBeUndefined();
  });
});
