/** Timers that cannot misfire: Node runs a delay above 2^31-1 ms at once, and warns on negative ones. */

/** The longest delay setTimeout honours (about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export function clampDelay(ms: number): number {
  if (!Number.isFinite(ms)) return ms > 0 ? MAX_TIMER_MS : 0;
  return Math.min(MAX_TIMER_MS, Math.max(0, Math.round(ms)));
}

/** setTimeout with the delay clamped to [0, MAX_TIMER_MS]; a far deadline simply fires early and is re-checked. */
export function safeTimeout(fn: () => void, ms: number): NodeJS.Timeout {
  return setTimeout(fn, clampDelay(ms));
}
