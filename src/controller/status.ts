/** What the controller reports about itself: the model behind /health and the probes. */
import type { ForeignRecord, HostnameStatus, Move, RefusedChange } from '../reconcile/plan.js';
import type { Hold } from '../reconcile/safety.js';
import type { ClaimConflict, RefusedClaim, ServiceProblem } from '../reconcile/claims.js';
import type { NodeVerdict } from '../reconcile/policy.js';
import type { RecordDelete } from '../model/types.js';
import type { ZoneReadStatus } from './zone-cache.js';
import type { RecordView } from '../reconcile/record-views.js';

export interface ApiCheck {
  readonly ok: boolean;
  readonly checkedAt: string | undefined;
  readonly error: string | undefined;
}

export interface ChangeLogEntry {
  readonly at: string;
  readonly action: 'create' | 'update' | 'delete';
  readonly hostname: string;
  readonly type: string;
  readonly ip: string;
  readonly node: string | null;
  readonly reason: string;
}

export interface ControllerStatus {
  readonly startedAt: string;
  readonly synced: boolean;
  /** Sources whose first list is not in yet: nothing is planned until it is. */
  readonly waitingFor: readonly string[];
  readonly lastSuccessfulSync: string | undefined;
  readonly lastReconcile: string | undefined;
  readonly consecutiveFailures: number;
  readonly lastError: { readonly at: string; readonly code: string; readonly message: string } | undefined;
  readonly reconciles: { readonly ok: number; readonly failed: number; readonly noop: number; readonly skipped: number };
  readonly verdicts: readonly NodeVerdict[];
  /** Each node's addresses: published (IPv4, IPv6) and probed (InternalIP). */
  readonly nodeAddresses: Readonly<Record<string, { readonly ipv4: readonly string[]; readonly ipv6: readonly string[]; readonly internal: string | null }>>;
  /** hostname -> node the policy allows that does not serve it -> why (its endpoints, its probe). */
  readonly excludedFor: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;
  /** hostname -> its records now, each with its state, and the addresses it lacks. */
  readonly hostnameRecords: Readonly<Record<string, readonly RecordView[]>>;
  readonly hostnames: readonly HostnameStatus[];
  readonly conflicts: readonly ClaimConflict[];
  readonly serviceProblems: readonly ServiceProblem[];
  readonly refusedClaims: readonly RefusedClaim[];
  readonly managedRecords: Readonly<Record<string, number>>;
  readonly foreignRecords: readonly ForeignRecord[];
  /** Removals held back by the safety floor or the mass-removal guard. */
  readonly held: readonly Hold[];
  /** Operations Cloudflare refused, set aside for a while. */
  readonly refused: readonly RefusedChange[];
  readonly moves: readonly Move[];
  /** Deletions POLICY=upsert-only leaves undone. */
  readonly skipped: readonly RecordDelete[];
  readonly zones: readonly ZoneReadStatus[];
  readonly recentChanges: readonly ChangeLogEntry[];
  /** ms epoch when the running reconcile began, or undefined when idle. */
  readonly busySince: number | undefined;
  /** ms epoch of the last time the loop did anything (a reconcile ended or a timer fired). */
  readonly lastProgressAt: number;
}
