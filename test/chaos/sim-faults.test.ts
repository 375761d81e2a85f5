/** The simulators' fault queues as the soak uses them: how many injected failures wait, and dropping them. */
import { afterEach, describe, expect, it } from 'vitest';
import { CloudflareSim } from '../../src/sim/cloudflare/index.js';
import { KubeSim } from '../../src/sim/kube/index.js';

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
});

describe('pending injected failures', () => {
  it('Cloudflare: counted until served, and cleared on demand', async () => {
    const cf = await CloudflareSim.start({ token: 't'.repeat(40), zones: [{ name: 'example.com' }], dnsPort: false });
    stops.push(() => cf.stop());
    cf.failNext({ status: 500, count: 2 });
    cf.failNext({ status: 429, retryAfter: '0' });
    expect(cf.pendingFaults).toBe(3);
    const res = await fetch(`${cf.baseUrl}/zones`, { headers: { authorization: `Bearer ${'t'.repeat(40)}` } });
    expect(res.status).toBe(500);
    expect(cf.pendingFaults).toBe(2);
    cf.clearFaults();
    expect(cf.pendingFaults).toBe(0);
    expect((await fetch(`${cf.baseUrl}/zones`, { headers: { authorization: `Bearer ${'t'.repeat(40)}` } })).status).toBe(200);
  });

  it('Kubernetes: counted until served, and cleared on demand', async () => {
    const kube = await KubeSim.start();
    stops.push(() => kube.stop());
    kube.failNext({ method: 'GET', pathPrefix: '/api/v1/nodes', status: 503, count: 2 });
    expect(kube.pendingFaults).toBe(2);
    expect((await fetch(`${kube.url}/api/v1/nodes`)).status).toBe(503);
    expect(kube.pendingFaults).toBe(1);
    kube.clearFaults();
    expect(kube.pendingFaults).toBe(0);
    expect((await fetch(`${kube.url}/api/v1/nodes`)).status).toBe(200);
  });
});
