import { it } from 'vitest';
import { startWorld } from '../../src/cli/world.js';
import { startService, waitFor } from '../helpers/service.js';
import { startProxy, type ProxiedRequest } from './proxy.js';
const BOTH = [
  { key: 'DeletionCandidateOfClusterAutoscaler', value: '1', effect: 'PreferNoSchedule' },
  { key: 'ToBeDeletedByClusterAutoscaler', value: '1', effect: 'NoSchedule' },
];
it('probe', async () => {
  const w = await startWorld({ nodes: 3 });
  const holder = () => (w.kube.getObject('leases.coordination.k8s.io', 'epictetus', 'default') as { spec?: { holderIdentity?: string } } | undefined)?.spec?.holderIdentity ?? '';
  const log: ProxiedRequest[] = [];
  let seq = 0;
  let hang = false;
  const proxy = await startProxy(w.cloudflare.baseUrl, 'a', () => 1, log, () => ++seq, {
    arrived: (e) => { e.holder = holder(); }, answered: () => undefined,
    batchFault: () => { if (hang) { hang = false; return { kind: 'hold-answer', ms: 32_000 }; } return undefined; }, kill: () => undefined,
  });
  const a = startService({ ...w.env, CLOUDFLARE_API_BASE_URL: proxy.url, LEADER_ELECTION: 'true', LEASE_NAMESPACE: 'default', LOG_LEVEL: 'DEBUG' });
  await a.waitReady(30_000);
  await waitFor(() => holder() !== '' || undefined, 20_000);
  await new Promise((r) => setTimeout(r, 3000));
  const t0 = Date.now();
  hang = true;
  w.kube.patchNode('worker-1', { spec: { taints: BOTH } });
  await new Promise((r) => setTimeout(r, 1000));
  w.kube.failNext({ method: 'PUT', pathPrefix: '/apis/coordination.k8s.io/v1/namespaces/default/leases', status: 500, count: 3 });
  await new Promise((r) => setTimeout(r, 16_000));
  for (const l of a.logs.filter((l) => (l as { time: number }).time >= t0 - 100 && /lease|lead/.test(l.msg))) console.log(new Date((l as { time: number }).time).toISOString(), l.msg, (l as { err?: string }).err ?? '');
  for (const r of w.kube.requests.filter((r) => r.path.includes('leases') && r.at >= t0)) console.log(new Date(r.at).toISOString(), r.method, r.status);
  await a.stop('SIGKILL');
  await proxy.close();
  await w.stop();
}, 90_000);
