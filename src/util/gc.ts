/**
 * A full garbage collection on request, for right after a burst of garbage (a periodic full sync
 * lists and plans every record of every zone): V8 otherwise keeps the pages that burst grew the
 * heap by, and at 5,000 nodes RSS stayed ~35 MiB higher for as long as the service ran
 * (bench/README.md). `gc` comes from `--expose-gc`, which `run` gives itself when it re-executes
 * (src/main.ts), and is taken off the global object (set to undefined) at once. The first time always (what
 * start-up left behind); later only after a full sync of thousands of records that grew the
 * resident size by 16 MiB or more: a small cluster pays nothing. (Turning `--expose-gc` on at
 * run time with v8.setFlagsFromString instead nearly doubled the CPU the service spends at rest.)
 */
import { getHeapStatistics } from 'node:v8';

/** What one collection took and left, or undefined when none was worth it. */
export interface Collected { readonly ms: number; readonly liveBytes: number; readonly rssBytes: number }

/**
 * Below this many records a full sync's garbage is a few MB, and a collection costs more than it
 * gives: V8 drops compiled code in it, compiled again at the next sync (at 100 nodes, one after
 * every full sync took the CPU spent at rest from 0.10 to 0.17-0.19 s per 2 minutes).
 */
const MIN_RECORDS = 2_000;
/** Resident memory grown by less than this since the last collection is left alone (a full sync at 5,000 nodes adds 25-35 MiB). */
const MIN_GROWTH_BYTES = 16 * 1024 * 1024;

export function fullCollector(): ((recordsRead: number) => Collected | undefined) | undefined {
  try {
    const g = globalThis as { gc?: unknown };
    const gc = g.gc;
    g.gc = undefined; // V8 makes it non-configurable, but writable
    if (typeof gc !== 'function') return undefined;
    let rssAfter = 0; // resident size right after the last collection (0: none yet)
    return (recordsRead) => {
      // The first time always: what start-up left behind (module loading, the first lists).
      if (rssAfter > 0 && (recordsRead < MIN_RECORDS || process.memoryUsage.rss() - rssAfter < MIN_GROWTH_BYTES)) return undefined;
      const t0 = performance.now();
      // 'last-resort' also hands the freed pages back to the OS; a plain gc() keeps them pooled.
      gc({ type: 'major', flavor: 'last-resort' });
      rssAfter = process.memoryUsage.rss();
      return { ms: Math.round(performance.now() - t0), liveBytes: getHeapStatistics().used_heap_size, rssBytes: rssAfter };
    };
  } catch {
    return undefined;
  }
}
