/** Which nodes may serve traffic, and why not (pure). */
import type { NodeSnapshot } from '../model/types.js';

export const CA_DELETION_CANDIDATE = 'DeletionCandidateOfClusterAutoscaler';
export const CA_TO_BE_DELETED = 'ToBeDeletedByClusterAutoscaler';

export interface NodeVerdict {
  readonly name: string;
  readonly eligible: boolean;
  /** Empty when eligible; otherwise every reason that excludes the node. */
  readonly reasons: readonly string[];
}

export function evaluateNode(node: NodeSnapshot): NodeVerdict {
  const reasons: string[] = [];
  if (node.taints.includes(CA_DELETION_CANDIDATE) && node.taints.includes(CA_TO_BE_DELETED)) {
    reasons.push('both-ca-taints');
  }
  if (node.ipv4.length === 0 && node.ipv6.length === 0) reasons.push('no-external-ip');
  return { name: node.name, eligible: reasons.length === 0, reasons };
}
