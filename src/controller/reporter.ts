/** What the loop tells people: each DNS change, held removals, foreign records, claim problems. */
import type { Logger } from '../log/logger.js';
import type { ClaimConflict, ServiceProblem } from '../reconcile/claims.js';
import type { Plan } from '../reconcile/plan.js';
import type { HostnameStatus } from '../reconcile/plan-zones.js';
import type { ChangeLogEntry } from './status.js';

const RECENT_CHANGES = 50;
const VERB = { create: 'created', update: 'updated', delete: 'deleted' } as const;

export interface ReporterOptions {
  readonly minRecordsPerHostname: number;
  readonly maxUnhealthyFraction: number;
  readonly guardWindowMs: number;
  readonly onServiceProblem?: (p: ServiceProblem) => void;
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
    plans: readonly Plan[];
    hostnames: readonly HostnameStatus[];
    zoneNames: readonly string[];
    conflicts: readonly ClaimConflict[];
    problems: readonly ServiceProblem[];
  }): void {
    const now = new Set<string>();
    const once = (key: string, say: () => void) => {
      now.add(key);
      if (!this.said.has(key)) say();
    };
    for (const h of input.hostnames) {
      if (h.zone !== null) continue;
      once(`nozone ${h.name}`, () => this.log.warn({ hostname: h.name, source: h.source, zones: input.zoneNames },
        `hostname ${h.name} fits no Cloudflare zone this token can manage; skipping it`));
    }
    for (const c of input.conflicts) {
      once(`conflict ${c.hostname} ${c.ignored} ${c.difference}`, () => this.log.warn({ hostname: c.hostname, kept: c.kept, ignored: c.ignored, difference: c.difference },
        `hostname ${c.hostname} is claimed with different settings (${c.difference}): using ${c.kept}, ignoring ${c.ignored}`));
    }
    for (const p of input.problems) {
      once(`problem ${p.service} ${p.problem}`, () => {
        this.log.warn({ service: p.service, problem: p.problem }, `DNS disabled for service ${p.service}: ${p.problem}`);
        this.opts.onServiceProblem?.(p);
      });
    }
    for (const plan of input.plans) {
      for (const f of plan.foreign) {
        once(`foreign ${f.id}`, () => this.log.warn({ hostname: f.name, type: f.type, ip: f.content, owner: f.owner, reason: f.reason },
          `leaving alone a record this instance does not own: ${f.name} ${f.type} ${f.content} (${f.reason})`));
      }
      for (const h of plan.held) {
        const fields = { hostname: h.record.name, type: h.record.type, ip: h.record.content, node: h.node, wouldBe: h.wouldBe, guard: h.reason };
        if (h.reason === 'safety-floor') {
          this.log.warn(fields, `SAFETY FLOOR: keeping ${h.record.name} ${h.record.content} although it should go (${h.wouldBe}): removing it would leave fewer than ${this.opts.minRecordsPerHostname} record(s)`);
        } else {
          this.log.warn(fields, `MASS-REMOVAL GUARD: keeping ${h.record.name} ${h.record.content} (${h.wouldBe}): health reasons would remove more than ${this.opts.maxUnhealthyFraction * 100}% of its records within ${this.opts.guardWindowMs / 60_000} minutes, which looks like a network or control-plane problem`);
        }
      }
    }
    this.said = now; // a fact that went away is said again if it comes back
  }

  /** Logs and remembers each change of a plan (committed, or only planned in a dry run). */
  changes(p: Plan, dry: boolean): void {
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
