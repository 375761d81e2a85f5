import type { RateLimitOptions } from './types.js';

/** Where a token stands after a request: refused or not, and what the rate-limit headers say. */
export interface RateLimitState {
  /** seconds to wait (Retry-After) when the request is refused */
  refusedFor?: number;
  /** requests left in the window */
  remaining: number;
  /** seconds until more capacity: the oldest counted request leaves the window, or the block ends */
  resetSeconds: number;
}

/**
 * The API's global limit: at most `requests` in any `windowMs`; the request over it and every
 * request for the next `blockMs` are refused.
 */
export class RateLimiter {
  private readonly hits = new Map<string, number[]>();
  private readonly blockedUntil = new Map<string, number>();

  constructor(private readonly opts: RateLimitOptions | false) {}

  /** Counts a request; undefined when there is no limit. */
  take(key: string, now: number): RateLimitState | undefined {
    const opts = this.opts;
    if (!opts) return undefined;
    const until = this.blockedUntil.get(key) ?? 0;
    if (now < until) {
      const wait = Math.ceil((until - now) / 1000);
      return { refusedFor: wait, remaining: 0, resetSeconds: wait };
    }
    const recent = (this.hits.get(key) ?? []).filter((t) => t > now - opts.windowMs);
    this.hits.set(key, recent);
    if (recent.length >= opts.requests) {
      this.blockedUntil.set(key, now + opts.blockMs);
      const wait = Math.ceil(opts.blockMs / 1000);
      return { refusedFor: wait, remaining: 0, resetSeconds: wait };
    }
    recent.push(now);
    const oldest = recent[0] ?? now;
    return { remaining: opts.requests - recent.length, resetSeconds: Math.ceil((oldest + opts.windowMs - now) / 1000) };
  }

  /**
   * The headers Cloudflare's API sends with every answer (IETF draft-ietf-httpapi-ratelimit-headers,
   * as documented at developers.cloudflare.com/fundamentals/api/reference/limits/), e.g.
   * `Ratelimit: "default";r=1195;t=297` and `Ratelimit-Policy: "default";q=1200;w=300`.
   */
  headers(state: RateLimitState): Record<string, string> {
    if (!this.opts) return {};
    return {
      ratelimit: `"default";r=${state.remaining};t=${state.resetSeconds}`,
      'ratelimit-policy': `"default";q=${this.opts.requests};w=${Math.ceil(this.opts.windowMs / 1000)}`,
    };
  }

  reset(): void {
    this.hits.clear();
    this.blockedUntil.clear();
  }
}
