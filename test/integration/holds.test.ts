/** HOLD_NODE_DELETION: a retiring node is held until resolvers have let go of its records. */
import { afterEach, describe, expect, it } from 'vitest';
import { simNodeIp, startWorld, type World } from '../../src/cli/world.js';
import { startService, waitFor, type ServiceProcess } from '../helpers/service.js';

const KEY = 'delay-deletion.cluster-autoscaler.kubernetes.io/epictetus';
const CANDIDATE = { key: 'DeletionCandidateOfClusterAutoscaler', value: '1', effect: 'PreferNoSchedule' };
const TO_BE_DELETED = { key: 'ToBeDeletedByClusterAutoscaler', value: '1', effect: 'NoSchedule' };
// Short TTL and a 3 s cap keep the tests quick; the TTL + margin arithmetic is unit-tested.
const HOLD = { HOLD_NODE_DELETION: 'true', DNS_TTL: '60', HOLD_MARGIN_SECONDS: '0', HOLD_MAX_SECONDS: '3' };

let world: World | undefined;
const services: ServiceProcess[] = [];
afterEach(async () => {
  for (const s of services.splice(0)) await s.stop('SIGKILL');
  await world?.stop();
  world = undefined;
});

const annotation = (w: World, name: string): string | undefined =>
  ((w.kube.getNode(name) as { metadata: { annotations?: Record<string, string> } } | undefined)?.metadata.annotations ?? {})[KEY];
const ips = (w: World) => w.cloudflare.records(w.zoneId).map((r) => r.content).sort();

async function boot(env: Record<string, string> = HOLD) {
  world = await startWorld({ nodes: 3 });
  const s = startService({ ...world.env, ...env });
  services.push(s);
  await s.waitReady();
  return { w: world, s };
}

describe('holding retiring nodes', () => {
  it('annotates only after the records are gone, releases at the (capped) deadline, touching nothing else', async () => {
    const { w, s } = await boot();
    const specBefore = JSON.stringify((w.kube.getNode('worker-2') as { spec: unknown }).spec);
    w.kube.patchNode('worker-2', { spec: { taints: [CANDIDATE, TO_BE_DELETED] } });
    const placed = await waitFor(() => annotation(w, 'worker-2'), 5_000, 'hold placed');
    const deletedAt = w.cloudflare.commits.find((c) => c.kind === 'delete')?.at ?? Infinity;
    const patch = w.kube.requests.find((r) => r.method === 'PATCH' && r.path === '/api/v1/nodes/worker-2');
    expect(patch?.at).toBeGreaterThanOrEqual(deletedAt);
    expect(Date.parse(placed)).toBeLessThanOrEqual(patch?.at ?? 0);
    expect(ips(w)).toEqual([simNodeIp(1), simNodeIp(3)]);
    await s.waitForLog((l) => typeof l.msg === 'string' && l.msg.includes('HOLD_MAX_SECONDS (3 s) is shorter'));

    await waitFor(() => annotation(w, 'worker-2') === undefined || undefined, 8_000, 'hold released');
    const heldMs = Date.now() - Date.parse(placed);
    expect(heldMs).toBeGreaterThanOrEqual(2_900);
    const spec = JSON.parse(JSON.stringify((w.kube.getNode('worker-2') as { spec: unknown }).spec)) as { taints: unknown[] };
    expect(spec.taints).toHaveLength(2); // our patches touched no taint
    expect(specBefore).not.toContain('ToBeDeleted');
    const patches = w.kube.requests.filter((r) => r.method === 'PATCH');
    expect(patches).toHaveLength(2);
    const reasons = () => (w.kube.listObjects('events.events.k8s.io', 'default') as Array<{ reason?: string }>).map((e) => e.reason);
    await waitFor(() => reasons().includes('DeletionReleased') || undefined, 5_000, 'release event');
    expect(reasons()).toContain('DeletionHeld');
  });

  it('releases at once when the scale-down is cancelled, and leaves a deleted node alone', async () => {
    const { w } = await boot({ ...HOLD, HOLD_MAX_SECONDS: '60' });
    w.kube.patchNode('worker-1', { spec: { taints: [CANDIDATE, TO_BE_DELETED] } });
    w.kube.patchNode('worker-2', { spec: { taints: [CANDIDATE, TO_BE_DELETED] } });
    await waitFor(() => (annotation(w, 'worker-1') && annotation(w, 'worker-2')) || undefined, 5_000, 'holds placed');
    const t0 = Date.now();
    w.kube.patchNode('worker-1', { spec: { taints: [CANDIDATE] } });
    await waitFor(() => annotation(w, 'worker-1') === undefined || undefined, 5_000, 'released on cancel');
    expect(Date.now() - t0).toBeLessThan(2_500);
    await waitFor(() => ips(w).includes(simNodeIp(1)) || undefined, 5_000, 'record back');
    w.kube.deleteNode('worker-2');
    await new Promise((r) => setTimeout(r, 2_500));
    expect(w.kube.requests.filter((r) => r.method === 'PATCH' && r.path === '/api/v1/nodes/worker-2' && r.status !== 200)).toEqual([]);
  });

  it('never places a hold with the setting off', async () => {
    const { w } = await boot({ DNS_TTL: '60' });
    w.kube.patchNode('worker-3', { spec: { taints: [CANDIDATE, TO_BE_DELETED] } });
    await waitFor(() => ips(w).length === 2 || undefined);
    await new Promise((r) => setTimeout(r, 2_500));
    expect(annotation(w, 'worker-3')).toBeUndefined();
    expect(w.kube.requests.filter((r) => r.method === 'PATCH')).toEqual([]);
  });

  it('a restarted service (after SIGKILL) finishes the hold it finds, by the annotation alone', async () => {
    const { w, s } = await boot({ ...HOLD, HOLD_MAX_SECONDS: '4' });
    w.kube.patchNode('worker-2', { spec: { taints: [CANDIDATE, TO_BE_DELETED] } });
    const placed = await waitFor(() => annotation(w, 'worker-2'), 5_000, 'hold placed');
    await s.stop('SIGKILL');
    expect(annotation(w, 'worker-2')).toBe(placed); // a killed process released nothing
    const again = startService({ ...w.env, ...HOLD, HOLD_MAX_SECONDS: '4' });
    services.push(again);
    await waitFor(() => annotation(w, 'worker-2') === undefined || undefined, 10_000, 'released by the new process');
    expect(Date.now() - Date.parse(placed)).toBeGreaterThanOrEqual(3_900);
  });

  it('releases its holds on SIGTERM so the autoscaler never waits for a timeout', async () => {
    const { w, s } = await boot({ ...HOLD, HOLD_MAX_SECONDS: '60' });
    w.kube.patchNode('worker-2', { spec: { taints: [CANDIDATE, TO_BE_DELETED] } });
    await waitFor(() => annotation(w, 'worker-2'), 5_000, 'hold placed');
    expect(await s.stop('SIGTERM')).toBe(0);
    expect(annotation(w, 'worker-2')).toBeUndefined();
  });
});
