/**
 * Every Kubernetes call the service makes, as a program of its own: test/integration/
 * kube-client.test.ts bundles it as the service is bundled and runs it in a fresh process
 * (EXPLICIT: a kubeconfig path, SA_DIR: a service-account folder), prints `OK <connection>`.
 */
import { createKubeApi, loadKubeConfig } from '../../src/kube/api.js';
import { eventSink } from '../../src/kube/events.js';
import { LeaderElector } from '../../src/kube/leader.js';
import { createLeaseApi } from '../../src/kube/lease-api.js';
import type { Logger } from '../../src/log/logger.js';

const conn = loadKubeConfig(process.env.EXPLICIT ?? '', { serviceAccountDir: process.env.SA_DIR });
const api = createKubeApi(conn);
await api.version();
const page = await api.nodes.list({ limit: 5 });
await api.services.list({ limit: 5 });
await new Promise<void>((resolve, reject) => {
  api.nodes.watch(page.resourceVersion, () => undefined, (e) => (e ? reject(e) : resolve()))
    .then((h) => setTimeout(() => { h.abort(); resolve(); }, 300), reject);
});
await api.setNodeAnnotation('worker-1', 'example.com/x', 'y');
const log = { info() {}, warn() {}, error() {}, debug() {}, child() { return log; } } as unknown as Logger;
const elector = new LeaderElector(createLeaseApi(conn), { namespace: 'default', name: 'proof', identity: 'p' }, log, { onStartedLeading() {}, onStoppedLeading() {} });
if (!(await elector.attempt())) throw new Error(`no lease: ${elector.problem()}`);
await eventSink(conn).create('default', {
  apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { name: `proof.${process.pid}.${Date.now()}`, namespace: 'default' },
  eventTime: new Date().toISOString().replace('Z', '000Z'), reportingController: 'epictetus', reportingInstance: 'p', action: 'A', reason: 'R', type: 'Normal', note: 'n',
  regarding: { apiVersion: 'v1', kind: 'Node', name: 'worker-1' },
});
conn.close();
console.log(`OK ${conn.describe()}`);
