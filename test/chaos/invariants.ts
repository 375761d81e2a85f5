/**
 * The soak's verdicts, computed from what the simulators and the proxies recorded (pure: no I/O),
 * so that each rule can be read, and tested, on its own.
 */
import type { Commit, DnsRecordView } from '../../src/sim/cloudflare/index.js';
import type { ClusterModel } from './model.js';
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
  | 'unexpectedExits'
  | 'memory';

export const INVARIANTS: readonly InvariantName[] = [
  'nonLeaderWrites', 'wrongfulDeletions', 'lostRemovals', 'missingRecords', 'wrongSettings',
  'foreignRecordsTouched', 'floorBreaches', 'duplicates', 'unexpectedExits', 'memory',
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
export interface Disturbance { readonly kind: string; readonly from: number; readonly to: number }

/** How stale the service's view of the cluster may be when it plans a change (watch delivery, debounce). */
export const VIEW_LAG_MS = 2_000;

/**
 * Where the window that must be eligible starts for a batch sent at `decidedAt`: VIEW_LAG_MS before
 * it, or, when Kubernetes disturbances were in effect at `decidedAt`, VIEW_LAG_MS before the
 * earliest of them began (the service may still plan from what it saw before it).
 */
export function windowStart(decidedAt: number, disturbances: readonly Disturbance[]): number {
  let from = decidedAt;
  for (const d of disturbances) if (d.from <= decidedAt && decidedAt <= d.to) from = Math.min(from, d.from);
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

export interface ReplayInput {
  readonly commits: readonly Commit[];
  readonly requests: readonly ProxiedRequest[];
  readonly model: ClusterModel;
  readonly disturbances: readonly Disturbance[];
  readonly owner: string;
  readonly floor: number;
  /** Ids of the records made before the service started that it does not own. */
  readonly foreignIds: ReadonlySet<string>;
}

/** When the service decided the batch that deleted `id`: the first of the identical tries that carried it. */
export function decisionTime(id: string, committedAt: number, requests: readonly ProxiedRequest[]): { at: number; request?: ProxiedRequest } {
  let last: ProxiedRequest | undefined;
  for (const r of requests) {
    if (r.at > committedAt) break;
    if (r.deletes?.includes(id)) last = r;
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

/**
 * Replays the commit log in order, one transaction (commits with the same time stamp) at a time.
 *
 * Wrongful deletion (2): a record of node N for hostname H is deleted although N was eligible
 * and H claimed (by the driver's own account) at every moment of [W, C], where C is the commit
 * time, D the moment the service sent the first try of the batch that carried the deletion, and
 * W = windowStart(D): VIEW_LAG_MS before D, or before the start of a Kubernetes disturbance still
 * in effect at D.
 * Deletions of a node eligible at C are counted as information: `deletionsDecidedBeforeEligible`
 * when the node was not eligible (or the hostname not claimed) at D, the batch landing after it
 * changed back; `deletionsOfEligibleExcused` when it was eligible at D but not since W.
 *
 * Floor (5): after a transaction that deleted a managed record of (H, type), fewer than `floor`
 * managed records remain although H was claimed throughout [W, C]. Managed: our owner
 * marker, or no marker and the address of a node that exists (the service adopts those).
 *
 * Duplicates (5): two records with the same name, type and content at any moment.
 */
export function replayCommits(input: ReplayInput): Judged {
  const { model, owner, floor } = input;
  const violations: Violation[] = [];
  const info: Record<string, number> = { deletes: 0, deletionsOfEligibleExcused: 0, deletionsDecidedBeforeEligible: 0, deletionsOfIneligible: 0 };
  const notes: string[] = [];
  const zone = new Map<string, DnsRecordView>();
  const managed = (r: DnsRecordView, at: number): boolean => {
    if (input.foreignIds.has(r.id)) return false;
    const o = ownerIn(r.comment);
    return o === owner || (o === null && model.wasClusterIp(r.content, at));
  };
  const commits = input.commits;
  for (let i = 0; i < commits.length;) {
    const at = commits[i]!.at;
    const group: Commit[] = [];
    while (i < commits.length && commits[i]!.at === at) group.push(commits[i++]!);
    for (const c of group) {
      if (c.kind === 'delete') zone.delete(c.record.id);
      else zone.set(c.record.id, c.record);
    }
    const seen = new Set<string>();
    for (const r of zone.values()) {
      const id = identityOf(r);
      if (seen.has(id)) violations.push({ invariant: 'duplicates', at, message: `two records ${id} at ${new Date(at).toISOString()}` });
      seen.add(id);
    }
    const floorChecked = new Set<string>();
    for (const c of group) {
      if (c.kind !== 'delete' || input.foreignIds.has(c.record.id)) continue;
      const r = c.record;
      info.deletes = (info.deletes ?? 0) + 1;
      const decided = decisionTime(r.id, at, input.requests);
      const from = windowStart(decided.at, input.disturbances);
      const lag = decided.at - from;
      const claims = model.claims.get(r.name.toLowerCase());
      const claimed = claims?.throughout(true, from, at) ?? false;
      const node = model.ipOwner.get(r.content);
      const replica = decided.request ? { tag: decided.request.tag, n: decided.request.incarnation } : undefined;
      const stillThere = [...zone.values()].some((o) => identityOf(o) === identityOf(r));
      if (node !== undefined && !stillThere) {
        const tl = model.eligibility.get(node);
        if (claimed && tl?.throughout(true, from, at)) {
          violations.push({
            invariant: 'wrongfulDeletions', at, ...(replica ? { replica } : {}),
            message: `deleted ${r.name} ${r.type} ${r.content} (node ${node}) at ${new Date(at).toISOString()}: the node was eligible ` +
              `and the hostname claimed since ${new Date(Math.min(tl.since(at) ?? at, claims?.since(at) ?? at)).toISOString()}; ` +
              `batch first sent at ${new Date(decided.at).toISOString()} by ${replica ? `${replica.tag}#${replica.n}` : '?'}, allowed view lag ${lag} ms`,
          });
        } else if (claims?.at(at) === true && tl?.at(at) === true && (tl.at(decided.at) !== true || claims.at(decided.at) !== true)) {
          // Sent while the node was not eligible (or the hostname unclaimed); committed after it changed back.
          info.deletionsDecidedBeforeEligible = (info.deletionsDecidedBeforeEligible ?? 0) + 1;
        } else if (claims?.at(at) === true && tl?.at(at) === true) {
          info.deletionsOfEligibleExcused = (info.deletionsOfEligibleExcused ?? 0) + 1;
          if (notes.length < 10) {
            notes.push(`excused: ${r.name} ${r.type} ${r.content} (node ${node}) deleted at ${new Date(at).toISOString()}, batch first sent ` +
              `${new Date(decided.at).toISOString()}; eligible since ${new Date(tl.since(at) ?? 0).toISOString()}, claimed since ` +
              `${new Date(claims.since(at) ?? 0).toISOString()}, allowed lag ${lag} ms`);
          }
        } else info.deletionsOfIneligible = (info.deletionsOfIneligible ?? 0) + 1;
      }
      const k = key(r.name, r.type);
      if (floorChecked.has(k) || !claimed) continue;
      floorChecked.add(k);
      const left = [...zone.values()].filter((o) => key(o.name, o.type) === k && managed(o, at)).length;
      if (left < floor) {
        violations.push({
          invariant: 'floorBreaches', at, ...(replica ? { replica } : {}),
          message: `${r.name} ${r.type} left with ${left} managed record(s) (floor ${floor}) by the deletion of ${r.content} at ${new Date(at).toISOString()}, ` +
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
  readonly owner: string;
  readonly floor: number;
  /** The records made before the start that the service does not own, as they were then. */
  readonly foreignBefore: readonly DnsRecordView[];
  readonly commits: readonly Commit[];
  readonly types: ReadonlyArray<'A' | 'AAAA'>;
}

const FIELDS: Array<keyof DnsRecordView> = ['name', 'type', 'content', 'ttl', 'proxied', 'comment', 'modified_on', 'created_on'];

/**
 * Converged (3): for each claimed hostname H and type T, the records with our marker are
 * exactly the addresses of the eligible nodes, minus the addresses already published on (H, T)
 * by a record we do not own (the service never duplicates another owner's record), each with
 * H's TTL. When fewer than `floor` nodes are eligible, up to `floor - eligible` records of other
 * nodes may stay (held by the safety floor): those are `heldByFloor`, anything beyond is a lost
 * removal. An unmarked record at the address of a node that exists must have been adopted. No
 * record with our marker remains on a hostname nobody claims.
 *
 * Foreign (4): every record made before the start that the service does not own is still there
 * with every field unchanged, and no commit ever touched it.
 */
export function checkFinal(input: FinalInput): Judged & { converged: boolean } {
  const { model, owner, floor } = input;
  const violations: Violation[] = [];
  const now = Date.now();
  let heldByFloor = 0;
  const foreignIds = new Set(input.foreignBefore.map((r) => r.id));
  const clusterIps = model.clusterIps();
  const ours = (r: DnsRecordView) => !foreignIds.has(r.id) && ownerIn(r.comment) === owner;
  const pushFinal = (invariant: InvariantName, message: string) => violations.push({ invariant, at: now, message });

  const seen = new Set<string>();
  for (const r of input.records) {
    const id = identityOf(r);
    if (seen.has(id)) pushFinal('duplicates', `two records ${id} at the end`);
    seen.add(id);
  }
  for (const h of model.hostnames.values()) {
    for (const type of input.types) {
      const recs = input.records.filter((r) => r.name.toLowerCase() === h.name && r.type === type);
      const mine = recs.filter(ours);
      if (!h.claimed) {
        for (const r of mine) pushFinal('lostRemovals', `${r.name} ${r.type} ${r.content} is still there although nobody claims ${h.name}`);
        continue;
      }
      const foreignIps = new Set(recs.filter((r) => !ours(r) && !(ownerIn(r.comment) === null && clusterIps.has(r.content))).map((r) => r.content));
      for (const r of recs) {
        if (!foreignIds.has(r.id) && ownerIn(r.comment) === null && clusterIps.has(r.content)) {
          pushFinal('wrongSettings', `${r.name} ${r.type} ${r.content} (node ${model.ipOwner.get(r.content) ?? '?'}) was never adopted (no owner marker)`);
        }
      }
      const want = new Set([...model.eligibleIps(type)].filter((ip) => !foreignIps.has(ip)));
      const have = new Set(mine.map((r) => r.content));
      for (const ip of want) if (!have.has(ip)) pushFinal('missingRecords', `${h.name} ${type} ${ip} (node ${model.ipOwner.get(ip) ?? '?'}, eligible) is missing`);
      const extra = mine.filter((r) => !want.has(r.content));
      const mayHold = want.size >= floor ? 0 : Math.min(extra.length, floor - want.size);
      heldByFloor += mayHold;
      for (const r of extra.slice(mayHold)) {
        const node = model.ipOwner.get(r.content);
        const state = node === undefined ? 'not a node' : model.nodes.get(node)?.exists ? 'not eligible' : 'deleted';
        pushFinal('lostRemovals', `${r.name} ${r.type} ${r.content} (node ${node ?? '?'}, ${state}) is still there`);
      }
      for (const r of mine) {
        if (r.ttl !== h.ttl || r.proxied) pushFinal('wrongSettings', `${r.name} ${r.type} ${r.content} has ttl ${r.ttl} proxied ${r.proxied}, want ttl ${h.ttl}`);
      }
    }
  }
  for (const r of input.records) {
    if (ours(r) && !model.hostnames.has(r.name.toLowerCase())) pushFinal('lostRemovals', `${r.name} ${r.type} ${r.content} is on a hostname nobody ever claimed`);
  }
  for (const before of input.foreignBefore) {
    const now2 = input.records.find((r) => r.id === before.id);
    if (!now2) {
      pushFinal('foreignRecordsTouched', `foreign record ${identityOf(before)} (${before.comment ?? 'no comment'}) is gone`);
      continue;
    }
    const changed = FIELDS.filter((f) => JSON.stringify(now2[f]) !== JSON.stringify(before[f]));
    if (changed.length > 0) pushFinal('foreignRecordsTouched', `foreign record ${identityOf(before)} changed: ${changed.join(', ')}`);
  }
  for (const c of input.commits) {
    if (foreignIds.has(c.record.id) && c.kind !== 'create') {
      violations.push({ invariant: 'foreignRecordsTouched', at: c.at, message: `a ${c.kind} commit touched foreign record ${identityOf(c.record)} at ${new Date(c.at).toISOString()}` });
    }
  }
  const converged = !violations.some((v) => v.invariant === 'lostRemovals' || v.invariant === 'missingRecords' || v.invariant === 'wrongSettings');
  return { violations, info: { heldByFloor }, converged };
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
