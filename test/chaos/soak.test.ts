/**
 * Short seeded chaos soaks through the same code as `npm run chaos` (soak.ts), one per mode: two
 * replicas with leader election, and one without it (docker-compose's default). Each drives churn
 * and faults for a few tens of seconds, with the faults the review's cases need forced in, then
 * waits for convergence and judges every invariant. Longer runs are for a human:
 * `npm run chaos -- --seconds 1800 --seed <S> [--mode single]`.
 */
import { describe, expect, it } from 'vitest';
import { INVARIANTS } from './invariants.js';
import { runSoak, type SoakOptions } from './soak.js';

const RUNS: ReadonlyArray<{ name: string; opts: SoakOptions }> = [
  {
    name: 'two replicas with leader election',
    opts: {
      mode: 'pair', seconds: 40, seed: 20_251_124,
      forced: [
        { atFraction: 0.05, kind: 'cname' }, { atFraction: 0.1, kind: 'zone-sub' }, { atFraction: 0.15, kind: 'relist-collapse' },
        { atFraction: 0.2, kind: 'kill-mid-batch' }, { atFraction: 0.3, kind: 'lease-403' }, { atFraction: 0.4, kind: 'svc-bad-annotation' },
        { atFraction: 0.5, kind: 'restart-list-fail' }, { atFraction: 0.6, kind: 'clock-step' },
        { atFraction: 0.7, kind: 'svc-outside' }, { atFraction: 0.75, kind: 'config-change' },
      ],
    },
  },
  {
    name: 'one replica without leader election',
    opts: {
      mode: 'single', seconds: 25, seed: 20_251_201,
      forced: [
        { atFraction: 0.1, kind: 'restart-list-fail' }, { atFraction: 0.3, kind: 'zone-copy' }, { atFraction: 0.4, kind: 'restart-typo' },
        { atFraction: 0.6, kind: 'relist-collapse' }, { atFraction: 0.7, kind: 'cname' },
      ],
    },
  },
];

describe('chaos soak', () => {
  it.each(RUNS)('$name: no invariant is ever broken and the records converge', async ({ opts }) => {
    const report = await runSoak({
      nodes: 10, convergeTimeoutMs: 240_000, trailFile: false, maxClockOffsetS: 30,
      // No answer held past the 30 s client timeout (cf-hang): it would stall the leader for most of the run.
      weights: { 'cf-hang': 0 },
      progress: (line) => process.stderr.write(`[chaos ${opts.mode}] ${line}\n`),
      ...opts,
    });
    const { trails: _trails, ...summary } = report;
    process.stderr.write(`[chaos ${opts.mode}] ${JSON.stringify({ durationS: summary.durationS, counts: summary.counts, faults: summary.faults, info: summary.info })}\n`);
    const explain = report.violations.slice(0, report.trails.length)
      .map((v, i) => `[${v.invariant}] ${v.message}\n${(report.trails[i] ?? []).join('\n')}`).join('\n\n');
    expect(report.converged, `seed ${opts.seed}: the records did not converge\n${explain}`).toBe(true);
    expect(report.violations, `seed ${opts.seed}:\n${explain}`).toEqual([]);
    expect(Object.values(report.counts).every((n) => n === 0)).toBe(true);
    expect(Object.keys(report.counts)).toEqual([...INVARIANTS]);
    // The run did what a soak must: churn, faults of both APIs and of one replica's own view, writes, a restart.
    expect(Object.values(report.actions).reduce((a, b) => a + b, 0)).toBeGreaterThan(15);
    expect(Object.keys(report.faults).some((k) => k.startsWith('cf-'))).toBe(true);
    expect(Object.keys(report.faults).some((k) => k.startsWith('kube-proxy:'))).toBe(true);
    expect((report.cloudflare.commits as { create: number }).create).toBeGreaterThan(0);
    expect(report.replicas.reduce((n, r) => n + Number(r.incarnations), 0)).toBeGreaterThan(report.replicas.length);
    // Every forced fault took (a clock step needs libfaketime: without it the soak says so and skips it).
    const noClock = report.notes.some((n) => n.startsWith('clock-step skipped'));
    if (noClock) process.stderr.write(`[chaos ${opts.mode}] ${report.notes.find((n) => n.startsWith('clock-step skipped'))}\n`);
    for (const f of opts.forced ?? []) {
      if (f.kind === 'clock-step' && noClock) continue;
      expect(report.actions[f.kind] ?? report.faults[f.kind] ?? 0, `forced fault ${f.kind} never took`).toBeGreaterThan(0);
    }
  }, 600_000);
});
