/**
 * What one replica's Kubernetes proxy (kube-proxy.ts) does to its calls: the faults the driver
 * arms for that replica alone. Lists of a resource that fail for a while (500, or 403 as after an
 * RBAC change), the next list answered with a collapsed item list, Lease calls refused with 403,
 * and a partition (every call, or only the Lease calls, reset).
 */
import type { KubeAction, KubeCall, KubeResource } from './kube-proxy.js';

export interface ListFailure {
  readonly resource: KubeResource; readonly status: 403 | 500; readonly until: number;
  /** Its watches fail too (the replica cannot hear what it missed either). */
  readonly watches?: boolean;
}

export class KubeFaults {
  readonly listFailures: ListFailure[] = [];
  /** Collapsed answers waiting for the next list of their resource (kept items). */
  readonly collapses: Array<{ readonly resource: KubeResource; readonly keep: number }> = [];
  leaseForbiddenUntil = 0;
  partition: { readonly until: number; readonly scope: 'all' | 'lease' } | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  /** Whether this replica's Lease calls are refused or cut now (for the trail and the readiness judge). */
  leaseTrouble(): boolean {
    const now = this.now();
    return now < this.leaseForbiddenUntil || (this.partition !== undefined && now < this.partition.until);
  }

  decide(call: KubeCall): KubeAction {
    const now = this.now();
    if (this.partition && now < this.partition.until && (this.partition.scope === 'all' || call.resource === 'leases')) return { kind: 'reset' };
    if (call.resource === 'leases' && now < this.leaseForbiddenUntil) {
      return {
        kind: 'fail', status: 403, reason: 'Forbidden',
        message: `leases.coordination.k8s.io is forbidden: User "system:serviceaccount:default:epictetus" cannot ${call.method === 'GET' ? 'get' : 'update'} resource "leases" in API group "coordination.k8s.io" in the namespace "default"`,
      };
    }
    const isRead = call.method === 'GET' && /^\/api\/v1\/(nodes|services)(\?|$)/.test(call.path);
    if (!isRead) return { kind: 'pass' };
    const failing = this.listFailures.find((f) => f.resource === call.resource && now < f.until && (!call.watch || f.watches === true));
    if (call.watch && !failing) return { kind: 'pass' };
    if (failing) {
      return failing.status === 403
        ? { kind: 'fail', status: 403, reason: 'Forbidden', message: `${call.resource} is forbidden: User "system:serviceaccount:default:epictetus" cannot list resource "${call.resource}" in API group "" at the cluster scope` }
        : { kind: 'fail', status: 500, reason: 'InternalError', message: 'an error on the server ("etcdserver: request timed out") has prevented the request from succeeding' };
    }
    const i = this.collapses.findIndex((c) => c.resource === call.resource);
    if (i >= 0) {
      const [c] = this.collapses.splice(i, 1);
      return { kind: 'collapse', keep: c!.keep };
    }
    return { kind: 'pass' };
  }

  /** Every fault off (the soak settles). */
  clear(): void {
    this.listFailures.length = 0;
    this.collapses.length = 0;
    this.leaseForbiddenUntil = 0;
    this.partition = undefined;
  }
}
