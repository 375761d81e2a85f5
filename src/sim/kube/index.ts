import { DEFAULT_VERSION } from './discovery.js';
import { EndpointSliceController } from './controllers/endpointslice-controller.js';
import { builtinResources, namespaces, nodes } from './kinds/index.js';
import { cloneJson, isObject, objectAt, stringAt, type JsonObject } from './json.js';
import { writeKubeconfig } from './kubeconfig.js';
import type { PatchType } from './patch.js';
import type { ResourceDef } from './resource.js';
import { SimServer, type FaultSpec, type RequestRecord } from './server.js';
import { ApiError, statusObject } from './status.js';
import { Store } from './store.js';

export { makeNode, touchHeartbeat, type MakeNodeOptions, type Taint } from './nodes.js';
export { CONTEXT_NAME } from './kubeconfig.js';
export { ApiError } from './status.js';
export { microTime } from './validation.js';
export type { FaultSpec, RequestRecord } from './server.js';
export type { Json, JsonObject } from './json.js';
export type { PatchType } from './patch.js';
export type { Column, ResourceDef } from './resource.js';
export { withMetadataMergeKeys } from './kinds/common.js';

/** Objects as the simulator hands them out: plain JSON copies, safe to keep and modify. */
export type KubeObject = JsonObject;

export interface KubeSimOptions {
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Watch events kept per resource (default 1000); watching from an older resourceVersion gets 410 Expired. */
  historyLimit?: number;
  /**
   * When set, requests need `Authorization: Bearer <token>`: a wrong token gets 401, none at all
   * makes the client system:anonymous (403 except /version and the health checks).
   */
  token?: string;
  /** How often watches that allow bookmarks get a BOOKMARK (default 5000 ms; a real server: about a minute). */
  bookmarkIntervalMs?: number;
  /** gitVersion served on /version (default v1.32.4); the kubectl dispatcher picks its binary from it. */
  version?: string;
  /** More resources to serve besides the built-in ones (see ResourceDef). */
  resources?: readonly ResourceDef[];
  /**
   * Run the EndpointSlice controller (default true): Services with a selector get
   * discovery.k8s.io/v1 EndpointSlices listing their Pods, as in a cluster. Off, slices are only
   * what clients write.
   */
  endpointSliceController?: boolean;
}

export interface ListObjectsOptions {
  labelSelector?: string;
  fieldSelector?: string;
}

export interface WatchErrorStatus {
  code: number;
  reason: string;
  message: string;
}

const DEFAULT_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

function toObject(value: object): JsonObject {
  const json: unknown = JSON.parse(JSON.stringify(value));
  if (!isObject(json)) throw new TypeError('expected a JSON object');
  return json;
}

/**
 * A Kubernetes API server simulator over plain HTTP serving Nodes, Namespaces, Services, Pods,
 * discovery.k8s.io EndpointSlices (kept by a built-in EndpointSlice controller), coordination.k8s.io
 * Leases and Events (events.k8s.io/v1 and core/v1 over the same objects). It serves discovery,
 * OpenAPI v2 and v3 (openapi/), validates fields as fieldValidation asks, and reads the protobuf
 * bodies kubectl's typed commands send for Services and Namespaces.
 */
export class KubeSim {
  private constructor(
    private readonly store: Store,
    private readonly server: SimServer,
  ) {}

  static async start(opts: KubeSimOptions = {}): Promise<KubeSim> {
    const store = new Store(opts.historyLimit ?? 1000);
    for (const def of [...builtinResources, ...(opts.resources ?? [])]) store.register(def);
    for (const name of DEFAULT_NAMESPACES) store.create(namespaces, undefined, { metadata: { name } });
    const server = new SimServer(
      store,
      { gitVersion: opts.version ?? DEFAULT_VERSION, bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 5000 },
      opts.host ?? '127.0.0.1',
      opts.token,
    );
    await server.listen(opts.port ?? 0);
    if (opts.endpointSliceController ?? true) EndpointSliceController.forStore(store).start();
    return new KubeSim(store, server);
  }

  get url(): string {
    return this.server.url;
  }

  get resourceVersion(): number {
    return this.store.resourceVersion;
  }

  /** Every request served, oldest first (the last 10 000). */
  get requests(): RequestRecord[] {
    return this.server.requests;
  }

  /** Watch streams currently open. */
  get openWatches(): number {
    return this.server.watches.size;
  }

  writeKubeconfig(path: string): void {
    writeKubeconfig(path, this.url, this.server.token);
  }

  // ---- direct state access: same rules as the HTTP API (resourceVersions, watch events, validation) ----

  createNode(node: object): KubeObject {
    return cloneJson(this.store.create(nodes, undefined, toObject(node)));
  }

  getNode(name: string): KubeObject | undefined {
    return this.getObject('nodes', name);
  }

  listNodes(): KubeObject[] {
    return this.listObjects('nodes');
  }

  /** Patches spec and status alike (as the kubelet and controllers together would). */
  patchNode(name: string, patch: object, type: 'merge' | 'strategic' = 'strategic'): KubeObject {
    return this.patchObject('nodes', name, patch, { type });
  }

  /** Like `kubectl delete node`: with finalizers present it only sets deletionTimestamp. */
  deleteNode(name: string): void {
    this.deleteObject('nodes', name);
  }

  /** resource: "nodes", "services", "leases.coordination.k8s.io", "events.events.k8s.io", ... */
  createObject(resource: string, obj: object): KubeObject {
    const body = toObject(obj);
    const namespace = stringAt(objectAt(body, 'metadata'), 'namespace');
    return cloneJson(this.store.create(this.def(resource), namespace, body));
  }

  getObject(resource: string, name: string, namespace?: string): KubeObject | undefined {
    const def = this.def(resource);
    try {
      return cloneJson(this.store.get(def, def.namespaced ? (namespace ?? 'default') : undefined, name));
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) return undefined;
      throw err;
    }
  }

  /** Objects of every namespace unless `namespace` is given, filtered like `?labelSelector=`/`?fieldSelector=`. */
  listObjects(resource: string, namespace?: string, opts: ListObjectsOptions = {}): KubeObject[] {
    return this.store.list(this.def(resource), { namespace, ...opts }).items.map((o) => cloneJson(o));
  }

  /** The EndpointSlices of a Service (labelled kubernetes.io/service-name), by name. */
  endpointSlices(service: string, namespace = 'default'): KubeObject[] {
    return this.listObjects('endpointslices.discovery.k8s.io', namespace, { labelSelector: `kubernetes.io/service-name=${service}` });
  }

  patchObject(resource: string, name: string, patch: object | object[], opts: { namespace?: string; type?: PatchType } = {}): KubeObject {
    const def = this.def(resource);
    const namespace = def.namespaced ? (opts.namespace ?? 'default') : undefined;
    const body: unknown = JSON.parse(JSON.stringify(patch));
    return cloneJson(this.store.patch(def, namespace, name, opts.type ?? 'strategic', body, { scope: 'all' }));
  }

  /**
   * Like DELETE: with finalizers the object is only marked as deleting; a Pod on a node is deleted
   * gracefully (kept with a deletionTimestamp `gracePeriodSeconds` ahead, default its
   * terminationGracePeriodSeconds) until deleted again with `gracePeriodSeconds: 0`.
   * Returns the object when it is still there, undefined when it is gone.
   */
  deleteObject(resource: string, name: string, namespace?: string, opts: { gracePeriodSeconds?: number } = {}): KubeObject | undefined {
    const def = this.def(resource);
    const result = this.store.delete(def, def.namespaced ? (namespace ?? 'default') : undefined, name, opts);
    return result.deleted ? undefined : cloneJson(result.object);
  }

  private def(resource: string): ResourceDef {
    return this.store.resource(resource);
  }

  // ---- faults ----

  /** Cuts every open watch stream abruptly, like a network failure. */
  dropWatches(): void {
    for (const watch of [...this.server.watches]) watch.drop();
  }

  /** Ends every open watch cleanly, like the API server's request timeout does; clients re-watch. */
  endWatches(): void {
    for (const watch of [...this.server.watches]) watch.end();
  }

  /** Forgets watch history (like an etcd compaction): watches from any older resourceVersion get 410 Expired. */
  expireHistory(): void {
    this.store.expireHistory();
  }

  /** Like an API server restart: all connections cut, history expired, objects kept, same port. */
  async restart(): Promise<void> {
    this.store.expireHistory();
    await this.server.restart();
  }

  /** The next matching request(s) get `status` with a metav1 Status body (or `body` as given). */
  failNext(opts: FaultSpec): void {
    this.server.failNext(opts);
  }

  /** Failures queued by failNext and not yet served. */
  get pendingFaults(): number {
    return this.server.pendingFaults;
  }

  /** Drops the failures queued by failNext that were not served yet. */
  clearFaults(): void {
    this.server.clearFaults();
  }

  /** Delays every answer (and the start of every watch) by `ms`. */
  setLatency(ms: number): void {
    this.server.latencyMs = ms;
  }

  /**
   * Pushes an ERROR event into every open watch of `resource` (default nodes). The API server
   * ends a watch after an ERROR; `keepOpen` leaves the stream running instead.
   */
  sendWatchError(
    status: WatchErrorStatus = {
      code: 500,
      reason: 'InternalError',
      message: 'an error on the server ("unknown") has prevented the request from succeeding',
    },
    opts: { keepOpen?: boolean; resource?: string } = {},
  ): void {
    const def = this.def(opts.resource ?? 'nodes');
    for (const watch of [...this.server.watches]) {
      if (watch.resource === def) watch.error(statusObject(status.code, status.reason, status.message), opts.keepOpen ?? false);
    }
  }

  /** Sends a BOOKMARK now to every watch that allowed bookmarks. */
  sendBookmarks(): void {
    for (const watch of [...this.server.watches]) watch.bookmark();
  }

  async stop(): Promise<void> {
    await this.server.close();
  }
}
