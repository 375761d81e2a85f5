/** A probe target's verdict after one more result (pure): thresholds in a row, as load balancers count. */
import type { ProbeVerdict } from '../model/types.js';
import type { ProbeResult } from './check.js';

export interface Thresholds {
  /** Failures in a row that take a serving target out. */
  readonly failures: number;
  /** Successes in a row that bring a failing or new target in. */
  readonly successes: number;
}

/**
 * A target known when probing started begins `healthy` (its records are already out there; it
 * leaves after `failures` failures in a row); one that appears later begins `pending` and serves
 * only after `successes` successes in a row, as a new load-balancer target does.
 */
export function initialVerdict(known: boolean): ProbeVerdict {
  return { state: known ? 'healthy' : 'pending', consecutiveFailures: 0, consecutiveSuccesses: 0 };
}

export function nextVerdict(prev: ProbeVerdict, r: ProbeResult, at: number, t: Thresholds): ProbeVerdict {
  const consecutiveFailures = r.ok ? 0 : prev.consecutiveFailures + 1;
  const consecutiveSuccesses = r.ok ? prev.consecutiveSuccesses + 1 : 0;
  let state = prev.state;
  if (state === 'healthy' && consecutiveFailures >= t.failures) state = 'failing';
  else if (state !== 'healthy' && consecutiveSuccesses >= t.successes) state = 'healthy';
  else if (state === 'pending' && consecutiveFailures >= t.failures) state = 'failing';
  return { state, consecutiveFailures, consecutiveSuccesses, last: { ok: r.ok, at, latencyMs: r.latencyMs, detail: r.detail } };
}
