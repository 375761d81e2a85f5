/** EndpointSlices -> for each Service, what its endpoints say of each node (pure). */
import type { EndpointSliceSnapshot, EndpointState } from '../model/types.js';

const RANK: Record<EndpointState, number> = { ready: 2, terminating: 1, 'not-ready': 0 };

/**
 * A node hosts a ready endpoint of a Service when any of its endpoints, in any of the Service's
 * slices, is ready; else it is `terminating` when one is shutting down; else `not-ready`.
 */
export function endpointStates(slices: Iterable<EndpointSliceSnapshot>): Map<string, Map<string, EndpointState>> {
  const out = new Map<string, Map<string, EndpointState>>();
  for (const s of slices) {
    const byNode = out.get(s.service) ?? out.set(s.service, new Map()).get(s.service)!;
    for (const [node, state] of Object.entries(s.nodes)) {
      const before = byNode.get(node);
      if (before === undefined || RANK[state] > RANK[before]) byNode.set(node, state);
    }
  }
  return out;
}

/** One endpoint's conditions as the API gives them (absent fields as Kubernetes reads them). */
export function endpointState(conditions: { ready?: boolean | null; serving?: boolean | null; terminating?: boolean | null }): EndpointState {
  if (conditions.terminating === true) return 'terminating';
  // `ready` unset means ready (discovery.k8s.io/v1: "nil should be interpreted as true").
  return conditions.ready === false ? 'not-ready' : 'ready';
}
