/**
 * The Kubernetes calls the sources need — list (paged) and watch of Nodes, Services and
 * EndpointSlices, /version, and one merge patch of a Node annotation — over KubeClient.
 */
import { EpictetusError } from '../model/errors.js';
import { KubeClient, type CallOptions } from './http.js';
import { resolveKubeTarget, type ResolveOptions } from './kubeconfig.js';

export type { CallOptions } from './http.js';

export interface ListPage {
  readonly items: readonly unknown[];
  readonly resourceVersion: string;
  readonly continue: string | undefined;
}

export interface WatchHandle { abort(): void }

export interface ListOptions extends CallOptions {
  readonly limit: number;
  readonly continue?: string | undefined;
}

/** List and watch of one resource, cluster-wide. */
export interface ResourceApi {
  /** One page; the next is asked for with its `continue`. */
  list(opts: ListOptions): Promise<ListPage>;
  /**
   * Streams events from `resourceVersion`; `onDone` is called once when the stream ends: null
   * when the server ended it, else the error (`status` 410 when the version is too old). Not
   * called after `abort()`.
   */
  watch(
    resourceVersion: string,
    onEvent: (type: string, object: unknown) => void,
    onDone: (err: unknown) => void,
    /** Sees each event's JSON text first; true: handled, not parsed (see WatchRequest.prefilter). */
    prefilter?: (line: string) => boolean,
  ): Promise<WatchHandle>;
}

export interface KubeApi {
  readonly nodes: ResourceApi;
  readonly services: ResourceApi;
  /** discovery.k8s.io/v1 EndpointSlices of every namespace, optionally only those matching a label selector. */
  endpointSlices(opts?: { readonly labelSelector?: string }): ResourceApi;
  version(opts?: CallOptions): Promise<string>;
  /** A JSON merge patch of one Node annotation (null removes it): nothing else is touched. */
  setNodeAnnotation(node: string, key: string, value: string | null, opts?: CallOptions): Promise<void>;
}

/** The connection `loadKubeConfig` resolves; `describe()` says which source, context and server. */
export type KubeConnection = KubeClient;

/**
 * K8S_CONFIG_PATH when set (`path`), else in-cluster, else KUBECONFIG, else ~/.kube/config
 * (see kubeconfig.ts); EPI_KUBECONFIG naming the file and the problem when none works.
 */
export function loadKubeConfig(path: string, opts: ResolveOptions = {}): KubeConnection {
  return new KubeClient(resolveKubeTarget(path, opts));
}

/** Server-side watch timeout, jittered so that replicas do not reconnect in step. */
export function watchTimeoutSeconds(random: () => number = Math.random): number {
  return 240 + Math.floor(random() * 61);
}

/** A watch that sees no byte for its timeout plus this long is ended as failed. */
export const WATCH_IDLE_GRACE_MS = 30_000;

function query(params: Record<string, string | number | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s === '' ? '' : `?${s}`;
}

interface ListAnswer { items?: unknown; metadata?: { resourceVersion?: unknown; continue?: unknown } }

function resourceApi(client: KubeClient, path: string, what: string, labelSelector?: string): ResourceApi {
  return {
    async list({ limit, continue: cont, signal, timeoutMs }) {
      const answer = await client.request<ListAnswer | undefined>({
        path: `${path}${query({ limit, continue: cont, labelSelector })}`, what: `list ${what}`, signal, timeoutMs,
      });
      if (!Array.isArray(answer?.items)) throw new EpictetusError('EPI_KUBE_DECODE', `Kubernetes list ${what}: the answer has no items list`, { retryable: true });
      const rv = answer.metadata?.resourceVersion;
      const next = answer.metadata?.continue;
      return { items: answer.items as unknown[], resourceVersion: typeof rv === 'string' ? rv : '', continue: typeof next === 'string' && next !== '' ? next : undefined };
    },
    async watch(resourceVersion, onEvent, onDone, prefilter) {
      const timeoutSeconds = watchTimeoutSeconds();
      return client.watch({
        path: `${path}${query({ watch: true, resourceVersion, allowWatchBookmarks: true, timeoutSeconds, labelSelector })}`,
        what: `watch ${what}`, idleTimeoutMs: timeoutSeconds * 1000 + WATCH_IDLE_GRACE_MS, onEvent, onDone, ...(prefilter ? { prefilter } : {}),
      });
    },
  };
}

export function createKubeApi(client: KubeConnection): KubeApi {
  return {
    nodes: resourceApi(client, '/api/v1/nodes', 'nodes'),
    services: resourceApi(client, '/api/v1/services', 'services'),
    endpointSlices: (opts = {}) => resourceApi(client, '/apis/discovery.k8s.io/v1/endpointslices', 'endpointslices', opts.labelSelector),
    async version(opts = {}) {
      const v = await client.request<{ gitVersion?: unknown } | undefined>({ path: '/version', what: 'version', ...opts });
      if (typeof v?.gitVersion !== 'string') throw new EpictetusError('EPI_KUBE_DECODE', 'Kubernetes version: the answer has no gitVersion', { retryable: true });
      return v.gitVersion;
    },
    async setNodeAnnotation(node, key, value, opts = {}) {
      await client.request({
        method: 'PATCH', path: `/api/v1/nodes/${encodeURIComponent(node)}`, what: `annotate node ${node}`,
        contentType: 'application/merge-patch+json', body: { metadata: { annotations: { [key]: value } } }, ...opts,
      });
    },
  };
}
