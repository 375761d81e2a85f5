/**
 * A short seeded chaos soak through the same code as `npm run chaos` (soak.ts): two replicas,
 * ten nodes, 45 s of churn and faults, then convergence and every invariant. Longer runs are for
 * a human: `npm run chaos -- --seconds 1800 --seed <S>`.
 */
import { describe, expect, it } from 'vitest';
import { INVARIANTS } from './invariants.js';
import { runSoak } from './soak.js';

const SEED = 20_251_124;
const SECONDS = 45;

describe('chaos soak', () => {
  it(`seed ${SEED}, ${SECONDS} s: no invariant is ever broken and the records converge`, async () => {
    const report = await runSoak({
      seconds: SECONDS, seed: SEED, nodes: 10, convergeTimeoutMs: 240_000, trailFile: false,
      // No answer held past the 30 s client timeout (cf-hang): it would stall the leader for most of 45 s.
      weights: { 'cf-hang': 0 },
      // At least a kill of the leader in the middle of a batch and a plain kill, whatever the dice say.
      forced: [{ atFraction: 0.25, kind: 'kill-mid-batch' }, { atFraction: 0.6, kind: 'kill' }],
      progress: (line) => process.stderr.write(`[chaos] ${line}\n`),
    });
    const { trails: _trails, ...summary } = report;
    process.stderr.write(`[chaos] ${JSON.stringify({ counts: summary.counts, faults: summary.faults, info: summary.info })}\n`);
    const explain = report.violations.slice(0, report.trails.length)
      .map((v, i) => `[${v.invariant}] ${v.message}\n${(report.trails[i] ?? []).join('\n')}`).join('\n\n');
    expect(report.converged, `seed ${SEED}: the records did not converge\n${explain}`).toBe(true);
    expect(report.violations, `seed ${SEED}:\n${explain}`).toEqual([]);
    expect(Object.values(report.counts).every((n) => n === 0)).toBe(true);
    expect(Object.keys(report.counts)).toEqual([...INVARIANTS]);
    // The run did what a soak must: churn, faults of both APIs, writes and a kill or pause.
    expect(Object.values(report.actions).reduce((a, b) => a + b, 0)).toBeGreaterThan(20);
    expect(Object.keys(report.faults).some((k) => k.startsWith('cf-'))).toBe(true);
    expect(Object.keys(report.faults).some((k) => k.startsWith('kube-'))).toBe(true);
    expect((report.cloudflare.commits as { create: number }).create).toBeGreaterThan(0);
    expect(report.replicas.reduce((n, r) => n + Number(r.killed), 0)).toBeGreaterThan(0);
  }, 600_000);
});
