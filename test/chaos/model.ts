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

/**
 * What the cluster says of a hostname: claimed (by DNS_HOSTNAMES or a Service whose annotations
 * parse), in doubt (named by a Service whose annotations do not parse: no evidence either way), or
 * unclaimed (nobody names it, or a Service withdrew it on purpose).
 */
export type Claim = 'claimed' | 'doubt' | 'unclaimed';

export interface HostnameState {
  readonly name: string;
  claim: Claim;
  ttl: number;
  /**
   * A Service with bad annotations last claimed it while they parsed: a replica that saw that keeps
   * the claim, one started since does not know it. Either is right, so the end state is not judged.
   */
  lastGoodOnly: boolean;
  /** Claimed only by a Service outside the allow-lists: must never get a record. */
  forbidden: boolean;
}

/** A zone as the driver made it: what the token sees of it and what it may do there. */
export interface ZoneState {
  readonly id: string;
  readonly name: string;
  readonly account: string;
  status: 'initializing' | 'pending' | 'active' | 'moved' | 'deactivated';
  permission: 'hidden' | 'none' | 'read' | 'edit';
}

/** Where a hostname's records belong: a zone id, or why nowhere. */
export type Home = string | 'ambiguous' | 'none';

/** The zone that answers for `hostname` among `zones`: the longest active one the token sees; two of that name are an ambiguity. */
export function homeOf(hostname: string, zones: Iterable<ZoneState>): Home {
  const covering = [...zones].filter((z) => z.status === 'active' && z.permission !== 'hidden' && (hostname === z.name || hostname.endsWith(`.${z.name}`)));
  if (covering.length === 0) return 'none';
  const longest = Math.max(...covering.map((z) => z.name.length));
  const best = covering.filter((z) => z.name.length === longest);
  return best.length > 1 ? 'ambiguous' : best[0]!.id;
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

  /** Every value it had during [from, to] (undefined first when it had none at `from`). */
  during(from: number, to: number): Array<T | undefined> {
    return [this.at(from), ...this.steps.filter((s) => s.at > from && s.at <= to).map((s) => s.value)];
  }

  /** True iff every value during [from, to] passes `pred` (and there was one at `from`). */
  always(pred: (v: T) => boolean, from: number, to: number): boolean {
    return this.during(from, to).every((v) => v !== undefined && pred(v));
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
  /** hostname -> what the cluster says of it over time. */
  readonly claims = new Map<string, Timeline<Claim>>();
  /** Every address ever given to a node -> that node (addresses are never reused). */
  readonly ipOwner = new Map<string, string>();
  readonly zones = new Map<string, ZoneState>();
  /** hostname -> its home zone over time. */
  readonly homes = new Map<string, Timeline<Home>>();
  /** zone id -> status over time. */
  readonly zoneStatus = new Map<string, Timeline<string>>();
  /** `${zoneId} ${hostname}` -> whether a hand-made CNAME is there, over time. */
  readonly cnames = new Map<string, Timeline<boolean>>();

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

  setHostname(at: number, name: string, claim: Claim, ttl: number, opts: { lastGoodOnly?: boolean; forbidden?: boolean } = {}): void {
    const h = this.hostnames.get(name) ?? { name, claim, ttl, lastGoodOnly: false, forbidden: false };
    h.claim = claim;
    h.ttl = ttl;
    h.lastGoodOnly = opts.lastGoodOnly ?? false;
    h.forbidden = opts.forbidden ?? false;
    this.hostnames.set(name, h);
    const tl = this.claims.get(name) ?? new Timeline<Claim>();
    this.claims.set(name, tl);
    tl.set(at, claim);
    if (!this.homes.has(name)) {
      const home = new Timeline<Home>();
      home.set(at, homeOf(name, this.zones.values()));
      this.homes.set(name, home);
    }
  }

  /** A zone appeared or changed (status, permission): every hostname's home is judged again. */
  setZone(at: number, z: ZoneState): void {
    this.zones.set(z.id, z);
    const st = this.zoneStatus.get(z.id) ?? new Timeline<string>();
    this.zoneStatus.set(z.id, st);
    st.set(at, z.status);
    for (const [name, tl] of this.homes) tl.set(at, homeOf(name, this.zones.values()));
  }

  setCname(at: number, zoneId: string, hostname: string, present: boolean): void {
    const key = `${zoneId} ${hostname}`;
    const tl = this.cnames.get(key) ?? new Timeline<boolean>();
    this.cnames.set(key, tl);
    tl.set(at, present);
  }

  cnameAt(zoneId: string, hostname: string, t = Date.now()): boolean {
    return this.cnames.get(`${zoneId} ${hostname}`)?.at(t) === true;
  }

  /** When the last hand-made CNAME at `hostname` in `zoneId` went, if one did. */
  cnameGoneAt(zoneId: string, hostname: string, t = Date.now()): number | undefined {
    const tl = this.cnames.get(`${zoneId} ${hostname}`);
    if (!tl || tl.at(t) !== false) return undefined;
    return tl.since(t);
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

  /** Whether the address belonged to a node that was eligible at `t`. */
  wasEligibleIp(ip: string, t: number): boolean {
    const node = this.ipOwner.get(ip);
    return node !== undefined && this.eligibility.get(node)?.at(t) === true;
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
