import { STATUS_CODES } from 'node:http';
import type { FailNextOptions } from './types.js';

export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Injected failures (consumed in order of registration) and a latency added to every answer. */
export class Faults {
  latencyMs = 0;
  private readonly pending: Array<{ rule: FailNextOptions; remaining: number }> = [];

  add(rule: FailNextOptions): void {
    this.pending.push({ rule, remaining: rule.count ?? 1 });
  }

  /** How many injected failures are still to be served. */
  get remaining(): number {
    return this.pending.reduce((n, p) => n + p.remaining, 0);
  }

  /** Forgets every failure not yet served. */
  clear(): void {
    this.pending.length = 0;
  }

  /** The first pending fault matching the method and the path (with its query string); uses it up. */
  take(method: string, pathAndQuery: string): FailNextOptions | undefined {
    const i = this.pending.findIndex(
      ({ rule }) =>
        (rule.method === undefined || rule.method.toUpperCase() === method) &&
        (rule.pathIncludes === undefined || pathAndQuery.includes(rule.pathIncludes)),
    );
    const entry = this.pending[i];
    if (!entry) return undefined;
    entry.remaining -= 1;
    if (entry.remaining <= 0) this.pending.splice(i, 1);
    return entry.rule;
  }
}

/** The answer to a fault: a Cloudflare error envelope, or the HTML page Cloudflare's edge serves. */
export function faultAnswer(rule: FailNextOptions): Answer {
  const reason = STATUS_CODES[rule.status] ?? 'Error';
  const headers: Record<string, string> = {};
  if (rule.retryAfter !== undefined) headers['retry-after'] = rule.retryAfter;
  if (rule.html) {
    const title = `${rule.status} ${reason}`;
    return {
      status: rule.status,
      headers: { ...headers, 'content-type': 'text/html' },
      body: `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n`,
    };
  }
  const isRateLimit = rule.status === 429;
  const error = {
    code: rule.code ?? (isRateLimit ? 971 : 10001),
    message: rule.message ?? (isRateLimit ? 'Please wait and consider throttling your request speed' : reason),
  };
  return {
    status: rule.status,
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ success: false, errors: [error], messages: [], result: null }),
  };
}
