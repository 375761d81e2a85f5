/** The coordination.k8s.io/v1 Lease calls leader election needs: get, create, replace. */
import { EpictetusError } from '../model/errors.js';
import type { KubeConnection } from './api.js';
import type { CallOptions } from './http.js';
import { microTime, parseTime } from './micro-time.js';

export interface LeaseRecord {
  readonly holderIdentity: string;
  readonly leaseDurationSeconds: number;
  /** Wall-clock ms: for people and other clients to read, never for deadlines. */
  readonly acquireTime: number;
  readonly renewTime: number;
  readonly leaseTransitions: number;
}

export interface StoredLease extends LeaseRecord { readonly resourceVersion: string }

export interface LeaseApi {
  get(namespace: string, name: string, opts?: CallOptions): Promise<StoredLease | undefined>;
  /** Creates, or replaces the version read (`resourceVersion`); a lost race is EPI_LEASE_CONFLICT. */
  write(namespace: string, name: string, record: LeaseRecord, resourceVersion?: string, opts?: CallOptions): Promise<StoredLease>;
}

interface ApiLease {
  metadata?: { resourceVersion?: unknown };
  spec?: { holderIdentity?: unknown; leaseDurationSeconds?: unknown; acquireTime?: unknown; renewTime?: unknown; leaseTransitions?: unknown };
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

function fromApi(l: ApiLease | undefined): StoredLease {
  const spec = l?.spec ?? {};
  return {
    holderIdentity: typeof spec.holderIdentity === 'string' ? spec.holderIdentity : '',
    leaseDurationSeconds: num(spec.leaseDurationSeconds),
    acquireTime: parseTime(spec.acquireTime),
    renewTime: parseTime(spec.renewTime),
    leaseTransitions: num(spec.leaseTransitions),
    resourceVersion: typeof l?.metadata?.resourceVersion === 'string' ? l.metadata.resourceVersion : '',
  };
}

const status = (err: unknown): unknown => (err instanceof EpictetusError ? err.status : undefined);

export function createLeaseApi(client: KubeConnection): LeaseApi {
  const base = (namespace: string) => `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
  return {
    async get(namespace, name, opts = {}) {
      try {
        return fromApi(await client.request<ApiLease>({ path: `${base(namespace)}/${encodeURIComponent(name)}`, what: `get lease ${namespace}/${name}`, ...opts }));
      } catch (err) {
        if (status(err) === 404) return undefined;
        throw err;
      }
    },
    async write(namespace, name, r, resourceVersion, opts = {}) {
      const body = {
        apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
        metadata: { name, namespace, ...(resourceVersion ? { resourceVersion } : {}) },
        spec: {
          holderIdentity: r.holderIdentity, leaseDurationSeconds: r.leaseDurationSeconds,
          acquireTime: microTime(r.acquireTime), renewTime: microTime(r.renewTime), leaseTransitions: r.leaseTransitions,
        },
      };
      try {
        return fromApi(resourceVersion
          ? await client.request<ApiLease>({ method: 'PUT', path: `${base(namespace)}/${encodeURIComponent(name)}`, what: `update lease ${namespace}/${name}`, body, ...opts })
          : await client.request<ApiLease>({ method: 'POST', path: base(namespace), what: `create lease ${namespace}/${name}`, body, ...opts }));
      } catch (err) {
        // 409: another replica wrote first; 404 on a replace: the Lease was deleted since it was read.
        if (status(err) === 409 || (resourceVersion && status(err) === 404)) {
          throw new EpictetusError('EPI_LEASE_CONFLICT', `lease ${namespace}/${name} changed under us`, { status: 409, cause: err });
        }
        throw err;
      }
    },
  };
}
