/** Every HEALTH_CHECK_INTERVAL: do both APIs answer? Cloudflare is only asked when nothing else did. */
import { errorMessage } from '../model/errors.js';
import type { ApiCheck } from './status.js';

export type ApiName = 'kubernetes' | 'cloudflare';

/** The latest word on each API: from a check, or from any call that got an answer. */
export class ApiHealth {
  private readonly checks: Record<ApiName, ApiCheck> = {
    kubernetes: { ok: false, checkedAt: undefined, error: undefined },
    cloudflare: { ok: false, checkedAt: undefined, error: undefined },
  };
  private lastAnswer: Record<ApiName, number> = { kubernetes: 0, cloudflare: 0 };

  set(api: ApiName, check: ApiCheck): void {
    this.checks[api] = check;
    if (check.ok) this.lastAnswer[api] = Date.now();
  }

  answered(api: ApiName): void {
    this.set(api, { ok: true, checkedAt: new Date().toISOString(), error: undefined });
  }

  lastAnsweredAt(api: ApiName): number {
    return this.lastAnswer[api];
  }

  snapshot(): Record<ApiName, ApiCheck> {
    return { ...this.checks };
  }
}

export interface ApiChecksDeps {
  readonly kubeVersion: () => Promise<string>;
  readonly cloudflareVerify: () => Promise<void>;
  readonly health: ApiHealth;
  readonly intervalMs: number;
}

export async function checkApis(d: ApiChecksDeps): Promise<void> {
  const at = new Date().toISOString();
  const probe = async (api: ApiName, fn: () => Promise<unknown>) => {
    if (Date.now() - d.health.lastAnsweredAt(api) < d.intervalMs) return; // it answered recently: no need to ask
    try {
      await fn();
      d.health.set(api, { ok: true, checkedAt: at, error: undefined });
    } catch (err) {
      d.health.set(api, { ok: false, checkedAt: at, error: errorMessage(err) });
    }
  };
  await Promise.all([probe('kubernetes', d.kubeVersion), probe('cloudflare', d.cloudflareVerify)]);
}

/** The first check comes one interval after start: start-up itself proves both APIs answer. */
export function startApiChecks(d: ApiChecksDeps): () => void {
  const tick = () => { void checkApis(d); };
  const timer = setInterval(tick, d.intervalMs);
  return () => clearInterval(timer);
}
