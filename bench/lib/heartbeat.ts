/**
 * Kubelet heartbeats at a steady rate: each one moves only the conditions' lastHeartbeatTime
 * (`touchHeartbeat`), a real write and a MODIFIED watch event in which nothing that matters
 * changed. Nodes take turns, so at `perSecond` = nodes / 10 every node beats every 10 s.
 */
import { performance } from 'node:perf_hooks';
import type { KubeSim } from '../../src/sim/kube/index.js';
import { touchHeartbeat } from '../../src/sim/kube/index.js';
import { sleep } from './progress.js';
import { nodeName } from './world.js';

export interface HeartbeatRun {
  readonly events: number;
  readonly seconds: number;
  readonly perSecond: number;
  /** The most the driver ever fell behind its schedule (this process is busy too). */
  readonly maxLagMs: number;
}

export async function heartbeats(
  kube: KubeSim,
  nodes: number,
  perSecond: number,
  durationMs: number,
  /** Called about every `everyMs` with the time elapsed; the driver waits for it. */
  tick?: { everyMs: number; fn: (elapsedMs: number) => Promise<void> | void },
): Promise<HeartbeatRun> {
  const start = performance.now();
  let done = 0;
  let next = 1;
  let maxLag = 0;
  let nextTick = tick ? tick.everyMs : Infinity;
  for (;;) {
    const elapsed = performance.now() - start;
    if (elapsed >= durationMs) break;
    const due = Math.floor((elapsed / 1000) * perSecond);
    maxLag = Math.max(maxLag, ((due - done) / perSecond) * 1000);
    // At most 50 ms worth at a time, so the simulator's sockets get their turn.
    const until = Math.min(due, done + Math.max(1, Math.ceil(perSecond / 20)));
    while (done < until) {
      touchHeartbeat(kube, nodeName(next));
      next = (next % nodes) + 1;
      done++;
    }
    if (tick && elapsed >= nextTick) {
      nextTick += tick.everyMs;
      await tick.fn(elapsed);
    }
    await sleep(done < due ? 0 : 10);
  }
  const seconds = (performance.now() - start) / 1000;
  return { events: done, seconds, perSecond: done / seconds, maxLagMs: maxLag };
}
