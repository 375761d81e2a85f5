/** kubectl, a client we did not write, drives the cluster while the service runs. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { simNodeIp, startWorld, type World } from '../../src/cli/world.js';
import { startService, waitFor, type ServiceProcess } from '../helpers/service.js';

const run = promisify(execFile);
let world: World | undefined;
let service: ServiceProcess | undefined;

afterEach(async () => {
  await service?.stop('SIGKILL');
  await world?.stop();
});

describe('kubectl as the autoscaler', () => {
  it('taints and deletes nodes with kubectl; the service follows', async () => {
    world = await startWorld({ nodes: 3 });
    const w = world;
    service = startService(w.env);
    await service.waitReady();
    const kubectl = (...args: string[]) => run('/usr/bin/kubectl', ['--kubeconfig', w.kubeconfigPath, ...args], { timeout: 60_000 });
    const ips = () => w.cloudflare.records(w.zoneId).map((r) => r.content).sort().join(',');

    expect((await kubectl('get', 'nodes')).stdout).toContain('worker-2');
    await kubectl('taint', 'nodes', 'worker-2', 'DeletionCandidateOfClusterAutoscaler=1700000000:PreferNoSchedule');
    await new Promise((r) => setTimeout(r, 500));
    expect(ips()).toBe([1, 2, 3].map(simNodeIp).join(','));
    await kubectl('taint', 'nodes', 'worker-2', 'ToBeDeletedByClusterAutoscaler=1700000000:NoSchedule');
    await waitFor(() => ips() === [1, 3].map(simNodeIp).join(',') || undefined, 10_000, 'removal');
    await kubectl('taint', 'nodes', 'worker-2', 'ToBeDeletedByClusterAutoscaler-');
    await waitFor(() => ips() === [1, 2, 3].map(simNodeIp).join(',') || undefined, 10_000, 'restore');
    await kubectl('delete', 'node', 'worker-3');
    await waitFor(() => ips() === [1, 2].map(simNodeIp).join(',') || undefined, 10_000, 'deletion');
  });
});
