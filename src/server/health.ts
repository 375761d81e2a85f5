/** Health routes: the status model rendered for people and probes. */
import type { ApiCheck, ControllerStatus } from '../controller/status.js';
import type { SourceStatus } from '../kube/list-watch.js';

export interface HealthView {
  readonly controller: () => ControllerStatus;
  readonly watches: () => Record<string, SourceStatus>;
  readonly apis: () => Record<'kubernetes' | 'cloudflare', ApiCheck>;
  readonly leadership: () => Leadership;
  readonly livenessTimeoutMs: number;
  readonly syncIntervalMs: number;
  readonly now?: () => number;
}

export interface Leadership {
  readonly enabled: boolean;
  readonly role: 'leader' | 'follower';
  readonly leader: string | null;
  readonly identity: string;
}

export interface ProbeResult { readonly ok: boolean; readonly body: Record<string, unknown> }

/**
 * A leader is ready once its first full sync succeeded, and not while syncs keep failing; a
 * follower is ready once its watches are synced, so it can take over at once.
 */
export function readiness(s: ControllerStatus, v?: Pick<HealthView, 'leadership' | 'watches'>): ProbeResult {
  if (v && v.leadership().role === 'follower') {
    const unsynced = Object.entries(v.watches()).filter(([, w]) => !w.synced).map(([k]) => k);
    return unsynced.length === 0
      ? { ok: true, body: { status: 'ready', role: 'follower' } }
      : { ok: false, body: { status: 'starting', reason: `waiting for the first list of ${unsynced.join(', ')}` } };
  }
  if (!s.synced) return { ok: false, body: { status: 'starting', reason: 'first full sync has not succeeded yet' } };
  if (s.consecutiveFailures >= 3) {
    return { ok: false, body: { status: 'failing', reason: `${s.consecutiveFailures} reconciles failed in a row`, lastError: s.lastError } };
  }
  return { ok: true, body: { status: 'ready', lastSuccessfulSync: s.lastSuccessfulSync } };
}

/** Live while the loop makes progress: a reconcile hung past the timeout, or a loop that stopped ticking, is not. */
export function liveness(s: ControllerStatus, v: Pick<HealthView, 'livenessTimeoutMs' | 'syncIntervalMs' | 'now'>): ProbeResult {
  const now = (v.now ?? Date.now)();
  if (s.busySince !== undefined && now - s.busySince > v.livenessTimeoutMs) {
    return { ok: false, body: { status: 'wedged', reason: `a reconcile has been running for ${Math.round((now - s.busySince) / 1000)} s` } };
  }
  if (now - s.lastProgressAt > v.syncIntervalMs + v.livenessTimeoutMs) {
    return { ok: false, body: { status: 'wedged', reason: `the control loop has not progressed for ${Math.round((now - s.lastProgressAt) / 1000)} s` } };
  }
  return { ok: true, body: { status: 'alive' } };
}

const heldView = (h: ControllerStatus['held'][number]) =>
  ({ name: h.record.name, type: h.record.type, content: h.record.content, node: h.node, wouldBe: h.wouldBe });

export function healthReport(v: HealthView): ProbeResult {
  const s = v.controller();
  const ready = readiness(s, v);
  const live = liveness(s, v);
  const excluded = s.verdicts.filter((n) => !n.eligible);
  const apis = v.apis();
  const apisOk = [apis.kubernetes, apis.cloudflare].every((a) => a.ok || a.checkedAt === undefined);
  const status = !live.ok ? 'wedged' : !ready.ok ? String(ready.body.status) : apisOk && s.lastError === undefined ? 'ok' : 'degraded';
  return {
    ok: live.ok,
    body: {
      status,
      leadership: v.leadership(),
      startedAt: s.startedAt,
      lastSuccessfulSync: s.lastSuccessfulSync ?? null,
      lastReconcile: s.lastReconcile ?? null,
      lastError: s.lastError ?? null,
      consecutiveFailures: s.consecutiveFailures,
      reconciles: s.reconciles,
      nodes: {
        total: s.verdicts.length,
        eligible: s.verdicts.length - excluded.length,
        excluded: excluded.slice(0, 200).map((n) => ({ name: n.name, reasons: n.reasons, ...(n.detail ? { detail: n.detail } : {}) })),
      },
      hostnames: s.hostnames,
      conflicts: s.conflicts,
      serviceProblems: s.serviceProblems,
      records: { managed: s.managedRecords },
      foreignRecords: s.foreignRecords.map((f) => ({ name: f.name, type: f.type, content: f.content, owner: f.owner, reason: f.reason })),
      heldBySafetyFloor: s.held.filter((h) => h.reason === 'safety-floor').map(heldView),
      heldByMassRemovalGuard: s.held.filter((h) => h.reason === 'mass-removal-guard').map(heldView),
      recentChanges: s.recentChanges,
      apis,
      watches: v.watches(),
    },
  };
}
