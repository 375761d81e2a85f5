/**
 * Small words for integration scenarios against the real service process: records as the
 * Cloudflare simulator holds them, what was committed, log lines after a mark, annotated
 * Services, and Kubernetes Events.
 */
import { writeFileSync } from 'node:fs';
import type { World } from '../../src/cli/world.js';
import type { Commit, DnsRecordView } from '../../src/sim/cloudflare/index.js';
import type { Taint } from '../../src/sim/kube/index.js';
import { waitFor, type LogLine, type ServiceProcess } from './service.js';

export const OWNER_MARKER = 'epictetus:owner=default';
export const CANDIDATE: Taint = { key: 'DeletionCandidateOfClusterAutoscaler', value: '1700000000', effect: 'PreferNoSchedule' };
export const TO_BE_DELETED: Taint = { key: 'ToBeDeletedByClusterAutoscaler', value: '1700000000', effect: 'NoSchedule' };

// ---- records ----

export function recordsOf(w: World, name: string, type = 'A', zoneId = w.zoneId): DnsRecordView[] {
  return w.cloudflare.records(zoneId).filter((r) => r.name === name && r.type === type);
}

export function ipsOf(w: World, name: string, type = 'A', zoneId = w.zoneId): string[] {
  return recordsOf(w, name, type, zoneId).map((r) => r.content).sort();
}

export function waitIps(w: World, name: string, want: readonly string[], opts: { type?: string; zoneId?: string; timeoutMs?: number } = {}): Promise<true> {
  const wanted = JSON.stringify([...want].sort());
  return waitFor(() => JSON.stringify(ipsOf(w, name, opts.type ?? 'A', opts.zoneId ?? w.zoneId)) === wanted || undefined,
    opts.timeoutMs ?? 10_000, `${opts.type ?? 'A'} records of ${name}: ${want.join(',') || '(none)'}`);
}

/** Records as a previous run (or someone else) left them: created directly in the simulator. */
export function seed(w: World, name: string, ips: readonly string[], opts: { type?: string; zoneId?: string; comment?: string; proxied?: boolean } = {}): DnsRecordView[] {
  return ips.map((ip) => w.cloudflare.addRecord(opts.zoneId ?? w.zoneId, {
    name, type: opts.type ?? 'A', content: ip, ttl: 1, proxied: opts.proxied ?? false,
    ...(opts.comment === undefined ? { comment: OWNER_MARKER } : opts.comment === '' ? {} : { comment: opts.comment }),
  }));
}

/** Deletions committed so far (optionally of one hostname). */
export function deletions(w: World, name?: string): Commit[] {
  return w.cloudflare.commits.filter((c) => c.kind === 'delete' && (name === undefined || c.record.name === name));
}

/** The commits made from now on (records seeded before do not count). */
export function commitsFromNow(w: World): () => Commit[] {
  const n = w.cloudflare.commits.length;
  return () => w.cloudflare.commits.slice(n);
}

/** A readable summary of commits (the zone's name and the start of its id), for assertion messages. */
export function described(commits: readonly Commit[]): string[] {
  return commits.map((c) => `${c.kind} ${c.record.zone_name} (zone ${c.zoneId.slice(0, 6)}) ${c.record.name} ${c.record.type} ${c.record.content}`);
}

const BATCH = /\/zones\/([0-9a-f]+)\/dns_records\/batch$/;
const RECORD_LIST = /\/zones\/([0-9a-f]+)\/dns_records$/;

/** Batch calls sent to a zone (answered or not). */
export function batchCalls(w: World, zoneId: string): number {
  return w.cloudflare.requests.filter((r) => r.method === 'POST' && BATCH.exec(r.path)?.[1] === zoneId).length;
}

/** GET .../dns_records calls per zone id. */
export function recordListsPerZone(w: World): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of w.cloudflare.requests) {
    const id = r.method === 'GET' ? RECORD_LIST.exec(r.path)?.[1] : undefined;
    if (id !== undefined) out.set(id, (out.get(id) ?? 0) + 1);
  }
  return out;
}

// ---- logs ----

export const msgIncludes = (text: string) => (l: LogLine): boolean => typeof l.msg === 'string' && l.msg.includes(text);

/** A reconcile's end line, with or without changes. */
export const isReconciled = (l: LogLine): boolean => l.msg === 'reconciled' || l.msg === 'reconciled: no changes';

/** A log line matching `pred` written after `mark` lines had been written. */
export function waitForLogAfter(s: ServiceProcess, mark: number, pred: (l: LogLine) => boolean, timeoutMs = 10_000, what = 'log line'): Promise<LogLine> {
  return waitFor(() => s.logs.slice(mark).find(pred), timeoutMs, what);
}

/** Waits until `n` log lines match `pred` (a change is logged just after Cloudflare answers), and returns them. */
export function waitForLogs(s: ServiceProcess, pred: (l: LogLine) => boolean, n: number, timeoutMs = 5_000, what = `${n} log lines`): Promise<LogLine[]> {
  return waitFor(() => {
    const found = s.logs.filter(pred);
    return found.length >= n ? found : undefined;
  }, timeoutMs, what);
}

/** The index in `s.logs` of the first line from `mark` on that matches `pred`, or undefined. */
export function indexAfter(s: ServiceProcess, mark: number, pred: (l: LogLine) => boolean): number | undefined {
  const i = s.logs.findIndex((l, j) => j >= mark && pred(l));
  return i >= 0 ? i : undefined;
}

/**
 * Waits for `n` full syncs that began after `mark` (the first full-sync line after the mark may
 * belong to a sync already running), or for `wrong` to become true first.
 */
export function fullSyncs(s: ServiceProcess, mark: number, n: number, wrong: () => boolean, timeoutMs = 20_000): Promise<true> {
  return waitFor(() => wrong() || reconcilesAfter(s, mark, 'full-sync').length >= n + 1 || undefined, timeoutMs, `${n} full syncs`);
}

/** The reconciles that ended after `mark` with this trigger among their reasons. */
export function reconcilesAfter(s: ServiceProcess, mark: number, trigger?: string): LogLine[] {
  return s.logs.slice(mark).filter((l) => isReconciled(l) && (trigger === undefined || String(l.trigger).includes(trigger)));
}

// ---- Kubernetes ----

export function annotatedService(name: string, annotations: Record<string, string>, namespace = 'default'): object {
  return {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name, namespace, annotations },
    spec: { type: 'ClusterIP', selector: { app: name }, ports: [{ name: 'http', port: 80 }] },
  };
}

export const enabled = (more: Record<string, string>): Record<string, string> => ({ 'epictetus.io/dns-enabled': 'true', ...more });

export function patchAnnotations(w: World, service: string, annotations: Record<string, string | null>, namespace = 'default'): void {
  w.kube.patchObject('services', service, { metadata: { annotations } }, { namespace, type: 'merge' });
}

export function retire(w: World, node: string): void {
  w.kube.patchNode(node, { spec: { taints: [CANDIDATE, TO_BE_DELETED] } });
}

export interface SimEvent { reason?: string; note?: string; type?: string; regarding?: { kind?: string; name?: string; namespace?: string } }

/** The events.k8s.io Events about one object. */
export function eventsAbout(w: World, namespace: string, kind: string, name: string): SimEvent[] {
  return (w.kube.listObjects('events.events.k8s.io', namespace) as SimEvent[])
    .filter((e) => e.regarding?.kind === kind && e.regarding.name === name);
}

/** The NodeList a misbehaving API server (or proxy) answers a list with: empty. */
export function emptyNodeList(resourceVersion: number): object {
  return { kind: 'NodeList', apiVersion: 'v1', metadata: { resourceVersion: String(resourceVersion) }, items: [] };
}

// ---- /health ----

export interface HealthBody {
  status: string;
  problems: string[];
  consecutiveFailures: number;
  lastError: { code: string; message: string } | null;
  nodes: { total: number; eligible: number };
  hostnames: Array<{ name: string; source: string; zone: string | null; frozen?: string }>;
  serviceProblems: Array<{ service: string; problem: string; meanwhile?: string }>;
  refusedClaims: Array<{ service: string; hostname: string | null; why: string }>;
  foreignRecords: Array<{ name: string; type: string; content: string; owner: string | null; reason: string }>;
  refusedChanges: Array<{ action: string; name: string; type: string; content: string; code: string; apiCodes: number[]; message: string }>;
  zones: Array<{ id: string; name: string; status: string; read: string; error?: string }>;
}

export async function health(s: ServiceProcess): Promise<HealthBody> {
  return (await s.get('/health')).body as unknown as HealthBody;
}

/** With EPICTETUS_TEST_DUMP=<path prefix>, a failed test leaves its services' logs in <prefix>-<time>.log. */
export function dumpLogsIfFailed(failed: boolean, services: readonly ServiceProcess[]): void {
  const prefix = process.env.EPICTETUS_TEST_DUMP;
  if (!failed || !prefix) return;
  writeFileSync(`${prefix}-${Date.now()}.log`, services.map((s) => [...s.lines, ...s.stderr].join('\n')).join('\n===== next process =====\n'));
}
