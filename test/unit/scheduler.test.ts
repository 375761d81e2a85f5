/** When the loop runs: the delays asked for hold, also when asked while a job runs. */
import { describe, expect, it } from 'vitest';
import { Scheduler, type Job } from '../../src/controller/scheduler.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('scheduler', () => {
  // Found by the 30-minute chaos soak (seed 20261202): a reconcile that ends with a failed zone
  // asks for the next one after that zone's back-off. Asked while the job still ran, the delay was
  // dropped and the next job ran at once: about 740 reconciles a second until the back-off ended.
  it('a run asked for while a job runs, with a delay, waits that delay', async () => {
    const runs: Array<{ at: number; job: Job }> = [];
    const s: Scheduler = new Scheduler(async (job) => {
      runs.push({ at: Date.now(), job });
      if (runs.length === 1) s.request('zone-retry', false, 300);
    }, { quietMs: 50 });
    const t0 = Date.now();
    s.request('startup', true, 0);
    await sleep(150);
    expect(runs).toHaveLength(1); // the second waits for its 300 ms
    await sleep(400);
    expect(runs.map((r) => r.job.reasons)).toEqual([['startup'], ['zone-retry']]);
    expect(runs[1]!.at - t0).toBeGreaterThanOrEqual(290);
    await s.stop(100);
  });

  it('of several asks, the soonest holds; an event during a job runs as soon as the job ends', async () => {
    const runs: Array<{ at: number; job: Job }> = [];
    const s: Scheduler = new Scheduler(async (job) => {
      runs.push({ at: Date.now(), job });
      if (runs.length === 1) {
        s.request('zone-retry', false, 5_000);
        s.request('node-event', false, 0);
        await sleep(100);
      }
    }, { quietMs: 50 });
    s.request('startup', true, 0);
    await sleep(250);
    expect(runs.map((r) => r.job.reasons)).toEqual([['startup'], ['zone-retry', 'node-event']]);
    expect(runs[1]!.at - runs[0]!.at).toBeLessThan(4_000); // not the 5 s the zone retry asked for
    await s.stop(100);
  });

  it('a back-off holds every ask, during a job or not', async () => {
    const runs: number[] = [];
    const s: Scheduler = new Scheduler(async () => {
      runs.push(Date.now());
      if (runs.length === 1) {
        s.holdOff(Date.now() + 300);
        s.request('retry', true, 0);
      }
    }, { quietMs: 50 });
    s.request('startup', true, 0);
    await sleep(150);
    s.request('node-event', false, 0);
    await sleep(50);
    expect(runs).toHaveLength(1);
    await sleep(350);
    expect(runs).toHaveLength(2);
    expect(runs[1]! - runs[0]!).toBeGreaterThanOrEqual(290);
    await s.stop(100);
  });
});
