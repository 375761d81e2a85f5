/** Writes to the Kubernetes simulator over HTTP, as the cluster autoscaler makes them. */
import { performance } from 'node:perf_hooks';

export const FIRST_TAINT = 'DeletionCandidateOfClusterAutoscaler';
export const SECOND_TAINT = 'ToBeDeletedByClusterAutoscaler';

export interface TaintSpec {
  readonly key: string;
  readonly value: string;
  readonly effect: string;
}

/** The autoscaler's taints: the soft one when a node becomes a candidate, the hard one when it deletes it. */
export function caTaints(which: 'first' | 'both'): TaintSpec[] {
  const now = String(Math.floor(Date.now() / 1000));
  const first = { key: FIRST_TAINT, value: now, effect: 'PreferNoSchedule' };
  return which === 'first' ? [first] : [first, { key: SECOND_TAINT, value: now, effect: 'NoSchedule' }];
}

/**
 * Sets a Node's taints with a JSON merge patch; resolves with performance.now() when the
 * simulator's answer arrived.
 */
export async function patchTaints(kubeUrl: string, node: string, taints: readonly TaintSpec[]): Promise<number> {
  const res = await fetch(`${kubeUrl}/api/v1/nodes/${node}`, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/merge-patch+json' },
    body: JSON.stringify({ spec: { taints } }),
  });
  const at = performance.now();
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`PATCH node ${node}: HTTP ${res.status}`);
  return at;
}
