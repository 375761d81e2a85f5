/**
 * One way to drive a Kubernetes API in tests, whichever server is behind it: the simulator
 * (src/sim/kube) or a real kube-apiserver (test/kube-apiserver, see kube-apiserver.ts). Both
 * are driven over HTTP with @kubernetes/client-node, never through the simulator's in-process
 * methods, so a test that passes on one and fails on the other points at a real difference.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { KubeSim } from '../../src/sim/kube/index.js';
import { startKubeApiserver, type KubeApiserver } from './kube-apiserver.js';

export type BackendKind = 'sim' | 'real';
export type NodePatchType = 'strategic' | 'merge';

export interface KubeBackend {
  readonly kind: BackendKind;
  /** A kubeconfig for the service and for kubectl. */
  readonly kubeconfigPath: string;
  /** The server's /version gitVersion. */
  readonly version: string;
  /**
   * Creates a Node as a kubelet registers one and the control plane then sees it: status as
   * given (a real server keeps the status of a Node POST; were it dropped, it would be written
   * through /status), and without the not-ready taint that the real server's admission adds
   * when the node is Ready, as the node lifecycle controller would (see createNode below).
   */
  createNode(node: object): Promise<k8s.V1Node>;
  /** Patches the Node (the main resource: status changes are ignored there, as on a real server). */
  patchNode(name: string, patch: object, type: NodePatchType): Promise<k8s.V1Node>;
  /** Patches the Node's /status subresource, as the kubelet does. */
  patchNodeStatus(name: string, patch: object, type: NodePatchType): Promise<k8s.V1Node>;
  deleteNode(name: string): Promise<void>;
  listNodes(): Promise<k8s.V1Node[]>;
  /** Namespace from metadata.namespace, default "default". */
  createService(service: object): Promise<k8s.V1Service>;
  patchService(namespace: string, name: string, patch: object, type: NodePatchType): Promise<k8s.V1Service>;
  deleteService(namespace: string, name: string): Promise<void>;
  /** Services of every namespace (a real server has default/kubernetes). */
  listServices(): Promise<k8s.V1Service[]>;
  /**
   * A kubeconfig for an identity that may read Nodes and Services and write Events, but is
   * refused (403) listing `denied` — as after an RBAC change. `allow()` grants it. On the real
   * server this is RBAC with a ServiceAccount token; on the simulator (which has no RBAC) the
   * same 403 answer, injected.
   */
  deniedIdentity(denied: 'nodes' | 'services'): Promise<{ kubeconfigPath: string; allow(): Promise<void> }>;
  /**
   * Creates a Service of type ClusterIP selecting Pods by `selector` (Kubernetes' EndpointSlice
   * controller then keeps EndpointSlices of the Pods it selects; on the simulator, its own).
   */
  createSelectorService(opts: SelectorServiceOptions): Promise<k8s.V1Service>;
  /**
   * Creates a Pod as if scheduled onto `node` (spec.nodeName), then plays its kubelet: through the
   * /status subresource the Pod gets phase Running, its IP and a Ready condition (`ready`).
   */
  createPod(opts: PodOptions): Promise<k8s.V1Pod>;
  /** The kubelet's readiness report: the Ready (and ContainersReady) condition through /status. */
  setPodReady(namespace: string, name: string, ready: boolean): Promise<k8s.V1Pod>;
  /**
   * Deletes the Pod with a grace period (default 30 s): with no kubelet to stop it, the Pod stays,
   * marked with a deletionTimestamp, until finishPodTermination. Resolves the marked Pod.
   */
  startPodTermination(namespace: string, name: string, gracePeriodSeconds?: number): Promise<k8s.V1Pod>;
  /** The kubelet's last word: deletes the Pod with gracePeriodSeconds 0; resolves once it is gone. */
  finishPodTermination(namespace: string, name: string): Promise<void>;
  /** Pods of every namespace. */
  listPods(): Promise<k8s.V1Pod[]>;
  /** discovery.k8s.io/v1 EndpointSlices of a namespace (of every one without), e.g. by `kubernetes.io/service-name=web`. */
  listEndpointSlices(opts?: { namespace?: string; labelSelector?: string }): Promise<k8s.V1EndpointSlice[]>;
  /** A watch of EndpointSlices (ADDED/MODIFIED/DELETED as they come), from now on or from `resourceVersion`. */
  watchEndpointSlices(opts?: { namespace?: string; labelSelector?: string; resourceVersion?: string }): Promise<SliceWatch>;
  /** A raw JSON request with the backend's credentials; the answer's body as the server sent it (parsed). */
  request(method: string, path: string, body?: unknown, contentType?: string): Promise<RawAnswer>;
  /** The Lease, or undefined when there is none. */
  getLease(namespace: string, name: string): Promise<k8s.V1Lease | undefined>;
  /** core/v1 Events of a namespace (Events about Nodes live in "default"). */
  listEvents(namespace: string): Promise<k8s.CoreV1Event[]>;
  /**
   * Makes every open watch end so that resuming it from its resourceVersion gets 410 Gone
   * ("too old resource version"): clients must re-list. Both backends do it the same way: a
   * write moves the resourceVersion on, then the API server restarts on the same address with
   * its objects kept and its watch history gone (simulator: `restart()`; real: etcd compacted
   * and a new apiserver, whose fresh watch cache starts at the current revision).
   */
  forceWatchExpiry(): Promise<void>;
  stop(): Promise<void>;
}

export interface SelectorServiceOptions {
  readonly name: string;
  /** Default "default". */
  readonly namespace?: string;
  readonly selector: Readonly<Record<string, string>>;
  /** Default one port, "http" 80 → 8080. */
  readonly ports?: ReadonlyArray<{ name?: string; port: number; targetPort?: number | string }>;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface PodOptions {
  readonly name: string;
  /** Default "default". */
  readonly namespace?: string;
  /** spec.nodeName: the Node the Pod runs on (the EndpointSlice controller skips Pods on missing Nodes). */
  readonly node: string;
  readonly labels: Readonly<Record<string, string>>;
  /** status.podIP; without one the Pod stays Pending with no status written (no endpoint either). */
  readonly ip?: string;
  /** The Ready condition (default true). */
  readonly ready?: boolean;
  /** Container ports (default "http" 8080). */
  readonly ports?: ReadonlyArray<{ name?: string; containerPort: number }>;
}

export interface RawAnswer {
  readonly status: number;
  /** The body as the server sent it, parsed. */
  readonly body: unknown;
  readonly headers: http.IncomingHttpHeaders;
}

export interface SliceEvent {
  readonly type: string;
  readonly object: k8s.V1EndpointSlice;
}

export interface SliceWatch {
  readonly events: readonly SliceEvent[];
  /** Resolves the first event from index `from` on (default 0: those already seen too) that `match` accepts. */
  next(match: (e: SliceEvent) => boolean, opts?: { from?: number; timeoutMs?: number }): Promise<SliceEvent>;
  stop(): void;
}

const PATCH_CONTENT_TYPE: Record<NodePatchType, string> = {
  strategic: k8s.PatchStrategy.StrategicMergePatch,
  merge: k8s.PatchStrategy.MergePatch,
};

function isNotFound(err: unknown): boolean {
  return err instanceof k8s.ApiException && err.code === 404;
}

/** The conditions a kubelet reports for a Pod whose containers are (not) ready. */
function readiness(ready: boolean, at: Date): k8s.V1PodCondition[] {
  const status = ready ? 'True' : 'False';
  return [
    { type: 'Ready', status, lastTransitionTime: at },
    { type: 'ContainersReady', status, lastTransitionTime: at },
  ];
}

const NOT_READY_TAINT = 'node.kubernetes.io/not-ready';
const BUMP_NAMESPACE = 'kube-public';
const BUMP_LEASE = 'kube-backend-watch-expiry';

/** A backend's API calls, the same for both kinds. */
class ClientBackend implements Omit<KubeBackend, 'kind' | 'version' | 'forceWatchExpiry' | 'stop' | 'deniedIdentity'> {
  readonly core: k8s.CoreV1Api;
  readonly coordination: k8s.CoordinationV1Api;
  readonly discovery: k8s.DiscoveryV1Api;
  private readonly kc: k8s.KubeConfig;

  constructor(readonly kubeconfigPath: string) {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    this.kc = kc;
    this.core = kc.makeApiClient(k8s.CoreV1Api);
    this.coordination = kc.makeApiClient(k8s.CoordinationV1Api);
    this.discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
  }

  async createNode(node: object): Promise<k8s.V1Node> {
    const want = node as k8s.V1Node;
    let created = await this.core.createNode({ body: want });
    const name = created.metadata?.name ?? '';
    // The kubelet's part: a status that POST did not keep goes through /status.
    if (want.status !== undefined && JSON.stringify(created.status?.addresses ?? []) !== JSON.stringify(want.status.addresses ?? [])) {
      created = await this.core.replaceNodeStatus({ name, body: { ...created, status: want.status } });
    }
    // The node lifecycle controller's part: the TaintNodesByCondition admission plugin puts
    // node.kubernetes.io/not-ready:NoSchedule on every new Node; the controller takes it off
    // once Ready is True. No controller runs beside a bare API server, so do it here.
    const requested = want.spec?.taints ?? [];
    const taints = created.spec?.taints ?? [];
    const ready = created.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    const added = (t: k8s.V1Taint) => t.key === NOT_READY_TAINT && t.effect === 'NoSchedule' && !requested.some((r) => r.key === t.key && r.effect === t.effect);
    if (ready && taints.some(added)) {
      const kept = taints.filter((t) => !added(t));
      created = await this.patchNode(name, { spec: { taints: kept.length > 0 ? kept : null } }, 'merge');
    }
    return created;
  }

  patchNode(name: string, patch: object, type: NodePatchType): Promise<k8s.V1Node> {
    return this.core.patchNode({ name, body: patch }, k8s.setHeaderOptions('Content-Type', PATCH_CONTENT_TYPE[type]));
  }

  patchNodeStatus(name: string, patch: object, type: NodePatchType): Promise<k8s.V1Node> {
    return this.core.patchNodeStatus({ name, body: patch }, k8s.setHeaderOptions('Content-Type', PATCH_CONTENT_TYPE[type]));
  }

  async deleteNode(name: string): Promise<void> {
    await this.core.deleteNode({ name });
  }

  async listNodes(): Promise<k8s.V1Node[]> {
    return (await this.core.listNode()).items;
  }

  createService(service: object): Promise<k8s.V1Service> {
    const body = service as k8s.V1Service;
    return this.core.createNamespacedService({ namespace: body.metadata?.namespace ?? 'default', body });
  }

  patchService(namespace: string, name: string, patch: object, type: NodePatchType): Promise<k8s.V1Service> {
    return this.core.patchNamespacedService({ namespace, name, body: patch }, k8s.setHeaderOptions('Content-Type', PATCH_CONTENT_TYPE[type]));
  }

  async deleteService(namespace: string, name: string): Promise<void> {
    await this.core.deleteNamespacedService({ namespace, name });
  }

  async listServices(): Promise<k8s.V1Service[]> {
    return (await this.core.listServiceForAllNamespaces()).items;
  }

  createSelectorService(opts: SelectorServiceOptions): Promise<k8s.V1Service> {
    const namespace = opts.namespace ?? 'default';
    const ports = opts.ports ?? [{ name: 'http', port: 80, targetPort: 8080 }];
    return this.core.createNamespacedService({
      namespace,
      body: {
        metadata: { name: opts.name, namespace, labels: { ...opts.labels }, annotations: { ...opts.annotations } },
        spec: { type: 'ClusterIP', selector: { ...opts.selector }, ports: ports.map((p) => ({ ...p })) },
      },
    });
  }

  async createPod(opts: PodOptions): Promise<k8s.V1Pod> {
    const namespace = opts.namespace ?? 'default';
    const ports = opts.ports ?? [{ name: 'http', containerPort: 8080 }];
    const created = await this.core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: opts.name, namespace, labels: { ...opts.labels } },
        spec: { nodeName: opts.node, containers: [{ name: 'app', image: 'registry.example/app:1.0', ports: ports.map((p) => ({ ...p })) }] },
      },
    });
    if (opts.ip === undefined) return created;
    const now = new Date();
    return this.patchPodStatus(namespace, opts.name, {
      status: {
        phase: 'Running',
        podIP: opts.ip,
        podIPs: [{ ip: opts.ip }],
        startTime: now,
        conditions: readiness(opts.ready ?? true, now),
      },
    });
  }

  setPodReady(namespace: string, name: string, ready: boolean): Promise<k8s.V1Pod> {
    return this.patchPodStatus(namespace, name, { status: { conditions: readiness(ready, new Date()) } });
  }

  private patchPodStatus(namespace: string, name: string, patch: object): Promise<k8s.V1Pod> {
    return this.core.patchNamespacedPodStatus({ namespace, name, body: patch }, k8s.setHeaderOptions('Content-Type', PATCH_CONTENT_TYPE.strategic));
  }

  startPodTermination(namespace: string, name: string, gracePeriodSeconds = 30): Promise<k8s.V1Pod> {
    return this.core.deleteNamespacedPod({ namespace, name, body: { gracePeriodSeconds } });
  }

  async finishPodTermination(namespace: string, name: string): Promise<void> {
    try {
      await this.core.deleteNamespacedPod({ namespace, name, body: { gracePeriodSeconds: 0 } });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async listPods(): Promise<k8s.V1Pod[]> {
    return (await this.core.listPodForAllNamespaces()).items;
  }

  async listEndpointSlices(opts: { namespace?: string; labelSelector?: string } = {}): Promise<k8s.V1EndpointSlice[]> {
    const list = opts.namespace
      ? await this.discovery.listNamespacedEndpointSlice({ namespace: opts.namespace, labelSelector: opts.labelSelector })
      : await this.discovery.listEndpointSliceForAllNamespaces({ labelSelector: opts.labelSelector });
    return list.items;
  }

  async watchEndpointSlices(opts: { namespace?: string; labelSelector?: string; resourceVersion?: string } = {}): Promise<SliceWatch> {
    const path = opts.namespace ? `/apis/discovery.k8s.io/v1/namespaces/${opts.namespace}/endpointslices` : '/apis/discovery.k8s.io/v1/endpointslices';
    const events: SliceEvent[] = [];
    let failure: unknown;
    const waiters = new Set<() => void>();
    const wake = () => {
      for (const w of [...waiters]) w();
    };
    const query: Record<string, string> = {};
    if (opts.labelSelector) query.labelSelector = opts.labelSelector;
    if (opts.resourceVersion) query.resourceVersion = opts.resourceVersion;
    const controller = await new k8s.Watch(this.kc).watch(
      path,
      query,
      (type, object: k8s.V1EndpointSlice) => {
        events.push({ type, object });
        wake();
      },
      (err: unknown) => {
        failure = err ?? new Error('the watch ended');
        wake();
      },
    );
    return {
      events,
      next(match, { from = 0, timeoutMs = 15_000 } = {}) {
        return new Promise((resolve, reject) => {
          const timer = setTimeout(() => done(new Error(`no matching EndpointSlice event within ${timeoutMs} ms (saw ${events.map((e) => e.type).join(', ') || 'none'})`)), timeoutMs);
          const done = (err?: unknown, event?: SliceEvent) => {
            clearTimeout(timer);
            waiters.delete(check);
            if (event) resolve(event);
            else reject(err instanceof Error ? err : new Error(String(err)));
          };
          const check = () => {
            const found = events.slice(from).find(match);
            if (found) done(undefined, found);
            else if (failure !== undefined) done(failure);
          };
          waiters.add(check);
          check();
        });
      },
      stop() {
        controller.abort();
      },
    };
  }

  async request(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<RawAnswer> {
    const options: https.RequestOptions = {};
    await this.kc.applyToHTTPSOptions(options);
    const url = new URL(path, this.kc.getCurrentCluster()?.server);
    const send = url.protocol === 'https:' ? https.request : http.request;
    const headers = { ...options.headers, Accept: 'application/json', ...(body === undefined ? {} : { 'Content-Type': contentType }) };
    return new Promise((resolve, reject) => {
      const req = send(url, { ...options, method, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, body: text === '' ? undefined : (JSON.parse(text) as unknown), headers: res.headers });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  async getLease(namespace: string, name: string): Promise<k8s.V1Lease | undefined> {
    try {
      return await this.coordination.readNamespacedLease({ namespace, name });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async listEvents(namespace: string): Promise<k8s.CoreV1Event[]> {
    return (await this.core.listNamespacedEvent({ namespace })).items;
  }

  /** A write that moves the resourceVersion past anything a watcher of other resources saw. */
  async bumpResourceVersion(): Promise<void> {
    const renewTime = new k8s.V1MicroTime(Date.now());
    const existing = await this.getLease(BUMP_NAMESPACE, BUMP_LEASE);
    if (existing === undefined) {
      await this.coordination.createNamespacedLease({
        namespace: BUMP_NAMESPACE,
        body: { metadata: { name: BUMP_LEASE, namespace: BUMP_NAMESPACE }, spec: { holderIdentity: 'kube-backend', renewTime } },
      });
    } else {
      await this.coordination.replaceNamespacedLease({
        namespace: BUMP_NAMESPACE,
        name: BUMP_LEASE,
        body: { ...existing, spec: { ...existing.spec, renewTime } },
      });
    }
  }
}

/** The Status a real server answers when RBAC refuses a cluster-wide list. */
function forbiddenList(resource: string, user: string): object {
  return {
    kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'Forbidden', code: 403,
    message: `${resource} is forbidden: User "${user}" cannot list resource "${resource}" in API group "" at the cluster scope`,
    details: { kind: resource },
  };
}

class SimBackend extends ClientBackend implements KubeBackend {
  readonly kind = 'sim';

  async deniedIdentity(denied: 'nodes' | 'services'): Promise<{ kubeconfigPath: string; allow(): Promise<void> }> {
    this.sim.failNext({ method: 'GET', pathPrefix: `/api/v1/${denied}`, status: 403, count: 1_000_000, body: forbiddenList(denied, 'system:serviceaccount:default:epictetus') });
    return { kubeconfigPath: this.kubeconfigPath, allow: async () => this.sim.clearFaults() };
  }

  constructor(
    readonly sim: KubeSim,
    kubeconfigPath: string,
    readonly version: string,
    private readonly dir: string,
  ) {
    super(kubeconfigPath);
  }

  async forceWatchExpiry(): Promise<void> {
    await this.bumpResourceVersion();
    await this.sim.restart();
  }

  async stop(): Promise<void> {
    await this.sim.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

class RealBackend extends ClientBackend implements KubeBackend {
  readonly kind = 'real';

  async deniedIdentity(denied: 'nodes' | 'services'): Promise<{ kubeconfigPath: string; allow(): Promise<void> }> {
    const name = `epictetus-${Math.random().toString(36).slice(2, 8)}`;
    const rule = (resources: string[], verbs: string[], apiGroups = ['']) => ({ apiGroups, resources, verbs });
    const role = (roleName: string, rules: object[]) => this.request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', { metadata: { name: roleName }, rules });
    const bind = (roleName: string) => this.request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
      metadata: { name: roleName }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: roleName },
      subjects: [{ kind: 'ServiceAccount', name, namespace: 'default' }],
    });
    const allowed = ['nodes', 'services'].filter((r) => r !== denied);
    const answers = [
      await this.request('POST', '/api/v1/namespaces/default/serviceaccounts', { metadata: { name } }),
      await role(name, [rule(allowed, ['get', 'list', 'watch']), rule(['events'], ['create', 'patch'], ['events.k8s.io'])]),
      await bind(name),
    ];
    const token = await this.request('POST', `/api/v1/namespaces/default/serviceaccounts/${name}/token`,
      { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } });
    for (const a of [...answers, token]) if (a.status >= 300) throw new Error(`deniedIdentity: HTTP ${a.status} ${JSON.stringify(a.body).slice(0, 200)}`);
    const original = readFileSync(this.kubeconfigPath, 'utf8');
    const kubeconfigPath = join(mkdtempSync(join(tmpdir(), 'kube-denied-')), 'kubeconfig');
    writeFileSync(kubeconfigPath, original.replace(/^(\s*token:\s*).*$/m, `$1${(token.body as { status: { token: string } }).status.token}`));
    return {
      kubeconfigPath,
      allow: async () => {
        const a = await role(`${name}-${denied}`, [rule([denied], ['get', 'list', 'watch'])]);
        const b = await bind(`${name}-${denied}`);
        if (a.status >= 300 || b.status >= 300) throw new Error(`allow: HTTP ${a.status}/${b.status}`);
      },
    };
  }

  constructor(readonly server: KubeApiserver) {
    super(server.kubeconfigPath);
  }

  get version(): string {
    return this.server.version;
  }

  async forceWatchExpiry(): Promise<void> {
    await this.bumpResourceVersion();
    await this.server.compact();
    await this.server.restart();
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}

export interface SimBackendOptions {
  /** gitVersion the simulator serves on /version (kubectl's dispatcher picks its binary from it). */
  readonly version?: string;
}

/** The simulator, behind its kubeconfig. */
export async function startSimBackend(opts: SimBackendOptions = {}): Promise<KubeBackend> {
  const sim = await KubeSim.start(opts.version ? { version: opts.version } : {});
  const dir = mkdtempSync(join(tmpdir(), 'kube-backend-sim-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  sim.writeKubeconfig(kubeconfigPath);
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const { gitVersion } = await kc.makeApiClient(k8s.VersionApi).getCode();
  return new SimBackend(sim, kubeconfigPath, gitVersion, dir);
}

/** A real kube-apiserver from `binary` (see buildKubeApiserver). */
export async function startRealBackend(binary: string): Promise<KubeBackend> {
  return new RealBackend(await startKubeApiserver(binary));
}
