/** POLICY=upsert-only, a cautious first install: creates and updates, never deletes, and says which deletions it skipped. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { simNodeIp, startWorld, type World } from '../../src/cli/world.js';
import { makeNode } from '../../src/sim/kube/index.js';
import { MAIN, startService, waitFor, type ServiceProcess } from '../helpers/service.js';

const run = promisify(execFile);
const BOTH = [{ key: 'DeletionCandidateOfClusterAutoscaler', effect: 'PreferNoSchedule' }, { key: 'ToBeDeletedByClusterAutoscaler', effect: 'NoSchedule' }];
let world: World | undefined;
let service: ServiceProcess | undefined;

afterEach(async () => {
  await service?.stop('SIGKILL');
  service = undefined;
  await world?.stop();
  world = undefined;
});

const ips = (w: World) => w.cloudflare.records(w.zoneId).filter((r) => r.name === 'app.example.com').map((r) => r.content).sort();

describe('POLICY=upsert-only', () => {
  it('creates and updates, never deletes, and lists each deletion it skipped in the log, /health and plan', async () => {
    world = await startWorld({ nodes: 3 });
    const w = world;
    w.cloudflare.addRecord(w.zoneId, { name: 'old.example.com', type: 'A', content: simNodeIp(1), comment: 'epictetus:owner=default' });
    service = startService({ ...w.env, POLICY: 'upsert-only' });
    const s = service;
    await s.waitReady();
    await waitFor(() => ips(w).length === 3 || undefined, 10_000, 'three records');
    w.kube.patchNode('worker-2', { spec: { taints: BOTH } });
    w.kube.createNode(makeNode('worker-4', { externalIP: simNodeIp(4) }));
    await waitFor(() => ips(w).includes(simNodeIp(4)) || undefined, 10_000, "worker-4's record");
    const skipped = await s.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('POLICY=upsert-only: not deleting app.example.com'));
    expect(skipped).toMatchObject({ ip: simNodeIp(2), node: 'worker-2', wouldBe: 'both-ca-taints' });
    const health = (await s.get('/health')).body as { skippedByPolicy: Array<{ name: string; content: string; wouldBe: string }> };
    expect(health.skippedByPolicy.map((d) => `${d.name} ${d.content} ${d.wouldBe}`).sort()).toEqual([
      `app.example.com ${simNodeIp(2)} both-ca-taints`, `old.example.com ${simNodeIp(1)} hostname-unclaimed`,
    ]);
    expect(ips(w)).toEqual([1, 2, 3, 4].map(simNodeIp));
    expect(w.cloudflare.commits.filter((c) => c.kind === 'delete')).toEqual([]);

    const env = { PATH: process.env.PATH ?? '', ...w.env, POLICY: 'upsert-only', LOG_LEVEL: 'ERROR' };
    const plan = await run(process.execPath, [MAIN, 'plan'], { env, timeout: 30_000 }).then((x) => ({ code: 0, ...x }), (e: { code: number; stdout: string }) => e);
    expect(plan.stdout).toMatch(new RegExp(`! A +${simNodeIp(2).replaceAll('.', '\\.')} +worker-2 +kept by POLICY=upsert-only \\(would be both-ca-taints\\)`));
    expect(plan.stdout).toMatch(new RegExp(`hostnames no longer claimed:\\n  ! A +${simNodeIp(1).replaceAll('.', '\\.')} .*kept by POLICY=upsert-only \\(would be hostname-unclaimed\\)`));
    expect(plan.code).toBe(0); // nothing it would do
  }, 60_000);
});
