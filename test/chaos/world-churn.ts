/**
 * The soak's world beyond nodes: Services and the hostnames they claim (with annotation typos and
 * claims outside the allow-lists), zones (a sub-zone that appears pending and is later activated,
 * copies of a zone in another account, a token's rights per zone) and records made by hand (a
 * CNAME at a claimed name). Every change goes to the simulators and to the model at once.
 */
import type { World } from '../../src/cli/world.js';
import type { DnsRecordView, ZonePermission, ZoneStatus } from '../../src/sim/cloudflare/index.js';
import { eligible, type ClusterModel, type NodeState, type ZoneState } from './model.js';
import type { Prng } from './prng.js';

export const ZONE = 'example.com';
export const NET = 'example.net';
export const SUB = `sub.${ZONE}`;
export const UNRELATED = 'unrelated.org';
/** DNS_HOSTNAMES: one per zone, and one the sub-zone takes over once it is active. */
export const STATIC_HOSTNAMES = [`app.${ZONE}`, `app.${NET}`, `x.${SUB}`];
export const SERVICES = ['svc-0', 'svc-1', 'svc-2', 'svc-3'];
/** The allow-lists the replicas run with. */
export const CLAIM_NAMESPACES = 'default';
export const CLAIM_DOMAINS = `*.${ZONE},*.${NET}`;
/** Claims the allow-lists refuse: a Service in another namespace, and one claiming a zone apex. */
export const OUTSIDE = [
  { name: 'intruder', namespace: 'other', hostname: `intruder.${ZONE}` },
  { name: 'apex', namespace: 'default', hostname: NET },
] as const;

export type Typo = 'ttl' | 'json' | 'enabled';
/**
 * A zone's status, or a claim outside the allow-lists, stays at least this long: the service lists
 * zones at each full sync (DNS_SYNC_INTERVAL, 10 s here), and the judges allow it ZONE_LAG_MS.
 */
const MIN_DWELL_MS = 35_000;

export interface ServiceState {
  enabled: boolean;
  hostname: string | undefined;
  ttl: number | undefined;
  typo: Typo | undefined;
  /** The claim its annotations last made while they parsed (what a replica that saw it remembers). */
  lastGood: { hostname: string; ttl: number } | undefined;
}

const serviceNames = (i: number) => [`svc${i}.${ZONE}`, `svc${i}-alt.${ZONE}`, `svc${i}.${NET}`, `svc${i}.${SUB}`];

export interface ChurnHooks {
  note(who: string, text: string): void;
  count(kind: string): void;
  later(ms: number, fn: () => void): void;
}

export class WorldChurn {
  readonly services = new Map<string, ServiceState>();
  readonly outside = new Map<string, boolean>(OUTSIDE.map((o) => [o.name, false]));
  /** Records the service must leave alone, as they were made (before the start, or by hand since). */
  readonly foreign = new Map<string, DnsRecordView>();
  /** Every record that was ever foreign (a CNAME removed by hand since included): the service must never write one. */
  readonly everForeign = new Set<string>();
  /** Commits the driver made itself: `${kind} ${recordId}`. */
  readonly driverCommits = new Set<string>();
  /** zone id of each name the driver made. */
  readonly zoneIds = new Map<string, string>();
  /** The copy of a zone in another account, per zone name. */
  readonly copies = new Map<string, string>();
  /** Hand-made CNAMEs now: record id -> where. */
  readonly cnames = new Map<string, { zoneId: string; hostname: string }>();
  /** Zones whose rights were lowered and will be given back (zone id -> when). */
  readonly restoring = new Map<string, number>();
  private copyAccounts = 0;
  /** When each zone (or outside claim) last changed: the next change waits MIN_DWELL_MS, so the service sees each state. */
  private readonly changedAt = new Map<string, number>();

  private dwelt(key: string): boolean {
    return Date.now() - (this.changedAt.get(key) ?? 0) >= MIN_DWELL_MS;
  }

  private changed(key: string): void {
    this.changedAt.set(key, Date.now());
  }

  /**
   * `lowerForGood`: a zone's lowered rights may stay lowered (until the soak settles, or for good);
   * false: they are always given back within 40 s (see FAILING_ZONE_ISOLATED in soak.ts).
   */
  constructor(private readonly world: World, private readonly model: ClusterModel, private readonly rng: Prng, private readonly hooks: ChurnHooks,
    private readonly lowerForGood = true) {}

  private get cf() {
    return this.world.cloudflare;
  }

  /** Zones, hostnames, Services and foreign records, before any replica starts. */
  setup(): void {
    const now = Date.now();
    for (const name of [ZONE, NET]) this.zoneIds.set(name, this.cf.zone(name).id);
    this.zoneIds.set(UNRELATED, this.cf.addZone({ name: UNRELATED }).id);
    if (this.rng.chance(0.5)) {
      this.zoneIds.set(SUB, this.cf.addZone({ name: SUB, status: 'pending' }).id);
      this.changed(SUB);
    }
    for (const z of this.cf.zones()) this.model.setZone(now, { id: z.id, name: z.name, account: z.account.id, status: z.status, permission: z.permission });
    for (const h of STATIC_HOSTNAMES) this.model.setHostname(now, h, 'claimed', 1);
    for (const o of OUTSIDE) this.model.setHostname(now, o.hostname, 'unclaimed', 1, { forbidden: true });
    this.world.kube.createObject('namespaces', { metadata: { name: 'other' } });
    for (const [i, name] of SERVICES.entries()) {
      const state: ServiceState = { enabled: i < 3, hostname: i === 2 ? undefined : `svc${i}.${ZONE}`, ttl: i === 1 ? 120 : undefined, typo: undefined, lastGood: undefined };
      this.services.set(name, state);
      this.world.kube.createObject('services', {
        metadata: { name, namespace: 'default', annotations: defined(this.annotations(state)) },
        spec: { ports: [{ port: 80 }] },
      });
    }
    for (const o of OUTSIDE) {
      const on = this.rng.chance(0.5);
      this.outside.set(o.name, on);
      this.changed(o.name);
      this.world.kube.createObject('services', {
        metadata: { name: o.name, namespace: o.namespace, annotations: on ? { 'epictetus.io/dns-enabled': 'true', 'epictetus.io/hostname': o.hostname } : {} },
        spec: { ports: [{ port: 80 }] },
      });
    }
    this.syncClaims(Date.now());
  }

  /** Records the service must leave alone, made before it starts (`shared`: an address a node has). */
  addForeignRecords(shared: string): void {
    const main = this.zoneIds.get(ZONE)!;
    const made: Array<{ zone: string; name: string; type: string; content: string; comment?: string; ttl?: number }> = [
      { zone: main, name: `app.${ZONE}`, type: 'A', content: '192.0.2.10', comment: 'hand-made: office gateway' },
      { zone: main, name: `app.${ZONE}`, type: 'A', content: '192.0.2.11', comment: 'epictetus:owner=other-cluster' },
      { zone: main, name: `app.${ZONE}`, type: 'A', content: shared, comment: 'epictetus:owner=other-cluster shares this address' },
      { zone: main, name: `app.${ZONE}`, type: 'AAAA', content: '2001:db8:ffff::1' },
      { zone: main, name: `svc0.${ZONE}`, type: 'A', content: '192.0.2.12', ttl: 300 },
      { zone: main, name: `www.${ZONE}`, type: 'CNAME', content: `app.${ZONE}` },
      { zone: main, name: `mail.${ZONE}`, type: 'A', content: '192.0.2.25', comment: 'mail server' },
      { zone: this.zoneIds.get(NET)!, name: `app.${NET}`, type: 'A', content: '192.0.2.30', comment: 'epictetus:owner=other-cluster' },
      { zone: this.zoneIds.get(UNRELATED)!, name: `www.${UNRELATED}`, type: 'A', content: '192.0.2.40', comment: 'not ours' },
    ];
    for (const { zone, ...r } of made) this.addForeign(zone, { ttl: 1, proxied: false, ...r });
  }

  private addForeign(zoneId: string, r: { name: string; type: string; content: string; ttl: number; proxied: boolean; comment?: string }): DnsRecordView {
    const made = this.cf.addRecord(zoneId, r);
    this.foreign.set(made.id, made);
    this.everForeign.add(made.id);
    this.driverCommits.add(`create ${made.id}`);
    return made;
  }

  annotations(s: ServiceState): Record<string, string | null> {
    return {
      'epictetus.io/dns-enabled': s.typo === 'enabled' ? 'ture' : s.enabled ? 'true' : null,
      'epictetus.io/hostname': s.typo === 'json' ? null : s.hostname ?? null,
      // A JSON list cut short (a bad merge of a Helm value, a missing bracket).
      'epictetus.io/hostnames': s.typo === 'json' && s.hostname ? `["${s.hostname}",` : null,
      'epictetus.io/ttl': s.typo === 'ttl' ? '7' : s.ttl === undefined ? null : String(s.ttl),
    };
  }

  /**
   * The model's claims from the Services, by claims.ts's rules: a Service whose annotations parse
   * claims its hostname (or withdraws it: disabled). One whose annotations do not parse keeps its
   * last good claim in a replica that saw it, while a replica started since leaves the names the
   * annotations mention in doubt. A name both agree to keep is in doubt (protected); a name only
   * one of them keeps (the last good claim no longer mentioned, or a name mentioned that the last
   * good claim did not hold) is unclaimed but not judged at the end (`lastGoodOnly`): removing it
   * has evidence behind it, keeping it is allowed too.
   */
  syncClaims(at: number): void {
    const claims = new Map<string, { claim: 'claimed' | 'doubt'; ttl: number }>();
    const unsure = new Set<string>();
    for (const s of this.services.values()) {
      const enabledTrue = s.typo !== 'enabled' && s.enabled;
      const problem = s.typo === 'enabled' || (enabledTrue && (s.typo !== undefined || s.hostname === undefined));
      if (!problem) {
        if (enabledTrue && s.hostname) {
          s.lastGood = { hostname: s.hostname, ttl: s.ttl ?? 1 };
          claims.set(s.hostname, { claim: 'claimed', ttl: s.ttl ?? 1 });
        } else s.lastGood = undefined;
        continue;
      }
      const mentioned = s.hostname;
      if (s.lastGood === undefined) {
        if (mentioned) claims.set(mentioned, { claim: 'doubt', ttl: 1 });
        continue;
      }
      if (mentioned === s.lastGood.hostname) claims.set(mentioned, { claim: 'doubt', ttl: s.lastGood.ttl });
      else {
        unsure.add(s.lastGood.hostname);
        if (mentioned) unsure.add(mentioned);
      }
    }
    for (const i of SERVICES.keys()) {
      for (const name of serviceNames(i)) {
        const c = claims.get(name);
        const ttl = c?.ttl ?? this.model.hostnames.get(name)?.ttl ?? 1;
        this.model.setHostname(at, name, c?.claim ?? 'unclaimed', ttl, { lastGoodOnly: unsure.has(name) && c === undefined });
      }
    }
  }

  /** Service churn: toggles, hostname and TTL changes, annotation typos, claims outside the allow-lists. */
  service(kind: 'svc-toggle' | 'svc-hostname' | 'svc-ttl' | 'svc-bad-annotation' | 'svc-outside', forceTypo?: Typo): string | undefined {
    const rng = this.rng;
    if (kind === 'svc-outside') {
      const ready = OUTSIDE.filter((x) => this.dwelt(x.name));
      if (ready.length === 0) return undefined;
      const o = rng.pick(ready);
      this.changed(o.name);
      const on = !this.outside.get(o.name);
      this.outside.set(o.name, on);
      this.world.kube.patchObject('services', o.name, {
        metadata: { annotations: { 'epictetus.io/dns-enabled': on ? 'true' : null, 'epictetus.io/hostname': on ? o.hostname : null } },
      }, { namespace: o.namespace, type: 'merge' });
      return `svc-outside ${o.namespace}/${o.name} ${on ? 'claims' : 'no longer claims'} ${o.hostname} (outside the allow-lists)`;
    }
    const name = rng.pick(SERVICES);
    const s = this.services.get(name)!;
    const i = SERVICES.indexOf(name);
    if (kind === 'svc-toggle') s.enabled = !s.enabled;
    else if (kind === 'svc-hostname') s.hostname = rng.pick([undefined, ...serviceNames(i)].filter((h) => h !== s.hostname));
    else if (kind === 'svc-ttl') s.ttl = rng.pick([undefined, 60, 120, 300].filter((t) => t !== s.ttl));
    else s.typo = forceTypo ?? (s.typo !== undefined ? undefined : rng.pick(['ttl', 'json', 'enabled'] as const));
    this.patchService(name, s);
    return `${kind} ${name} → enabled=${s.enabled} hostname=${s.hostname ?? '-'} ttl=${s.ttl ?? '-'}${s.typo ? ` (typo: ${s.typo})` : ''}`;
  }

  /** A Service that claims a hostname now, to put a typo into (restart-typo). */
  pickClaiming(): string | undefined {
    const ok = SERVICES.filter((n) => {
      const s = this.services.get(n)!;
      return s.enabled && s.hostname !== undefined && s.typo === undefined;
    });
    return ok.length > 0 ? this.rng.pick(ok) : undefined;
  }

  setTypo(name: string, typo: Typo): string {
    const s = this.services.get(name)!;
    s.typo = typo;
    this.patchService(name, s);
    return `${name} gets a typo (${typo}): ${JSON.stringify(defined(this.annotations(s)))}`;
  }

  private patchService(name: string, s: ServiceState): void {
    this.world.kube.patchObject('services', name, { metadata: { annotations: this.annotations(s) } }, { type: 'merge' });
    this.syncClaims(Date.now());
  }

  // ---- zones --------------------------------------------------------------------------------------

  private setZone(id: string, change: { status?: ZoneStatus; permission?: ZonePermission }): void {
    if (change.status) this.cf.setZoneStatus(id, change.status);
    if (change.permission) this.cf.setZonePermission(id, change.permission);
    const z = this.cf.zones().find((x) => x.id === id)!;
    const state: ZoneState = { id, name: z.name, account: z.account.id, status: z.status, permission: z.permission };
    this.model.setZone(Date.now(), state);
  }

  private zoneLabel(id: string): string {
    const z = this.model.zones.get(id);
    return z ? `${z.name}${[...this.copies.values()].includes(id) ? ' (copy)' : ''} [${z.status}, ${z.permission}]` : id;
  }

  /** The sub-zone's life: added pending, activated (its hostnames move in), moved away (they move back), pending again. */
  zoneSub(): string | undefined {
    const id = this.zoneIds.get(SUB);
    if (!this.dwelt(SUB)) return undefined;
    this.changed(SUB);
    if (id === undefined) {
      const z = this.cf.addZone({ name: SUB, status: 'pending' });
      this.zoneIds.set(SUB, z.id);
      this.model.setZone(Date.now(), { id: z.id, name: z.name, account: z.account.id, status: z.status, permission: z.permission });
      return `zone-sub: ${SUB} added, pending (not delegated yet: ${`x.${SUB}`} stays in ${ZONE})`;
    }
    const now = this.model.zones.get(id)!.status;
    const next: ZoneStatus = now === 'pending' ? 'active' : now === 'active' ? 'moved' : 'pending';
    this.setZone(id, { status: next });
    return `zone-sub: ${SUB} ${now} → ${next}${next === 'active' ? ' (its hostnames move in)' : now === 'active' ? ' (its hostnames move back)' : ''}`;
  }

  /** A copy of a zone in another account: pending, sometimes active (an ambiguity: its hostnames freeze), then deactivated. */
  zoneCopy(): string | undefined {
    const bases = [ZONE, NET].filter((b) => this.dwelt(`copy ${b}`));
    if (bases.length === 0) return undefined;
    const base = this.rng.pick(bases);
    this.changed(`copy ${base}`);
    const id = this.copies.get(base);
    if (id === undefined) {
      // Account ids sorting before and after the real one: a client that takes the first of two names must meet both orders.
      const account = `${this.rng.chance(0.5) ? '0000' : 'ffff'}${(++this.copyAccounts).toString(16).padStart(4, '0')}chaoscopy`;
      const z = this.cf.addZone({ name: base, status: 'pending', account });
      this.copies.set(base, z.id);
      this.model.setZone(Date.now(), { id: z.id, name: z.name, account, status: z.status, permission: z.permission });
      return `zone-copy: ${base} added in account ${account}, pending`;
    }
    const now = this.model.zones.get(id)!.status;
    const next: ZoneStatus = now === 'pending' ? (this.rng.chance(0.75) ? 'active' : 'deactivated') : now === 'active' ? 'deactivated' : 'pending';
    this.setZone(id, { status: next });
    return `zone-copy: the copy of ${base} ${now} → ${next}${next === 'active' ? ` (two active zones named ${base}: its hostnames are frozen)` : ''}`;
  }

  /** The token's rights on one zone change: read-only, records unreadable, the zone hidden; given back later (or not). */
  zonePermission(): string | undefined {
    // Mostly zones that hold claimed hostnames (their changes fail meanwhile), sometimes another.
    const ids = [this.zoneIds.get(NET), this.zoneIds.get(NET), this.zoneIds.get(ZONE), this.zoneIds.get(SUB), this.rng.pick([...this.model.zones.keys()])];
    const z = this.model.zones.get(this.rng.pick(ids.filter((x): x is string => x !== undefined)))!;
    const next = this.rng.pick((['read', 'none', 'hidden', 'edit'] as const).filter((p) => p !== z.permission));
    const before = this.zoneLabel(z.id);
    this.setZone(z.id, { permission: next });
    let back = '';
    if (next !== 'edit' && (this.rng.chance(0.75) || !this.lowerForGood)) {
      const ms = this.rng.int(10_000, 40_000);
      this.restoring.set(z.id, Date.now() + ms);
      back = `; edit given back in ${ms} ms`;
      this.hooks.later(ms, () => {
        if (this.restoring.get(z.id) === undefined) return;
        this.restoring.delete(z.id);
        this.setZone(z.id, { permission: 'edit' });
        this.hooks.note('driver', `zone-permission: ${this.zoneLabel(z.id)} (edit given back)`);
      });
    } else this.restoring.delete(z.id);
    return `zone-permission: ${before} → ${next}${back}`;
  }

  // ---- records made by hand -----------------------------------------------------------------------

  /** A CNAME made by hand at a claimed name that has no address records (Cloudflare then refuses A/AAAA there), or one removed. */
  cname(): string | undefined {
    if (this.cnames.size > 0 && (this.cnames.size >= 2 || this.rng.chance(0.4))) {
      const [id, where] = this.rng.pick([...this.cnames]);
      this.cf.deleteRecord(where.zoneId, id);
      this.driverCommits.add(`delete ${id}`);
      this.foreign.delete(id);
      this.cnames.delete(id);
      this.model.setCname(Date.now(), where.zoneId, where.hostname, false);
      return `cname: the hand-made CNAME at ${where.hostname} removed`;
    }
    // A name of a Service's that has no address records yet (Cloudflare refuses a CNAME next to
    // them); the Service then claims it, most of the time: its A/AAAA creates will be refused.
    const records = this.cf.records();
    const candidates = SERVICES.flatMap((svc, i) => serviceNames(i).flatMap((hostname) => {
      const h = this.model.hostnames.get(hostname);
      const home = this.model.homes.get(hostname)?.at(Date.now());
      if (!h || h.claim === 'doubt' || home === undefined || home === 'ambiguous' || home === 'none' || this.model.zones.get(home)?.permission !== 'edit') return [];
      const taken = records.some((r) => r.zone_id === home && r.name === hostname && ['A', 'AAAA', 'CNAME'].includes(r.type));
      return taken ? [] : [{ svc, hostname, zoneId: home }];
    }));
    if (candidates.length === 0) return undefined;
    const c = this.rng.pick(candidates);
    const claim = this.rng.chance(0.7);
    let made: DnsRecordView;
    try {
      made = this.addForeign(c.zoneId, { name: c.hostname, type: 'CNAME', content: 'elsewhere.example.org', ttl: 1, proxied: false, comment: 'hand-made CNAME' });
    } catch (err) {
      return `cname: could not make a CNAME at ${c.hostname} (${String(err).slice(0, 80)})`;
    }
    this.cnames.set(made.id, { zoneId: c.zoneId, hostname: c.hostname });
    this.model.setCname(Date.now(), c.zoneId, c.hostname, true);
    const s = this.services.get(c.svc)!;
    if (claim && s.typo === undefined) {
      s.enabled = true;
      s.hostname = c.hostname;
      this.patchService(c.svc, s);
    }
    return `cname: a CNAME made by hand at ${c.hostname}${claim && s.hostname === c.hostname ? `, which ${c.svc} now claims` : ''} (Cloudflare refuses A/AAAA next to it: 81054)`;
  }

  /** After a node became eligible: sometimes create its record behind the service's back (81058), in its hostname's zone. */
  identical(n: NodeState, wasEligible: boolean, owner: string): void {
    if (wasEligible || !eligible(n) || !this.rng.chance(0.3)) return;
    const claimed = [...this.model.hostnames.values()].filter((h) => h.claim === 'claimed').sort((a, b) => (a.name < b.name ? -1 : 1));
    if (claimed.length === 0) return;
    const h = this.rng.pick(claimed);
    const marked = this.rng.chance(0.5);
    const home = this.model.homes.get(h.name)?.at(Date.now());
    if (home === undefined || home === 'ambiguous' || home === 'none' || this.model.zones.get(home)?.permission === 'hidden') return;
    try {
      const made = this.cf.addRecord(home, {
        name: h.name, type: 'A', content: n.ipv4, ttl: h.ttl, proxied: false, ...(marked ? { comment: `epictetus:owner=${owner}` } : {}),
      });
      this.driverCommits.add(`create ${made.id}`);
      this.hooks.count('cf-identical-record');
      this.hooks.note('fault', `cf-identical-record: ${h.name} A ${n.ipv4} created behind the service's back (${marked ? 'with our marker' : 'unmarked'})`);
    } catch {
      this.hooks.note('fault', `cf-identical-record: ${h.name} A ${n.ipv4} could not be made (already there, or a CNAME)`);
    }
  }

  /**
   * At settling: lowered rights due back are given back, or stay (`keep`: as if nobody noticed);
   * with `restoreAll`, every lowered right is given back, due or not.
   */
  settle(keep: boolean, restoreAll: boolean): string[] {
    const out: string[] = [];
    const lowered = [...this.model.zones.values()].filter((z) => z.permission !== 'edit').map((z) => z.id);
    for (const id of restoreAll ? lowered : [...this.restoring.keys()]) {
      this.restoring.delete(id);
      if (keep && !restoreAll) continue;
      this.setZone(id, { permission: 'edit' });
      out.push(`zone-permission: ${this.zoneLabel(id)} (edit given back at settling)`);
    }
    this.restoring.clear();
    return out;
  }
}

function defined(a: Record<string, string | null>): Record<string, string> {
  return Object.fromEntries(Object.entries(a).filter((e): e is [string, string] => e[1] !== null));
}
