import { describe, expect, it } from 'vitest';
import type { ControllerStatus } from '../../src/controller/status.js';
import { healthReport, liveness, readiness } from '../../src/server/health.js';

const base: ControllerStatus = {
  startedAt: '', synced: true, lastSuccessfulSync: 'x', lastReconcile: 'x', consecutiveFailures: 0, lastError: undefined,
  reconciles: { ok: 1, failed: 0, noop: 0, skipped: 0 }, verdicts: [], managedRecords: {}, foreignRecords: [], held: [], hostnames: [], conflicts: [], serviceProblems: [],
  waitingFor: [], refusedClaims: [], nodeAddresses: {}, excludedFor: {}, hostnameRecords: {}, refused: [], moves: [], skipped: [], zones: [],
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

describe('/health status', () => {
  const apis = { kubernetes: { ok: true, checkedAt: 'x', error: undefined }, cloudflare: { ok: true, checkedAt: 'x', error: undefined } };
  const view = (s: ControllerStatus, problem: string | null = null) => ({
    controller: () => s, watches: () => ({}), apis: () => apis, livenessTimeoutMs: 300_000, syncIntervalMs: 60_000, now: () => 1_000_000,
    leadership: () => ({ enabled: true, role: 'leader' as const, leader: 'me', identity: 'me', problem }),
  });
  const host = { name: 'app.example.com', source: 'env', zone: 'example.com', ttl: 1, proxied: false };

  it('is ok with records, and degraded with a hostname that has none, saying why', () => {
    expect(healthReport(view({ ...base, hostnames: [host], managedRecords: { 'app.example.com': 2 } })).body).toMatchObject({ status: 'ok', problems: [] });
    const none = healthReport(view({ ...base, hostnames: [host], managedRecords: { 'app.example.com': 0 } }));
    expect(none.body).toMatchObject({ status: 'degraded', problems: ['app.example.com has no record'] });
    expect(none.ok).toBe(true); // alive all the same
  });

  it('a replica that cannot use its Lease is not ready, and says why', () => {
    const r = readiness(base, view(base, 'HTTP 403 Forbidden: leases.coordination.k8s.io is forbidden'));
    expect(r.ok).toBe(false);
    expect(r.body.reason).toMatch(/cannot use the leader-election Lease: HTTP 403/);
  });
});
