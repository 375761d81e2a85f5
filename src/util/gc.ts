/**
 * A full garbage collection on request, for right after a burst of garbage (a periodic full sync
 * lists and plans every record of every zone): V8 otherwise keeps the pages that burst grew the
 * heap by, and at 5,000 nodes RSS stayed ~35 MiB higher for as long as the service ran
 * (bench/README.md). `gc` is taken from a throw-away context, so the service's own global object
 * never has it. The first time always (what start-up left behind), then only when the heap has
 * grown past twice what the last collection left, and by 16 MiB or more: a small cluster's heap
 * never does, and pays nothing.
 */
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** What one collection took and left, or undefined when none was worth it. */
export interface Collected { readonly ms: number; readonly liveBytes: number; readonly rssBytes: number }

/**
 * Heap grown past what the last collection left by less than this is not worth a collection
 * (~30 ms at 100 nodes: twice a minute, half the CPU the service otherwise spends at rest).
 */
const MIN_SLACK_BYTES = 16 * 1024 * 1024;

export function fullCollector(): (() => Collected | undefined) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    if (typeof gc !== 'function') return undefined;
    let live = 0; // heap in use after the last collection (0: none yet)
    return () => {
      const total = getHeapStatistics().total_heap_size;
      if (live > 0 && (total <= 2 * live || total - live < MIN_SLACK_BYTES)) return undefined;
      const t0 = performance.now();
      // 'last-resort' also hands the freed pages back to the OS; a plain gc() keeps them pooled.
      gc({ type: 'major', flavor: 'last-resort' });
      live = getHeapStatistics().used_heap_size;
      return { ms: Math.round(performance.now() - t0), liveBytes: live, rssBytes: process.memoryUsage.rss() };
    };
  } catch {
    return undefined;
  }
}
