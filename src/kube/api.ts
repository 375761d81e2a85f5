/** The Kubernetes calls the sources need, over @kubernetes/client-node. */
import * as k8s from '@kubernetes/client-node';
import { EpictetusError } from '../model/errors.js';

export interface ListPage {
  readonly items: readonly unknown[];
  readonly resourceVersion: string;
  readonly continue: string | undefined;
}

export interface WatchHandle { abort(): void }

/** List and watch of one resource, cluster-wide. */
export interface ResourceApi {
  list(opts: { limit: number; continue?: string }): Promise<ListPage>;
  /** Streams events from `resourceVersion`; `onDone` is called once when the stream ends. */
  watch(
    resourceVersion: string,
    onEvent: (type: string, object: unknown) => void,
    onDone: (err: unknown) => void,
  ): Promise<WatchHandle>;
}

export interface KubeApi {
  readonly nodes: ResourceApi;
  readonly services: ResourceApi;
  version(): Promise<string>;
  /** A JSON merge patch of one Node annotation (null removes it): nothing else is touched. */
  setNodeAnnotation(node: string, key: string, value: string | null): Promise<void>;
}

export function loadKubeConfig(path: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  try {
    if (path === '') kc.loadFromCluster();
    else kc.loadFromFile(path);
  } catch (err) {
    throw new EpictetusError('EPI_KUBECONFIG', `cannot load ${path === '' ? 'in-cluster config' : `kubeconfig ${path}`}: ${(err as Error).message}`, { cause: err });
  }
  if (kc.getCurrentCluster() === null) {
    throw new EpictetusError('EPI_KUBECONFIG', path === ''
      ? 'no in-cluster config: KUBERNETES_SERVICE_HOST is not set (set K8S_CONFIG_PATH to a kubeconfig outside a cluster)'
      : `kubeconfig ${path} has no current cluster`);
  }
  return kc;
}

export function mapKubeError(err: unknown, what: string): EpictetusError {
  if (err instanceof EpictetusError) return err;
  const code = (err as { code?: unknown }).code;
  const status = typeof code === 'number' ? code : (err as { statusCode?: unknown }).statusCode;
  if (typeof status === 'number') {
    const retryable = status === 429 || status >= 500;
    return new EpictetusError('EPI_KUBE_HTTP', `Kubernetes ${what}: HTTP ${status}`, { retryable, status });
  }
  return new EpictetusError('EPI_KUBE_CONNECTION', `Kubernetes ${what}: ${(err as Error)?.message ?? String(err)}`, { retryable: true });
}

function resourceApi(
  watch: k8s.Watch,
  path: string,
  what: string,
  list: (opts: { limit: number; _continue?: string }) => Promise<{ items: unknown[]; metadata?: { resourceVersion?: string; _continue?: string } }>,
): ResourceApi {
  return {
    async list({ limit, continue: cont }) {
      try {
        const res = await list({ limit, ...(cont ? { _continue: cont } : {}) });
        return { items: res.items, resourceVersion: res.metadata?.resourceVersion ?? '', continue: res.metadata?._continue || undefined };
      } catch (err) {
        throw mapKubeError(err, `list ${what}`);
      }
    },
    async watch(resourceVersion, onEvent, onDone) {
      const controller = await watch.watch(path,
        { resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 240 + Math.floor(Math.random() * 60) },
        (type: string, object: unknown) => onEvent(type, object), onDone);
      return { abort: () => controller.abort() };
    },
  };
}

export function createKubeApi(kc: k8s.KubeConfig): KubeApi {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const versionApi = kc.makeApiClient(k8s.VersionApi);
  const watch = new k8s.Watch(kc);
  return {
    nodes: resourceApi(watch, '/api/v1/nodes', 'nodes', (o) => core.listNode(o)),
    services: resourceApi(watch, '/api/v1/services', 'services', (o) => core.listServiceForAllNamespaces(o)),
    async version() {
      try {
        return (await versionApi.getCode()).gitVersion;
      } catch (err) {
        throw mapKubeError(err, 'version');
      }
    },
    async setNodeAnnotation(node, key, value) {
      try {
        await core.patchNode({ name: node, body: { metadata: { annotations: { [key]: value } } } },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
      } catch (err) {
        throw mapKubeError(err, `annotate node ${node}`);
      }
    },
  };
}
