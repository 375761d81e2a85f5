/**
 * The driver's own account of the cluster over time: which nodes exist, with which addresses,
 * and whether each may serve; which hostnames are claimed, with which TTL. Judged by our own
 * simple rule (below), never by the service's policy code, so it is an independent oracle.
 */

export type Ready = 'True' | 'False' | 'Unknown';

export interface NodeState {
  readonly name: string;
  readonly ipv4: string;
  readonly ipv6: string | undefined;
  exists: boolean;
  candidate: boolean; // DeletionCandidateOfClusterAutoscaler
  toBeDeleted: boolean; // ToBeDeletedByClusterAutoscaler
  ready: Ready;
}

/**
 * With NOT_READY_GRACE_SECONDS=0, CA_TAINT_MODE=both and no other taints or labels in play, a
 * node serves iff it exists, its Ready condition is True and it does not carry both autoscaler
 * taints (one alone changes nothing).
 */
export function eligible(n: NodeState): boolean {
  return n.exists && n.ready === 'True' && !(n.candidate && n.toBeDeleted);
}

export interface HostnameState {
  readonly name: string;
  claimed: boolean;
  ttl: number;
}

interface Step<T> { readonly at: number; readonly value: T }

/** A value over time: the steps it took, oldest first. */
export class Timeline<T> {
  private readonly steps: Array<Step<T>> = [];

  set(at: number, value: T): void {
    const last = this.steps[this.steps.length - 1];
    if (last && last.value === value) return;
    this.steps.push({ at, value });
  }

  /** The value at `t` (undefined before the first step). */
  at(t: number): T | undefined {
    let v: T | undefined;
    for (const s of this.steps) {
      if (s.at > t) break;
      v = s.value;
    }
    return v;
  }

  /** True iff the value was `value` at every moment of [from, to]. */
  throughout(value: T, from: number, to: number): boolean {
    if (this.at(from) !== value) return false;
    return this.steps.every((s) => s.at <= from || s.at > to || s.value === value);
  }

  /** When the value last became what it is at `t`. */
  since(t: number): number | undefined {
    let start: number | undefined;
    let v: T | undefined;
    for (const s of this.steps) {
      if (s.at > t) break;
      if (s.value !== v) start = s.at;
      v = s.value;
    }
    return start;
  }
}

export class ClusterModel {
  readonly nodes = new Map<string, NodeState>();
  readonly hostnames = new Map<string, HostnameState>();
  /** node name -> eligible over time. */
  readonly eligibility = new Map<string, Timeline<boolean>>();
  /** node name -> exists over time. */
  readonly existence = new Map<string, Timeline<boolean>>();
  /** hostname -> claimed over time. */
  readonly claims = new Map<string, Timeline<boolean>>();
  /** Every address ever given to a node -> that node (addresses are never reused). */
  readonly ipOwner = new Map<string, string>();

  addNode(at: number, n: NodeState): void {
    this.nodes.set(n.name, n);
    this.ipOwner.set(n.ipv4, n.name);
    if (n.ipv6) this.ipOwner.set(n.ipv6, n.name);
    this.touchNode(at, n.name);
  }

  /** Records a node's state after the driver changed it. */
  touchNode(at: number, name: string): void {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no node ${name}`);
    const tl = this.eligibility.get(name) ?? new Timeline<boolean>();
    this.eligibility.set(name, tl);
    tl.set(at, eligible(n));
    const ex = this.existence.get(name) ?? new Timeline<boolean>();
    this.existence.set(name, ex);
    ex.set(at, n.exists);
  }

  setHostname(at: number, name: string, claimed: boolean, ttl: number): void {
    const h = this.hostnames.get(name) ?? { name, claimed, ttl };
    h.claimed = claimed;
    h.ttl = ttl;
    this.hostnames.set(name, h);
    const tl = this.claims.get(name) ?? new Timeline<boolean>();
    this.claims.set(name, tl);
    tl.set(at, claimed);
  }

  /** Addresses of nodes that exist now (eligible or not). */
  clusterIps(): Set<string> {
    const out = new Set<string>();
    for (const n of this.nodes.values()) {
      if (!n.exists) continue;
      out.add(n.ipv4);
      if (n.ipv6) out.add(n.ipv6);
    }
    return out;
  }

  /** Whether the address belonged to a node that existed at `t`. */
  wasClusterIp(ip: string, t: number): boolean {
    const node = this.ipOwner.get(ip);
    return node !== undefined && this.existence.get(node)?.at(t) === true;
  }

  eligibleIps(type: 'A' | 'AAAA'): Set<string> {
    const out = new Set<string>();
    for (const n of this.nodes.values()) {
      if (!eligible(n)) continue;
      const ip = type === 'A' ? n.ipv4 : n.ipv6;
      if (ip) out.add(ip);
    }
    return out;
  }
}
