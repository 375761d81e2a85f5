/** Health routes: the status model rendered for people and probes. */
import type { ApiCheck, ControllerStatus } from '../controller/status.js';
import type { SourceStatus } from '../kube/list-watch.js';
import type { ProbeEvidence } from '../probe/prober.js';

export interface HealthView {
  readonly controller: () => ControllerStatus;
  readonly watches: () => Record<string, SourceStatus>;
  readonly apis: () => Record<'kubernetes' | 'cloudflare', ApiCheck>;
  readonly leadership: () => Leadership;
  readonly livenessTimeoutMs: number;
  readonly syncIntervalMs: number;
  readonly now?: () => number;
  /** Health probes' targets, verdicts and last results (when probes are on). */
  readonly probes?: () => readonly ProbeEvidence[];
}

export interface Leadership {
  readonly enabled: boolean;
  readonly role: 'leader' | 'follower';
  readonly leader: string | null;
  readonly identity: string;
  /** Why this replica cannot read or write its Lease (RBAC, a wrong namespace), if so. */
  readonly problem?: string | null;
}

export interface ProbeResult { readonly ok: boolean; readonly body: Record<string, unknown> }

/**
 * A leader is ready once its first full sync succeeded, and not while syncs keep failing; a
 * follower is ready once its watches are synced, so it can take over at once.
 */
export function readiness(s: ControllerStatus, v?: Pick<HealthView, 'leadership' | 'watches'>): ProbeResult {
  const lease = v?.leadership().problem;
  if (lease) return { ok: false, body: { status: 'failing', reason: `cannot use the leader-election Lease: ${lease}` } };
  if (v && v.leadership().role === 'follower') {
    const unsynced = Object.entries(v.watches()).filter(([, w]) => !w.synced).map(([k]) => k);
    return unsynced.length === 0
      ? { ok: true, body: { status: 'ready', role: 'follower' } }
      : { ok: false, body: { status: 'starting', reason: `waiting for the first list of ${unsynced.join(', ')}` } };
  }
  if (!s.synced) {
    const unsynced = v ? Object.entries(v.watches()).filter(([, w]) => !w.synced) : [];
    const what = (name: string) => (name === 'probes' ? 'the first round of health probes' : `the first list of ${name}`);
    const waiting = unsynced.length > 0 ? `waiting for ${unsynced.map(([k]) => what(k)).join(' and ')}` : 'first full sync has not succeeded yet';
    const errors = unsynced.filter(([, w]) => w.lastError).map(([k, w]) => `${k}: ${w.lastError}`);
    const why = errors.length > 0 ? ` (${errors.join('; ')})` : s.lastError ? `; last error: ${s.lastError.message}` : '';
    return { ok: false, body: { status: 'starting', reason: `${waiting}${why}` } };
  }
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

/** What keeps a running service from being `ok`: each a sentence for people. */
export function problems(s: ControllerStatus, apis: Record<'kubernetes' | 'cloudflare', ApiCheck>, leadership?: Leadership): string[] {
  const out: string[] = [];
  if (leadership?.problem) out.push(`cannot use the leader-election Lease: ${leadership.problem}`);
  for (const [name, a] of Object.entries(apis)) if (!a.ok && a.checkedAt !== undefined) out.push(`the ${name} API does not answer: ${a.error ?? '?'}`);
  if (s.lastError) out.push(`last reconcile failed: ${s.lastError.message}`);
  for (const z of s.zones) if (z.read === 'failed') out.push(`zone ${z.name} cannot be read: ${z.error ?? '?'}`);
  for (const h of s.hostnames) {
    if (h.frozen) out.push(`${h.name} is left as it is: ${h.frozen}`);
    else if (h.zone !== null && (s.managedRecords[h.name] ?? 0) === 0) out.push(`${h.name} has no record`);
  }
  for (const r of s.refused) out.push(`Cloudflare refused ${r.action} ${r.hostname} ${r.type} ${r.ip}: ${r.refusal.message}`);
  return out;
}

export function healthReport(v: HealthView): ProbeResult {
  const s = v.controller();
  const ready = readiness(s, v);
  const live = liveness(s, v);
  const excluded = s.verdicts.filter((n) => !n.eligible);
  const apis = v.apis();
  const found = problems(s, apis, v.leadership());
  const status = !live.ok ? 'wedged' : !ready.ok ? String(ready.body.status) : found.length === 0 ? 'ok' : 'degraded';
  return {
    ok: live.ok,
    body: {
      status,
      problems: found,
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
        addresses: s.nodeAddresses,
      },
      hostnames: s.hostnames.map((h) => ({
        ...h, records: s.hostnameRecords[h.name] ?? [],
        ...(s.excludedFor[h.name] ? { notServedBy: s.excludedFor[h.name] } : {}),
      })),
      probes: v.probes?.() ?? [],
      conflicts: s.conflicts,
      serviceProblems: s.serviceProblems,
      refusedClaims: s.refusedClaims,
      zones: s.zones,
      records: { managed: s.managedRecords },
      foreignRecords: s.foreignRecords.map((f) => ({ name: f.name, type: f.type, content: f.content, owner: f.owner, reason: f.reason })),
      heldBySafetyFloor: s.held.filter((h) => h.reason === 'safety-floor').map(heldView),
      heldByMassRemovalGuard: s.held.filter((h) => h.reason === 'mass-removal-guard').map(heldView),
      refusedChanges: s.refused.map((r) => ({ action: r.action, name: r.hostname, type: r.type, content: r.ip, code: r.refusal.code, apiCodes: r.refusal.apiCodes, message: r.refusal.message, at: r.refusal.at })),
      zoneMoves: s.moves,
      skippedByPolicy: s.skipped.map((d) => ({ name: d.record.name, type: d.record.type, content: d.record.content, node: d.node, wouldBe: d.reason })),
      recentChanges: s.recentChanges,
      apis,
      watches: v.watches(),
    },
  };
}
