/**
 * One way to drive a Kubernetes API in tests, whichever server is behind it: the simulator
 * (src/sim/kube) or a real kube-apiserver (test/kube-apiserver, see kube-apiserver.ts). Both
 * are driven over HTTP with @kubernetes/client-node, never through the simulator's in-process
 * methods, so a test that passes on one and fails on the other points at a real difference.
 */
import { mkdtempSync, rmSync } from 'node:fs';
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

const PATCH_CONTENT_TYPE: Record<NodePatchType, string> = {
  strategic: k8s.PatchStrategy.StrategicMergePatch,
  merge: k8s.PatchStrategy.MergePatch,
};

function isNotFound(err: unknown): boolean {
  return err instanceof k8s.ApiException && err.code === 404;
}

const NOT_READY_TAINT = 'node.kubernetes.io/not-ready';
const BUMP_NAMESPACE = 'kube-public';
const BUMP_LEASE = 'kube-backend-watch-expiry';

/** A backend's API calls, the same for both kinds. */
class ClientBackend implements Omit<KubeBackend, 'kind' | 'version' | 'forceWatchExpiry' | 'stop'> {
  readonly core: k8s.CoreV1Api;
  readonly coordination: k8s.CoordinationV1Api;

  constructor(readonly kubeconfigPath: string) {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    this.core = kc.makeApiClient(k8s.CoreV1Api);
    this.coordination = kc.makeApiClient(k8s.CoordinationV1Api);
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

class SimBackend extends ClientBackend implements KubeBackend {
  readonly kind = 'sim';

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
