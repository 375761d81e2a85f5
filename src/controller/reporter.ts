/** What the loop tells people: each DNS change, held removals, foreign records, claim and zone problems. */
import type { Logger } from '../log/logger.js';
import type { Changes } from '../model/types.js';
import type { ClaimConflict, RefusedClaim, ServiceProblem } from '../reconcile/claims.js';
import type { Plan, Refusal } from '../reconcile/plan.js';
import type { ChangeLogEntry } from './status.js';
import type { ZoneReadStatus } from './zone-cache.js';

const RECENT_CHANGES = 50;
const VERB = { create: 'created', update: 'updated', delete: 'deleted' } as const;

export interface ReporterOptions {
  readonly minRecordsPerHostname: number;
  readonly maxUnhealthyFraction: number;
  readonly guardWindowMs: number;
  readonly onServiceProblem?: (p: ServiceProblem) => void;
  readonly onClaimRefused?: (r: RefusedClaim) => void;
}

export class Reporter {
  private readonly recent: ChangeLogEntry[] = [];
  /** Things said once while they stay true (a foreign record, a conflict, a bad Service). */
  private said = new Set<string>();

  constructor(private readonly log: Logger, private readonly opts: ReporterOptions) {}

  recentChanges(): ChangeLogEntry[] {
    return [...this.recent];
  }

  /** Logs what one reconcile found; each standing fact once, held removals every time (loudly). */
  findings(input: {
    plan: Plan;
    zones: { zones: readonly ZoneReadStatus[]; listError: string | undefined };
    conflicts: readonly ClaimConflict[];
    problems: readonly ServiceProblem[];
    refusedClaims: readonly RefusedClaim[];
  }): void {
    const now = new Set<string>();
    const once = (key: string, say: () => void) => {
      now.add(key);
      if (!this.said.has(key)) say();
    };
    const { plan } = input;
    if (input.zones.listError) {
      once(`zones ${input.zones.listError}`, () => this.log.warn({ err: input.zones.listError }, 'could not list the zones; using the zones listed before'));
    }
    for (const z of input.zones.zones) {
      if (z.read !== 'failed') continue;
      once(`zone-read ${z.id} ${z.error}`, () => this.log.error({ zone: z.name, zoneId: z.id, code: z.code, err: z.error },
        `could not read zone ${z.name}: its hostnames are left as they are; other zones go on`));
    }
    for (const h of plan.hostnames) {
      if (h.frozen === undefined) continue;
      once(`frozen ${h.name} ${h.frozen}`, () => this.log.warn({ hostname: h.name, source: h.source, why: h.frozen },
        `leaving ${h.name} as it is: ${h.frozen}`));
    }
    for (const m of plan.moves) {
      once(`move ${m.hostname} ${m.type} ${m.from} ${m.state}`, () => this.log.info({ hostname: m.hostname, type: m.type, from: m.from, to: m.to, state: m.state },
        m.state === 'creating-in-new-zone'
          ? `zone move: ${m.hostname} ${m.type} now belongs to zone ${m.to}; creating its records there first, keeping those in ${m.from}`
          : `zone move: ${m.hostname} ${m.type} has its records in zone ${m.to}; removing those left in ${m.from}`));
    }
    for (const c of input.conflicts) {
      once(`conflict ${c.hostname} ${c.ignored} ${c.difference}`, () => this.log.warn({ hostname: c.hostname, kept: c.kept, ignored: c.ignored, difference: c.difference },
        `hostname ${c.hostname} is claimed with different settings (${c.difference}): using ${c.kept}, ignoring ${c.ignored}`));
    }
    for (const p of input.problems) {
      once(`problem ${p.service} ${p.problem}`, () => {
        this.log.warn({ service: p.service, problem: p.problem, meanwhile: p.meanwhile }, `bad DNS annotations on Service ${p.service} (${p.meanwhile}): ${p.problem}`);
        this.opts.onServiceProblem?.(p);
      });
    }
    for (const r of input.refusedClaims) {
      once(`refused ${r.service} ${r.hostname}`, () => {
        this.log.warn({ service: r.service, hostname: r.hostname, why: r.why }, `claim refused: ${r.why}`);
        this.opts.onClaimRefused?.(r);
      });
    }
    for (const f of plan.foreign) {
      once(`foreign ${f.id}`, () => this.log.warn({ hostname: f.name, type: f.type, ip: f.content, owner: f.owner, reason: f.reason },
        `leaving alone a record this instance does not own: ${f.name} ${f.type} ${f.content} (${f.reason})`));
    }
    for (const d of plan.skipped) {
      once(`skipped ${d.record.id}`, () => this.log.warn({ hostname: d.record.name, type: d.record.type, ip: d.record.content, node: d.node, wouldBe: d.reason },
        `POLICY=upsert-only: not deleting ${d.record.name} ${d.record.type} ${d.record.content} (${d.reason})`));
    }
    for (const h of plan.held) {
      const fields = { hostname: h.record.name, type: h.record.type, ip: h.record.content, node: h.node, wouldBe: h.wouldBe, guard: h.reason };
      if (h.reason === 'safety-floor') {
        this.log.warn(fields, `SAFETY FLOOR: keeping ${h.record.name} ${h.record.content} although it should go (${h.wouldBe}): removing it would leave fewer than ${this.opts.minRecordsPerHostname} record(s)`);
      } else {
        this.log.warn(fields, `MASS-REMOVAL GUARD: keeping ${h.record.name} ${h.record.content} (${h.wouldBe}): health reasons would remove more than ${this.opts.maxUnhealthyFraction * 100}% of its records within ${this.opts.guardWindowMs / 60_000} minutes, which looks like a network or control-plane problem`);
      }
    }
    this.said = now; // a fact that went away is said again if it comes back
  }

  /** Operations Cloudflare refused, set aside. */
  refused(zone: string, refused: ReadonlyMap<string, Refusal>): void {
    for (const [key, r] of refused) {
      this.log.error({ zone, operation: key, code: r.code, apiCodes: r.apiCodes, err: r.message },
        `Cloudflare refused one operation (${key}); set aside, the rest of the batch went through`);
    }
  }

  /** Logs and remembers each change (committed, or only planned in a dry run). */
  changes(p: Changes, dry: boolean): void {
    const entries: Array<Omit<ChangeLogEntry, 'at'>> = [
      ...p.creates.map((c) => ({ action: 'create' as const, hostname: c.name, type: c.type, ip: c.content, node: c.node, reason: c.reason })),
      ...p.updates.map((u) => ({ action: 'update' as const, hostname: u.record.name, type: u.record.type, ip: u.record.content, node: u.node, reason: u.reason })),
      ...p.deletes.map((d) => ({ action: 'delete' as const, hostname: d.record.name, type: d.record.type, ip: d.record.content, node: d.node, reason: d.reason })),
    ];
    for (const e of entries) {
      const text = dry ? `DRY RUN: would have ${VERB[e.action]}` : `DNS record ${VERB[e.action]}:`;
      this.log.info({ ...e, ...(dry ? { dryRun: true } : {}) }, `${text} ${e.hostname} ${e.type} ${e.ip}`);
      this.recent.unshift({ at: new Date().toISOString(), ...e, ...(dry ? { reason: `dry-run: ${e.reason}` } : {}) });
    }
    this.recent.length = Math.min(this.recent.length, RECENT_CHANGES);
  }
}
