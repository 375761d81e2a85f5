/** The Lease calls leader election needs, over @kubernetes/client-node. */
import * as k8s from '@kubernetes/client-node';
import { EpictetusError } from '../model/errors.js';
import { mapKubeError } from './api.js';

export interface LeaseRecord {
  readonly holderIdentity: string;
  readonly leaseDurationSeconds: number;
  readonly acquireTime: number;
  readonly renewTime: number;
  readonly leaseTransitions: number;
}

export interface StoredLease extends LeaseRecord { readonly resourceVersion: string }

export interface LeaseApi {
  get(namespace: string, name: string): Promise<StoredLease | undefined>;
  /** Creates, or replaces the version read (`resourceVersion`); a lost race is EPI_LEASE_CONFLICT. */
  write(namespace: string, name: string, record: LeaseRecord, resourceVersion?: string): Promise<StoredLease>;
}

const time = (v: unknown): number => (v instanceof Date ? v.getTime() : typeof v === 'string' ? Date.parse(v) || 0 : 0);

function fromApi(l: k8s.V1Lease): StoredLease {
  return {
    holderIdentity: l.spec?.holderIdentity ?? '',
    leaseDurationSeconds: l.spec?.leaseDurationSeconds ?? 0,
    acquireTime: time(l.spec?.acquireTime),
    renewTime: time(l.spec?.renewTime),
    leaseTransitions: l.spec?.leaseTransitions ?? 0,
    resourceVersion: l.metadata?.resourceVersion ?? '',
  };
}

export function createLeaseApi(kc: k8s.KubeConfig): LeaseApi {
  const api = kc.makeApiClient(k8s.CoordinationV1Api);
  return {
    async get(namespace, name) {
      try {
        return fromApi(await api.readNamespacedLease({ name, namespace }));
      } catch (err) {
        if ((err as { code?: unknown }).code === 404) return undefined;
        throw mapKubeError(err, `read lease ${namespace}/${name}`);
      }
    },
    async write(namespace, name, r, resourceVersion) {
      const body: k8s.V1Lease = {
        apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
        metadata: { name, namespace, ...(resourceVersion ? { resourceVersion } : {}) },
        spec: {
          holderIdentity: r.holderIdentity, leaseDurationSeconds: r.leaseDurationSeconds,
          acquireTime: new k8s.V1MicroTime(r.acquireTime), renewTime: new k8s.V1MicroTime(r.renewTime), leaseTransitions: r.leaseTransitions,
        },
      };
      try {
        return fromApi(resourceVersion
          ? await api.replaceNamespacedLease({ name, namespace, body })
          : await api.createNamespacedLease({ namespace, body }));
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (code === 409) throw new EpictetusError('EPI_LEASE_CONFLICT', `lease ${namespace}/${name} changed under us`, { status: 409 });
        throw mapKubeError(err, `write lease ${namespace}/${name}`);
      }
    },
  };
}
