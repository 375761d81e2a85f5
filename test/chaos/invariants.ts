/**
 * The soak's verdicts, computed from what the simulators and the proxies recorded (pure: no I/O),
 * so that each rule can be read, and tested, on its own.
 */
import type { Commit, DnsRecordView } from '../../src/sim/cloudflare/index.js';
import type { Claim, ClusterModel } from './model.js';
import type { ProxiedRequest } from './proxy.js';
import type { Incarnation } from './replicas.js';

export type InvariantName =
  | 'nonLeaderWrites'
  | 'wrongfulDeletions'
  | 'lostRemovals'
  | 'missingRecords'
  | 'wrongSettings'
  | 'foreignRecordsTouched'
  | 'floorBreaches'
  | 'duplicates'
  | 'frozenWrites'
  | 'wrongZoneWrites'
  | 'outsideAllowList'
  | 'readyWithoutLease'
  | 'slowReaction'
  | 'unexpectedExits'
  | 'memory'
  | 'busyLoops';

export const INVARIANTS: readonly InvariantName[] = [
  'nonLeaderWrites', 'wrongfulDeletions', 'lostRemovals', 'missingRecords', 'wrongSettings',
  'foreignRecordsTouched', 'floorBreaches', 'duplicates', 'frozenWrites', 'wrongZoneWrites', 'outsideAllowList',
  'readyWithoutLease', 'slowReaction', 'unexpectedExits', 'memory', 'busyLoops',
];

export interface Violation {
  readonly invariant: InvariantName;
  readonly at: number;
  readonly message: string;
  /** The replica the trail should show the log of, if one is involved. */
  readonly replica?: { tag: string; n: number };
}

/**
 * A period when the Kubernetes API misbehaved, from the fault's injection until the service can be
 * expected to have caught up (a watch reconnect, a re-list after its back-off): its view of the
 * nodes may lag meanwhile.
 */
export interface Disturbance {
  readonly kind: string;
  readonly from: number;
  readonly to: number;
  /** The one replica it hit (a fault of its own Kubernetes proxy); every replica when undefined. */
  readonly tag?: string;
}

/** How stale the service's view of the cluster may be when it plans a change (watch delivery, debounce). */
export const VIEW_LAG_MS = 2_000;

/**
 * Where the window that must be eligible starts for a batch sent at `decidedAt`: VIEW_LAG_MS before
 * it, or, when Kubernetes disturbances were in effect at `decidedAt`, VIEW_LAG_MS before the
 * earliest of them began (the service may still plan from what it saw before it).
 */
export function windowStart(decidedAt: number, disturbances: readonly Disturbance[], tag?: string): number {
  let from = decidedAt;
  for (const d of disturbances) {
    if (d.tag !== undefined && tag !== undefined && d.tag !== tag) continue;
    if (d.from <= decidedAt && decidedAt <= d.to) from = Math.min(from, d.from);
  }
  return from - VIEW_LAG_MS;
}

export interface Judged {
  readonly violations: Violation[];
  readonly info: Record<string, number>;
  /** Things worth a look that break no rule (the first few). */
  readonly notes?: string[];
}

const key = (name: string, type: string): string => `${name.toLowerCase()} ${type}`;
const identityOf = (r: { name: string; type: string; content: string }): string => `${r.name.toLowerCase()} ${r.type} ${r.content}`;
const ownerIn = (comment: string | null): string | null => /(?:^|\s)epictetus:owner=([A-Za-z0-9._-]+)(?=\s|$)/.exec(comment ?? '')?.[1] ?? null;

// ---- 1. only the leader writes ----------------------------------------------------------------

export interface WriterIdentity { readonly tag: string; readonly n: number }

/**
 * Rule: a write (any request to Cloudflare other than GET) breaks the rule iff, at the moment it
 * reached the replica's proxy (the replica sent it at most a moment before), the Lease in the API
 * server named ANOTHER holder. A Lease still naming the writer (even expired), or naming nobody
 * (released), is not a violation: client-go's renew deadline stops a leader 5 s before another
 * replica may take over, and until another replica has actually taken the Lease nobody else writes.
 * Writes answered after another replica took over are counted as information
 * (`writesAnsweredAfterTakeover`): a request in flight cannot be recalled without fencing.
 */
export function checkLeadership(requests: readonly ProxiedRequest[], identities: ReadonlyMap<string, WriterIdentity>,
  holderAtAnswer: ReadonlyMap<number, string | undefined>): Judged {
  const violations: Violation[] = [];
  const byIncarnation = new Map<string, string>();
  for (const [identity, w] of identities) byIncarnation.set(`${w.tag}#${w.n}`, identity);
  let writes = 0;
  let answeredAfterTakeover = 0;
  for (const r of requests) {
    if (r.method === 'GET') continue;
    writes++;
    const mine = byIncarnation.get(`${r.tag}#${r.incarnation}`);
    const holder = r.holder ?? '';
    if (holder !== '' && holder !== mine) {
      const other = identities.get(holder);
      violations.push({
        invariant: 'nonLeaderWrites', at: r.at, replica: { tag: r.tag, n: r.incarnation },
        message: `${r.method} ${r.path} from replica ${r.tag}#${r.incarnation} (${mine ?? 'identity unknown'}) while the Lease was held by ` +
          `${other ? `replica ${other.tag}#${other.n}` : 'an unknown identity'} (${holder})${r.fault ? ` [proxy fault ${r.fault}]` : ''}`,
      });
    }
    const after = holderAtAnswer.get(r.seq);
    if (after !== undefined && after !== '' && after !== mine && r.status >= 200 && r.status < 300) answeredAfterTakeover++;
  }
  return { violations, info: { writes, writesAnsweredAfterTakeover: answeredAfterTakeover } };
}

// ---- 2 and 5: replaying the commit log --------------------------------------------------------

/** What one incarnation of a replica was started with (the settings a configuration change touches). */
export interface ReplicaConfig {
  readonly owner: string;
  readonly aliases: readonly string[];
  readonly types: ReadonlyArray<'A' | 'AAAA'>;
}

/**
 * How long after a zone changed (status, permission, a copy in another account) the service may
 * still plan from the zone list it read before: zones are listed at each full sync (every
 * DNS_SYNC_INTERVAL, 10 s in the soak), which injected faults and retries can delay.
 */
export const ZONE_LAG_MS = 30_000;

export interface ReplayInput {
  readonly commits: readonly Commit[];
  readonly requests: readonly ProxiedRequest[];
  readonly model: ClusterModel;
  readonly disturbances: readonly Disturbance[];
  readonly floor: number;
  /** Ids of the records the service does not own and must never touch (made before the start, or by hand during the run). */
  readonly foreignIds: ReadonlySet<string>;
  /** Commits the driver made itself (records it created or deleted behind the service's back): `${kind} ${id}`. */
  readonly driverCommits?: ReadonlySet<string>;
  /** Every owner id any replica ran with: records with one of these markers are the service's. */
  readonly owners: ReadonlySet<string>;
  /** The configuration of the incarnation that sent a batch (undefined: not known). */
  readonly configOf?: (tag: string, n: number) => ReplicaConfig | undefined;
  /**
   * The earliest moment the reconcile that sent a batch at `sentAt` can have planned it: when that
   * incarnation's previous reconcile ended (its log said so), or when it started. A reconcile
   * applies its zones one after the other from one plan, so a batch that hangs in one zone makes
   * the next zones' batches leave from an old plan (undefined: the batch's first try).
   */
  readonly planStart?: (tag: string, n: number, sentAt: number) => number | undefined;
}

/** When the service decided the batch that carried an operation: the first of the identical tries that carried it. */
export function decisionOf(carries: (r: ProxiedRequest) => boolean, committedAt: number, requests: readonly ProxiedRequest[]): { at: number; request?: ProxiedRequest } {
  let last: ProxiedRequest | undefined;
  for (const r of requests) {
    if (r.at > committedAt) break;
    if (carries(r)) last = r;
  }
  if (!last) return { at: committedAt };
  let first = last;
  const same = requests.filter((r) => r.tag === last.tag && r.incarnation === last.incarnation && r.body !== undefined && r.seq <= last.seq);
  for (let i = same.length - 2; i >= 0; i--) {
    const r = same[i]!;
    if (r.body !== last.body) break;
    first = r;
  }
  return { at: first.at, request: last };
}

/** When the service decided the batch that deleted `id`. */
export function decisionTime(id: string, committedAt: number, requests: readonly ProxiedRequest[]): { at: number; request?: ProxiedRequest } {
  return decisionOf((r) => r.deletes?.includes(id) === true, committedAt, requests);
}

const zoneOfPath = (path: string): string | undefined => /\/zones\/([0-9a-f]+)\//.exec(path)?.[1];

/**
 * Replays the commit log in order, one transaction (commits with the same time stamp) at a time,
 * every zone at once. Each commit the service made (not the driver) is judged:
 *
 * Wrongful deletion (2): a record of node N for hostname H is deleted although N was eligible and
 * H claimed or in doubt (by the driver's own account) at every moment of [W, C], where C is the
 * commit time, D the moment the service planned the batch that carried the deletion (the first
 * try of the batch, or the end of that replica's previous reconcile if earlier: see planStart),
 * and W = windowStart(D): VIEW_LAG_MS before D, or before the start of a Kubernetes
 * disturbance still in effect at D — unless it had positive evidence of another kind: an identical
 * record stays in that zone (a duplicate went), the sending incarnation does not publish the type
 * (DNS_RECORD_TYPES narrowed), or H moved: a zone other than this one was H's home at some moment
 * of [D - ZONE_LAG_MS, C] and holds the identical record after the transaction (the new zone has it).
 *
 * Writes where none may go: any write to a claimed (or in doubt) H while H had no single home
 * throughout [D - ZONE_LAG_MS, C] (two active zones of its name: frozen) is `frozenWrites`; a create or
 * update of H in a zone that was not H's home at any moment of that window is `wrongZoneWrites`;
 * a create for a hostname only a Service outside the allow-lists claims is `outsideAllowList`.
 * A write to a record with another owner's marker, or to a foreign record, is
 * `foreignRecordsTouched`.
 *
 * Floor (5): after a transaction that deleted a managed record of (H, type), fewer than `floor`
 * managed records remain in all zones although H was claimed throughout [W, C] (for a type the
 * sender no longer publishes: fewer than `floor` remain of it and of the published types).
 * Managed: one of our owner markers, or no marker at the address of an eligible node.
 *
 * Duplicates (5): two records with the same name, type and content in one zone at any moment.
 */
export function replayCommits(input: ReplayInput): Judged {
  const { model, floor } = input;
  const violations: Violation[] = [];
  const info: Record<string, number> = {
    deletes: 0, deletionsOfEligibleExcused: 0, deletionsDecidedBeforeEligible: 0, deletionsOfIneligible: 0,
    deletionsOfUnpublishedType: 0, deletionsAfterMove: 0,
  };
  const notes: string[] = [];
  const zones = new Map<string, Map<string, DnsRecordView>>();
  const zoneOf = (id: string) => {
    let z = zones.get(id);
    if (!z) zones.set(id, z = new Map());
    return z;
  };
  const byDriver = (c: Commit) => input.driverCommits?.has(`${c.kind} ${c.record.id}`) === true;
  const ours = (r: DnsRecordView) => { const o = ownerIn(r.comment); return o !== null && input.owners.has(o); };
  const managed = (r: DnsRecordView, at: number): boolean =>
    !input.foreignIds.has(r.id) && (ours(r) || (ownerIn(r.comment) === null && model.wasEligibleIp(r.content, at)));
  const protectedClaim = (c: Claim) => c === 'claimed' || c === 'doubt';
  const iso = (t: number) => new Date(t).toISOString();
  const commits = input.commits;
  for (let i = 0; i < commits.length;) {
    const at = commits[i]!.at;
    const group: Commit[] = [];
    const before = new Map<string, DnsRecordView | undefined>();
    while (i < commits.length && commits[i]!.at === at) group.push(commits[i++]!);
    for (const c of group) {
      const z = zoneOf(c.zoneId);
      if (!before.has(c.record.id)) before.set(c.record.id, z.get(c.record.id));
      if (c.kind === 'delete') z.delete(c.record.id);
      else z.set(c.record.id, c.record);
    }
    for (const [zoneId, z] of zones) {
      const seen = new Set<string>();
      for (const r of z.values()) {
        const id = identityOf(r);
        if (seen.has(id)) violations.push({ invariant: 'duplicates', at, message: `two records ${id} in zone ${zoneId.slice(0, 8)} at ${iso(at)}` });
        seen.add(id);
      }
    }
    const floorChecked = new Set<string>();
    for (const c of group) {
      if (byDriver(c)) continue;
      const r = c.record;
      const name = r.name.toLowerCase();
      const prior = before.get(r.id);
      const carries = (q: ProxiedRequest) => zoneOfPath(q.path) === c.zoneId && (c.kind === 'delete' ? q.deletes?.includes(r.id) === true
        : c.kind === 'update' ? q.patches?.includes(r.id) === true : q.posts?.includes(identityOf(r)) === true);
      const tried = decisionOf(carries, at, input.requests);
      const replica = tried.request ? { tag: tried.request.tag, n: tried.request.incarnation } : undefined;
      const planned = replica ? input.planStart?.(replica.tag, replica.n, tried.at) : undefined;
      const decided = { ...tried, at: Math.min(tried.at, planned ?? tried.at) };
      const by = replica ? `${replica.tag}#${replica.n}` : '?';
      const config = replica ? input.configOf?.(replica.tag, replica.n) : undefined;
      const tag = replica ? { replica } : {};
      if (input.foreignIds.has(r.id) || (c.kind !== 'create' && prior !== undefined && ownerIn(prior.comment) !== null && !ours(prior))) {
        violations.push({ invariant: 'foreignRecordsTouched', at, ...tag, message: `a ${c.kind} by ${by} touched ${input.foreignIds.has(r.id) ? 'foreign record' : "another owner's record"} ${identityOf(r)} (${(prior ?? r).comment ?? 'no comment'}) at ${iso(at)}` });
        continue;
      }
      const zoneFrom = decided.at - ZONE_LAG_MS;
      const homes = model.homes.get(name);
      const h = model.hostnames.get(name);
      if (homes?.always((v) => v === 'ambiguous', zoneFrom, at) && model.claims.get(name)?.always(protectedClaim, decided.at - VIEW_LAG_MS, at)) {
        violations.push({ invariant: 'frozenWrites', at, ...tag, message: `a ${c.kind} of ${identityOf(r)} by ${by} at ${iso(at)} although ${name} was frozen (two active zones of its name) since ${iso(homes.since(at) ?? at)}` });
        continue;
      }
      if (c.kind === 'create' && h?.forbidden && !(model.claims.get(name)?.during(decided.at - VIEW_LAG_MS, at).includes('claimed') ?? false)) {
        violations.push({ invariant: 'outsideAllowList', at, ...tag, message: `${identityOf(r)} created by ${by} at ${iso(at)}: only a Service outside the allow-lists claims ${name}` });
        continue;
      }
      if (c.kind !== 'delete') {
        if (homes && !homes.during(zoneFrom, at).includes(c.zoneId)) {
          violations.push({ invariant: 'wrongZoneWrites', at, ...tag, message: `a ${c.kind} of ${identityOf(r)} by ${by} in zone ${model.zones.get(c.zoneId)?.name ?? c.zoneId} (${c.zoneId.slice(0, 8)}) at ${iso(at)}, which was not ${name}'s zone at any moment since ${iso(zoneFrom)} (home: ${homes.during(zoneFrom, at).map((v) => model.zones.get(v ?? '')?.name ?? v).join(' → ')})` });
        }
        continue;
      }
      // A deletion.
      info.deletes = (info.deletes ?? 0) + 1;
      const from = windowStart(decided.at, input.disturbances, replica?.tag);
      const lag = decided.at - from;
      const claims = model.claims.get(name);
      const claimed = claims?.always(protectedClaim, from, at) ?? false;
      const node = model.ipOwner.get(r.content);
      const stillThere = [...zoneOf(c.zoneId).values()].some((o) => identityOf(o) === identityOf(r));
      const unpublished = config !== undefined && !config.types.includes(r.type as 'A' | 'AAAA');
      const moved = homes?.during(zoneFrom, at).some((home) => home !== undefined && home !== c.zoneId && zones.get(home) !== undefined &&
        [...zones.get(home)!.values()].some((o) => identityOf(o) === identityOf(r))) ?? false;
      if (unpublished) info.deletionsOfUnpublishedType = (info.deletionsOfUnpublishedType ?? 0) + 1;
      else if (moved) info.deletionsAfterMove = (info.deletionsAfterMove ?? 0) + 1;
      if (node !== undefined && !stillThere && !unpublished && !moved) {
        const tl = model.eligibility.get(node);
        if (claimed && tl?.throughout(true, from, at)) {
          violations.push({
            invariant: 'wrongfulDeletions', at, ...tag,
            message: `deleted ${r.name} ${r.type} ${r.content} (node ${node}) in zone ${model.zones.get(c.zoneId)?.name ?? c.zoneId} at ${iso(at)}: the node was eligible ` +
              `and the hostname ${claims?.at(at) === 'doubt' ? 'in doubt' : 'claimed'} since ${iso(Math.min(tl.since(at) ?? at, claims?.since(at) ?? at))}; ` +
              `batch first sent at ${iso(decided.at)} by ${by}, allowed view lag ${lag} ms`,
          });
        } else if (claims?.at(at) === 'claimed' && tl?.at(at) === true && (tl.at(decided.at) !== true || claims.at(decided.at) !== 'claimed')) {
          // Sent while the node was not eligible (or the hostname unclaimed); committed after it changed back.
          info.deletionsDecidedBeforeEligible = (info.deletionsDecidedBeforeEligible ?? 0) + 1;
        } else if (claims?.at(at) === 'claimed' && tl?.at(at) === true) {
          info.deletionsOfEligibleExcused = (info.deletionsOfEligibleExcused ?? 0) + 1;
          if (notes.length < 10) {
            notes.push(`excused: ${r.name} ${r.type} ${r.content} (node ${node}) deleted at ${iso(at)}, batch first sent ` +
              `${iso(decided.at)}; eligible since ${iso(tl.since(at) ?? 0)}, claimed since ${iso(claims.since(at) ?? 0)}, allowed lag ${lag} ms`);
          }
        } else info.deletionsOfIneligible = (info.deletionsOfIneligible ?? 0) + 1;
      }
      const k = key(name, r.type);
      if (floorChecked.has(k) || !(claims?.throughout('claimed', from, at) ?? false)) continue;
      floorChecked.add(k);
      const all = [...zones.values()].flatMap((z) => [...z.values()]).filter((o) => o.name.toLowerCase() === name && managed(o, at));
      const left = all.filter((o) => o.type === r.type).length;
      const publishedLeft = all.filter((o) => config?.types.includes(o.type as 'A' | 'AAAA') ?? o.type === r.type).length;
      if (left < floor && (!unpublished || publishedLeft < floor)) {
        violations.push({
          invariant: 'floorBreaches', at, ...tag,
          message: `${r.name} ${r.type} left with ${left} managed record(s) (floor ${floor}${unpublished ? `; ${publishedLeft} of the published types` : ''}) by the deletion of ${r.content} at ${iso(at)}, ` +
            `the hostname being claimed throughout`,
        });
      }
    }
  }
  return { violations, info, notes };
}

// ---- 3 and 4: the final state -----------------------------------------------------------------

export interface FinalInput {
  readonly records: readonly DnsRecordView[];
  readonly model: ClusterModel;
  /** The configuration every replica runs with at the end. */
  readonly config: ReplicaConfig;
  readonly floor: number;
  /** The records the service does not own that must still be there as they were made (before the start, or by hand since). */
  readonly foreign: readonly DnsRecordView[];
  readonly commits: readonly Commit[];
  /** Commits the driver made itself (`${kind} ${id}`). */
  readonly driverCommits?: ReadonlySet<string>;
  /** How long a create Cloudflare refused is set aside before it is tried again. */
  readonly refusalMemoryMs?: number;
  readonly now?: number;
}

const FIELDS: Array<keyof DnsRecordView> = ['name', 'type', 'content', 'ttl', 'proxied', 'comment', 'modified_on', 'created_on'];
/** The service's Refusals memory (src/controller/recent.ts): a refused create is planned again this long after. */
export const REFUSAL_MEMORY_MS = 10 * 60_000;

/**
 * Converged (3), judged per hostname H that the cluster claims (not in doubt, and not a claim only
 * a bad Service's last good annotations made) and whose home zone is single, known and writable:
 * in the home zone, for each published type T, the records with our marker (or an alias's) are
 * exactly the addresses of the eligible nodes, minus the addresses already published on (H, T) by
 * a record we do not own, each with H's TTL and our current marker; none when a hand-made CNAME is
 * at H (Cloudflare refuses A next to CNAME). When fewer than `floor` nodes are eligible, up to
 * `floor - eligible` records of other nodes may stay (held by the safety floor). An unmarked record
 * at an eligible node's address must have been adopted. For a type no longer published, our
 * records must be gone once the published types keep the floor. Our records of H in another
 * writable zone must be gone (the move completed) unless H's home zone cannot get the records
 * (a CNAME there, or one removed less than the refusal memory ago). No record with our marker
 * remains on a hostname nobody claims, in a zone the service may write.
 *
 * A create Cloudflare refused is set aside for REFUSAL_MEMORY_MS: a record missing because a CNAME
 * was removed more recently than that is counted (`missingAfterRefusal`), not a violation.
 *
 * Foreign (4): every record the service does not own is still there with every field unchanged,
 * and no commit of the service ever touched it.
 */
export function checkFinal(input: FinalInput): Judged & { converged: boolean } {
  const { model, floor, config } = input;
  const violations: Violation[] = [];
  const now = input.now ?? Date.now();
  const info: Record<string, number> = { heldByFloor: 0, missingAfterRefusal: 0, hostnamesNotJudged: 0 };
  const foreignIds = new Set(input.foreign.map((r) => r.id));
  const owners = new Set([config.owner, ...config.aliases]);
  const ours = (r: DnsRecordView) => { const o = ownerIn(r.comment); return !foreignIds.has(r.id) && o !== null && owners.has(o); };
  const writable = (zoneId: string) => model.zones.get(zoneId)?.permission === 'edit';
  const zoneName = (zoneId: string) => model.zones.get(zoneId)?.name ?? zoneId;
  const pushFinal = (invariant: InvariantName, message: string) => violations.push({ invariant, at: now, message });
  const memory = input.refusalMemoryMs ?? REFUSAL_MEMORY_MS;

  const seen = new Set<string>();
  for (const r of input.records) {
    const id = `${r.zone_id} ${identityOf(r)}`;
    if (seen.has(id)) pushFinal('duplicates', `two records ${identityOf(r)} in zone ${zoneName(r.zone_id)} at the end`);
    seen.add(id);
  }
  const handled = (r: DnsRecordView) => r.type === 'A' || r.type === 'AAAA';
  for (const h of model.hostnames.values()) {
    const recs = input.records.filter((r) => r.name.toLowerCase() === h.name && handled(r));
    if (h.forbidden) {
      for (const r of recs.filter(ours)) pushFinal('outsideAllowList', `${r.name} ${r.type} ${r.content} is published although only a Service outside the allow-lists claims ${h.name}`);
      continue;
    }
    if (h.lastGoodOnly) {
      // A bad Service's last good claim: a replica that saw it keeps it, one started since does not.
      info.hostnamesNotJudged = (info.hostnamesNotJudged ?? 0) + 1;
      continue;
    }
    if (h.claim === 'unclaimed') {
      for (const r of recs.filter((x) => ours(x) && writable(x.zone_id))) pushFinal('lostRemovals', `${r.name} ${r.type} ${r.content} (zone ${zoneName(r.zone_id)}) is still there although nobody claims ${h.name}`);
      continue;
    }
    const home = model.homes.get(h.name)?.at(now);
    if (h.claim === 'doubt' || h.lastGoodOnly || home === undefined || home === 'ambiguous' || home === 'none' || !writable(home)) {
      info.hostnamesNotJudged = (info.hostnamesNotJudged ?? 0) + 1;
      continue;
    }
    const cname = model.cnameAt(home, h.name, now);
    const goneAt = model.cnameGoneAt(home, h.name, now);
    const refusedLately = goneAt !== undefined && now - goneAt < memory;
    // The move from another zone can complete only once the home zone can have every record.
    const movable = !cname && !refusedLately;
    const mineByType = new Map<string, DnsRecordView[]>();
    const left = (type: string) => recs.filter((x) => x.type === type && x.zone_id !== home && ours(x) && writable(x.zone_id));
    for (const type of ['A', 'AAAA'] as const) {
      const inHome = recs.filter((r) => r.zone_id === home && r.type === type);
      const mine = inHome.filter(ours);
      mineByType.set(type, mine);
      if (!config.types.includes(type)) continue;
      const eligibleIps = model.eligibleIps(type);
      const adoptable = (r: DnsRecordView) => !foreignIds.has(r.id) && ownerIn(r.comment) === null && eligibleIps.has(r.content) && !r.proxied;
      const foreignIps = new Set(inHome.filter((r) => !ours(r) && !adoptable(r)).map((r) => r.content));
      const want = cname ? new Set<string>() : new Set([...eligibleIps].filter((ip) => !foreignIps.has(ip)));
      for (const r of inHome) {
        if (!cname && adoptable(r)) pushFinal('wrongSettings', `${r.name} ${r.type} ${r.content} (node ${model.ipOwner.get(r.content) ?? '?'}, eligible) was never adopted (no owner marker)`);
      }
      const have = new Set(mine.map((r) => r.content));
      let complete = movable;
      for (const ip of want) {
        if (have.has(ip)) continue;
        if (refusedLately) {
          info.missingAfterRefusal = (info.missingAfterRefusal ?? 0) + 1;
          continue;
        }
        complete = false;
        pushFinal('missingRecords', `${h.name} ${type} ${ip} (node ${model.ipOwner.get(ip) ?? '?'}, eligible) is missing in zone ${zoneName(home)}`);
      }
      // What should go: extra records in the home zone, and (once the home zone has its records)
      // the ones left in the zone the hostname moved from. The floor counts them all together.
      const extra = [...mine.filter((r) => !want.has(r.content)), ...(complete ? left(type) : [])];
      const mayHold = want.size >= floor ? 0 : Math.min(extra.length, floor - want.size);
      info.heldByFloor = (info.heldByFloor ?? 0) + mayHold;
      for (const r of extra.slice(mayHold)) {
        const node = model.ipOwner.get(r.content);
        const state = node === undefined ? 'not a node' : model.nodes.get(node)?.exists ? 'not eligible' : 'deleted';
        pushFinal('lostRemovals', r.zone_id === home
          ? `${r.name} ${r.type} ${r.content} (node ${node ?? '?'}, ${state}) is still there`
          : `${r.name} ${r.type} ${r.content} is still in zone ${zoneName(r.zone_id)} although ${h.name} moved to zone ${zoneName(home)}, which has its records`);
      }
      for (const r of mine) {
        if (r.ttl !== h.ttl || r.proxied) pushFinal('wrongSettings', `${r.name} ${r.type} ${r.content} has ttl ${r.ttl} proxied ${r.proxied}, want ttl ${h.ttl}`);
        if (ownerIn(r.comment) !== config.owner) pushFinal('wrongSettings', `${r.name} ${r.type} ${r.content} still carries the former owner's marker (${r.comment ?? ''}), not ${config.owner}'s`);
      }
    }
    const publishedMine = config.types.reduce((n, t) => n + (mineByType.get(t)?.length ?? 0), 0);
    for (const type of ['A', 'AAAA'] as const) {
      if (config.types.includes(type)) continue;
      const unpublished = [...(mineByType.get(type) ?? []), ...left(type)];
      const mayStay = publishedMine >= floor ? 0 : floor;
      for (const r of unpublished.slice(mayStay)) pushFinal('lostRemovals', `${r.name} ${r.type} ${r.content} (zone ${zoneName(r.zone_id)}) is still there although only ${config.types.join(',')} is published (and ${publishedMine} published record(s) keep the floor)`);
    }
  }
  for (const r of input.records) {
    if (ours(r) && handled(r) && writable(r.zone_id) && !model.hostnames.has(r.name.toLowerCase())) pushFinal('lostRemovals', `${r.name} ${r.type} ${r.content} is on a hostname nobody ever claimed`);
  }
  for (const before of input.foreign) {
    const now2 = input.records.find((r) => r.id === before.id);
    if (!now2) {
      pushFinal('foreignRecordsTouched', `foreign record ${identityOf(before)} (${before.comment ?? 'no comment'}) is gone`);
      continue;
    }
    const changed = FIELDS.filter((f) => JSON.stringify(now2[f]) !== JSON.stringify(before[f]));
    if (changed.length > 0) pushFinal('foreignRecordsTouched', `foreign record ${identityOf(before)} changed: ${changed.join(', ')}`);
  }
  for (const c of input.commits) {
    if (foreignIds.has(c.record.id) && c.kind !== 'create' && input.driverCommits?.has(`${c.kind} ${c.record.id}`) !== true) {
      violations.push({ invariant: 'foreignRecordsTouched', at: c.at, message: `a ${c.kind} commit touched foreign record ${identityOf(c.record)} at ${new Date(c.at).toISOString()}` });
    }
  }
  const converged = !violations.some((v) => v.invariant === 'lostRemovals' || v.invariant === 'missingRecords' || v.invariant === 'wrongSettings');
  return { violations, info, converged };
}

// ---- 7. readiness while the Lease is refused ---------------------------------------------------

/** One answer of a replica's readiness probe. */
export interface ReadySample { readonly tag: string; readonly n: number; readonly at: number; readonly status: number }
/** One Lease call of a replica as its Kubernetes proxy answered it. */
export interface LeaseAnswer { readonly tag: string; readonly n: number; readonly at: number; readonly status: number }

/** How long a replica may take to notice that its Lease calls are refused (one retry period and change). */
export const LEASE_PROBLEM_GRACE_MS = 1_000;

/**
 * A replica whose Lease calls are refused (403: its RBAC lost the Lease) must report not-ready: any
 * readiness sample answered 200 when that incarnation's last Lease answer at least
 * LEASE_PROBLEM_GRACE_MS earlier was a 403 (and none answered since) breaks the rule.
 */
export function checkLeaseReadiness(samples: readonly ReadySample[], answers: readonly LeaseAnswer[]): Judged {
  const violations: Violation[] = [];
  let judged = 0;
  for (const s of samples) {
    const mine = answers.filter((a) => a.tag === s.tag && a.n === s.n && a.at <= s.at && a.status !== 0);
    const last = mine[mine.length - 1];
    if (last === undefined || last.status !== 403 || s.at - last.at < LEASE_PROBLEM_GRACE_MS) continue;
    judged++;
    if (s.status === 200) {
      violations.push({
        invariant: 'readyWithoutLease', at: s.at, replica: { tag: s.tag, n: s.n },
        message: `replica ${s.tag}#${s.n} answered /health/ready 200 at ${new Date(s.at).toISOString()} although its Lease calls were refused (403) since ${new Date(mine.findLast((a) => a.status !== 403)?.at ?? mine[0]!.at).toISOString()}`,
      });
    }
  }
  return { violations, info: { readinessSamplesWithoutLease: judged } };
}

// ---- 6. processes -----------------------------------------------------------------------------

/** Above this RSS a replica is judged to leak, whatever its age. */
export const RSS_CEILING_KB = 400 * 1024;
/** Incarnations that lived at least this long are judged for growth. */
export const RSS_GROWTH_MIN_LIFE_MS = 240_000;

/**
 * Exits (6): every exit must be one we caused: SIGKILL by the driver, or SIGTERM at the end
 * answered by exit code 0. Memory (6): no RSS sample above RSS_CEILING_KB; and for an incarnation
 * that lived RSS_GROWTH_MIN_LIFE_MS or more, the peak of the last quarter of its life must not
 * exceed the peak of its second quarter by more than max(48 MB, 50 %): start-up growth is past by
 * then, and a leak shows as peaks that keep rising.
 */
export function checkProcesses(incarnations: readonly Incarnation[]): Judged {
  const violations: Violation[] = [];
  let peakKb = 0;
  let judged = 0;
  for (const inc of incarnations) {
    const who = `${inc.tag}#${inc.n}`;
    const replica = { tag: inc.tag, n: inc.n };
    if (inc.exitedAt !== undefined) {
      if (inc.endedBy === undefined) {
        violations.push({ invariant: 'unexpectedExits', at: inc.exitedAt, replica, message: `replica ${who} exited by itself (code ${inc.exitCode}, signal ${inc.exitSignal})` });
      } else if (inc.endedBy === 'sigterm' && inc.exitCode !== 0) {
        violations.push({ invariant: 'unexpectedExits', at: inc.exitedAt, replica, message: `replica ${who} answered SIGTERM with code ${inc.exitCode}, signal ${inc.exitSignal}` });
      }
    }
    for (const [t, kb] of inc.rss) {
      peakKb = Math.max(peakKb, kb);
      if (kb > RSS_CEILING_KB) {
        violations.push({ invariant: 'memory', at: t, replica, message: `replica ${who} RSS ${Math.round(kb / 1024)} MB > ${RSS_CEILING_KB / 1024} MB` });
        break;
      }
    }
    const first = inc.rss[0]?.[0];
    const last = inc.rss[inc.rss.length - 1]?.[0];
    if (first === undefined || last === undefined || last - first < RSS_GROWTH_MIN_LIFE_MS) continue;
    judged++;
    const q = (last - first) / 4;
    const peak = (a: number, b: number) => Math.max(0, ...inc.rss.filter(([t]) => t >= first + a * q && t <= first + b * q).map(([, kb]) => kb));
    const early = peak(1, 2);
    const late = peak(3, 4);
    if (late - early > Math.max(48 * 1024, early * 0.5)) {
      violations.push({ invariant: 'memory', at: last, replica, message: `replica ${who} RSS peaks grew from ${Math.round(early / 1024)} MB to ${Math.round(late / 1024)} MB over ${Math.round((last - first) / 1000)} s` });
    }
  }
  return { violations, info: { peakRssMb: Math.round(peakKb / 1024), incarnationsJudgedForGrowth: judged } };
}

/** Cloudflare calls one incarnation may make in any 10 s (Cloudflare allows 1,200 per 5 minutes, 40 per 10 s on average). */
export const CALLS_PER_10S_MAX = 100;
/** Batches refused with 403 one incarnation may send to one zone in any 120 s: a refusal that lasts is retried on a growing back-off. */
export const REFUSED_BATCHES_PER_120S_MAX = 20;
/** Log lines one incarnation may print in any 10 s. */
export const LOG_LINES_PER_10S_MAX = 2_000;

function most(times: readonly number[], windowMs: number): { count: number; at: number } {
  const sorted = [...times].sort((a, b) => a - b);
  let best = { count: 0, at: 0 };
  for (let i = 0, j = 0; j < sorted.length; j++) {
    while (sorted[j]! - sorted[i]! > windowMs) i++;
    if (j - i + 1 > best.count) best = { count: j - i + 1, at: sorted[j]! };
  }
  return best;
}

/**
 * Busy loops (7): no incarnation makes more than CALLS_PER_10S_MAX Cloudflare calls in any 10 s,
 * sends one zone more than REFUSED_BATCHES_PER_120S_MAX batches answered 403 in any 120 s, or
 * prints more than LOG_LINES_PER_10S_MAX log lines in any 10 s: a loop that retries without its
 * back-off, or replans without end, shows in one of them.
 */
export function checkBusyLoops(requests: readonly ProxiedRequest[], logLines: ReadonlyMap<string, ReadonlyArray<readonly [number, string]>>): Judged {
  const violations: Violation[] = [];
  const by = new Map<string, number[]>();
  const push = (key: string, t: number) => { const l = by.get(key); if (l) l.push(t); else by.set(key, [t]); };
  for (const r of requests) {
    push(`calls ${r.tag}#${r.incarnation}`, r.at);
    const zone = /\/zones\/([^/]+)\/dns_records\/batch/.exec(r.path)?.[1];
    if (r.method === 'POST' && zone !== undefined && r.status === 403) push(`refused ${r.tag}#${r.incarnation} ${zone}`, r.at);
  }
  let peakCalls = 0;
  for (const [key, times] of by) {
    const [kind, who, zone] = key.split(' ') as [string, string, string | undefined];
    const [tag, n] = who.split('#') as [string, string];
    const limit = kind === 'calls' ? { max: CALLS_PER_10S_MAX, ms: 10_000 } : { max: REFUSED_BATCHES_PER_120S_MAX, ms: 120_000 };
    const m = most(times, limit.ms);
    if (kind === 'calls') peakCalls = Math.max(peakCalls, m.count);
    if (m.count > limit.max) {
      violations.push({
        invariant: 'busyLoops', at: m.at, replica: { tag, n: Number(n) },
        message: kind === 'calls' ? `replica ${who} made ${m.count} Cloudflare calls within 10 s`
          : `replica ${who} sent zone ${zone} ${m.count} batches answered 403 within 120 s (no growing back-off)`,
      });
    }
  }
  for (const [who, lines] of logLines) {
    const m = most(lines.map(([t]) => t), 10_000);
    const [tag, n] = who.split('#') as [string, string];
    if (m.count <= LOG_LINES_PER_10S_MAX) continue;
    const seen = new Map<string, number>();
    for (const [t, msg] of lines) if (t > m.at - 10_000 && t <= m.at) seen.set(msg, (seen.get(msg) ?? 0) + 1);
    const top = [...seen].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([msg, k]) => `${k}× "${msg}"`).join(', ');
    violations.push({ invariant: 'busyLoops', at: m.at, replica: { tag, n: Number(n) }, message: `replica ${who} printed ${m.count} log lines within 10 s (${top})` });
  }
  return { violations, info: { peakCallsPer10s: peakCalls } };
}
