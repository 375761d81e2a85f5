import type { RateLimitOptions } from './types.js';

/**
 * The API's global limit: at most `requests` in any `windowMs`; the request over it and every
 * request for the next `blockMs` are refused.
 */
export class RateLimiter {
  private readonly hits = new Map<string, number[]>();
  private readonly blockedUntil = new Map<string, number>();

  constructor(private readonly opts: RateLimitOptions | false) {}

  /** Counts a request; returns the seconds to wait (for Retry-After) when it is refused. */
  take(key: string, now: number): number | undefined {
    const opts = this.opts;
    if (!opts) return undefined;
    const until = this.blockedUntil.get(key) ?? 0;
    if (now < until) return Math.ceil((until - now) / 1000);
    const recent = (this.hits.get(key) ?? []).filter((t) => t > now - opts.windowMs);
    if (recent.length >= opts.requests) {
      this.blockedUntil.set(key, now + opts.blockMs);
      this.hits.set(key, recent);
      return Math.ceil(opts.blockMs / 1000);
    }
    recent.push(now);
    this.hits.set(key, recent);
    return undefined;
  }

  reset(): void {
    this.hits.clear();
    this.blockedUntil.clear();
  }
}
