/** Exponential backoff with jitter for calls whose errors say whether retrying can help. */
import { setTimeout as sleep } from 'node:timers/promises';
import { EpictetusError } from '../model/errors.js';

export interface RetryPolicy {
  readonly maxRetries: number;
  readonly baseDelayMs: number;
  /** A Retry-After longer than this fails the call at once; the caller reschedules instead. */
  readonly maxWaitMs?: number;
  readonly random?: () => number;
}

export function backoffDelay(attempt: number, baseDelayMs: number, random: () => number = Math.random): number {
  const exp = Math.min(baseDelayMs * 2 ** attempt, 60_000);
  return Math.round(exp * (0.5 + random()));
}

export async function withRetry<T>(
  fn: () => Promise<T>,
  policy: RetryPolicy,
  hooks: { signal?: AbortSignal; onRetry?: (err: EpictetusError, attempt: number, delayMs: number) => void } = {},
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof EpictetusError) || !err.retryable || attempt >= policy.maxRetries) throw err;
      const delay = err.retryAfterMs ?? backoffDelay(attempt, policy.baseDelayMs, policy.random);
      if (delay > (policy.maxWaitMs ?? 60_000)) throw err;
      hooks.onRetry?.(err, attempt + 1, delay);
      await sleep(delay, undefined, hooks.signal ? { signal: hooks.signal } : undefined);
    }
  }
}
