/**
 * `epictetus demo`: both simulators, the real service as a child process, and a scale-down
 * story. After each step it prints what a real DNS query answers, and fails if it is wrong.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { makeNode } from '../sim/kube/index.js';
import { simNodeIp, startWorld, type World } from './world.js';

const CA_CANDIDATE = { key: 'DeletionCandidateOfClusterAutoscaler', value: String(Math.floor(Date.now() / 1000)), effect: 'PreferNoSchedule' };
const CA_DELETE = { key: 'ToBeDeletedByClusterAutoscaler', value: String(Math.floor(Date.now() / 1000)), effect: 'NoSchedule' };

interface Step {
  readonly title: string;
  readonly act: (w: World) => void;
  readonly expect: readonly string[];
  /** For "nothing changes" steps: how long the answer must stay as it is. */
  readonly holdMs?: number;
}

/** An ingress controller Pod on a node (as a DaemonSet runs one), Ready or not, as its kubelet reports it. */
function ingressPod(w: World, i: number): void {
  w.kube.createObject('pods', {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: `ingress-${i}`, namespace: 'default', labels: { app: 'ingress' } },
    spec: { nodeName: `worker-${i}`, containers: [{ name: 'ingress', image: 'ingress-controller', ports: [{ containerPort: 8080 }] }] },
  });
  setReady(w, i, true, `10.244.${i}.5`);
}

function setReady(w: World, i: number, ready: boolean, podIP?: string): void {
  w.kube.patchObject('pods', `ingress-${i}`, {
    status: { phase: 'Running', ...(podIP ? { podIP } : {}), conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  }, { namespace: 'default', type: 'merge' });
}

/** The ingress Service whose endpoints decide which nodes serve (SERVE_FROM_ENDPOINTS_OF=default/ingress). */
function ingress(w: World): void {
  w.kube.createObject('services', {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'ingress', namespace: 'default' },
    spec: { selector: { app: 'ingress' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  });
  for (const i of [1, 2, 3]) ingressPod(w, i);
}

const STEPS: readonly Step[] = [
  { title: 'Start: three nodes, each running an ingress pod: three records', act: () => undefined, expect: [simNodeIp(1), simNodeIp(2), simNodeIp(3)] },
  { title: 'The ingress pod on worker-3 stops being ready (its readiness probe fails): traffic could not land there, its record goes',
    act: (w) => setReady(w, 3, false), expect: [simNodeIp(1), simNodeIp(2)] },
  { title: 'The ingress pod on worker-3 is ready again: its record comes back',
    act: (w) => setReady(w, 3, true), expect: [simNodeIp(1), simNodeIp(2), simNodeIp(3)] },
  { title: 'worker-2 gets the first autoscaler taint (DeletionCandidateOfClusterAutoscaler): nothing changes',
    act: (w) => w.kube.patchNode('worker-2', { spec: { taints: [CA_CANDIDATE] } }),
    expect: [simNodeIp(1), simNodeIp(2), simNodeIp(3)], holdMs: 1500 },
  { title: 'worker-2 gets the second taint (ToBeDeletedByClusterAutoscaler): its record goes',
    act: (w) => w.kube.patchNode('worker-2', { spec: { taints: [CA_CANDIDATE, CA_DELETE] } }),
    expect: [simNodeIp(1), simNodeIp(3)] },
  { title: 'The autoscaler deletes worker-2: the answer stays without it',
    act: (w) => w.kube.deleteNode('worker-2'), expect: [simNodeIp(1), simNodeIp(3)], holdMs: 1000 },
  { title: 'A new node, worker-4, joins and its ingress pod starts: its record appears',
    act: (w) => {
      w.kube.createNode(makeNode('worker-4', { externalIP: simNodeIp(4), internalIP: '10.0.0.4' }));
      ingressPod(w, 4);
    },
    expect: [simNodeIp(1), simNodeIp(3), simNodeIp(4)] },
];

async function query(resolver: Resolver, name: string): Promise<string[]> {
  try {
    return (await resolver.resolve4(name)).sort();
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOTFOUND' || code === 'ENODATA') return [];
    throw err;
  }
}

const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((v, i) => v === b[i]);

async function waitForAnswer(resolver: Resolver, name: string, want: readonly string[], timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let got = await query(resolver, name);
  while (!same(got, want) && Date.now() < deadline) {
    await sleep(100);
    got = await query(resolver, name);
  }
  return got;
}

function startService(world: World): ChildProcess {
  const main = fileURLToPath(new URL('../main.js', import.meta.url));
  const child = spawn(process.execPath, [main, 'run'], {
    env: {
      ...process.env, ...world.env, LOG_FORMAT: 'console', LOG_LEVEL: 'INFO', HEALTH_PORT: '0', DNS_SYNC_INTERVAL: '60', RETRY_DELAY: '0.2',
      SERVE_FROM_ENDPOINTS_OF: 'default/ingress',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream }).on('line', (l) => process.stdout.write(`    | ${l}\n`));
  }
  return child;
}

export async function demoCommand(signal: AbortSignal): Promise<number> {
  const world = await startWorld({ nodes: 3 });
  ingress(world);
  const name = world.hostnames[0] ?? 'app.example.com';
  const resolver = new Resolver({ timeout: 1000, tries: 1 });
  resolver.setServers([`127.0.0.1:${world.cloudflare.dnsPort}`]);
  process.stdout.write(`Epictetus demo: simulated cluster ${world.kube.url}, simulated Cloudflare ${world.cloudflare.baseUrl}\n`);
  process.stdout.write(`Each step shows: dig @127.0.0.1 -p ${world.cloudflare.dnsPort} ${name} A +short\n\n`);
  const service = startService(world);
  const exited = new Promise<number | null>((resolve) => service.once('exit', (code) => resolve(code)));
  let failures = 0;
  try {
    for (const [i, step] of STEPS.entries()) {
      if (signal.aborted) break;
      process.stdout.write(`\n== Step ${i + 1}: ${step.title}\n`);
      step.act(world);
      let got: string[];
      if (step.holdMs !== undefined) {
        await sleep(step.holdMs);
        got = await query(resolver, name);
      } else {
        got = await waitForAnswer(resolver, name, step.expect, 15_000);
      }
      const ok = same(got, step.expect);
      if (!ok) failures++;
      process.stdout.write(`   DNS answer for ${name}: ${got.join(', ') || '(none)'}\n`);
      process.stdout.write(`   ${ok ? 'OK' : `WRONG: expected ${step.expect.join(', ')}`}\n`);
    }
  } finally {
    service.kill('SIGTERM');
    const code = await Promise.race([exited, sleep(10_000).then(() => 'timeout' as const)]);
    if (code !== 0) {
      failures++;
      process.stdout.write(`\nthe service did not stop cleanly on SIGTERM (${String(code)})\n`);
      service.kill('SIGKILL');
    }
    await world.stop();
  }
  process.stdout.write(failures === 0 ? '\nDemo passed: every step showed the expected DNS answer.\n' : `\nDemo FAILED: ${failures} problem(s).\n`);
  return failures === 0 ? 0 : 1;
}
