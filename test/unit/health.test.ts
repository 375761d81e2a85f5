import { describe, expect, it } from 'vitest';
import type { ControllerStatus } from '../../src/controller/status.js';
import { liveness, readiness } from '../../src/server/health.js';

const base: ControllerStatus = {
  startedAt: '', synced: true, lastSuccessfulSync: 'x', lastReconcile: 'x', consecutiveFailures: 0, lastError: undefined,
  reconciles: { ok: 1, failed: 0, noop: 0, skipped: 0 }, verdicts: [], managedRecords: {}, foreignRecords: [], held: [], hostnames: [], conflicts: [], serviceProblems: [],
  waitingFor: [], refusedClaims: [], refused: [], moves: [], skipped: [], zones: [],
  recentChanges: [], busySince: undefined, lastProgressAt: 1_000_000,
};
const view = { livenessTimeoutMs: 300_000, syncIntervalMs: 60_000, now: () => 1_000_000 };

describe('probes', () => {
  it.each([
    [{ synced: false }, 503, 'starting'],
    [{ consecutiveFailures: 2 }, 200, 'ready'],
    [{ consecutiveFailures: 3 }, 503, 'failing'],
  ])('readiness %j -> %i', (patch, code, status) => {
    const r = readiness({ ...base, ...patch });
    expect([r.ok ? 200 : 503, r.body.status]).toEqual([code, status]);
  });

  it.each([
    [{}, 0, true],
    [{ busySince: 1_000_000 }, 299_000, true],
    [{ busySince: 1_000_000 }, 301_000, false],
    [{}, 359_000, true],
    [{}, 361_000, false],
  ])('liveness %j after %i ms -> %s', (patch, later, ok) => {
    const r = liveness({ ...base, ...patch }, { ...view, now: () => 1_000_000 + later });
    expect(r.ok).toBe(ok);
  });
});
