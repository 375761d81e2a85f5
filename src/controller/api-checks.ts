/** Every HEALTH_CHECK_INTERVAL: do both APIs answer? Cloudflare is only asked when nothing else did. */
import { errorMessage } from '../model/errors.js';
import type { ApiCheck } from './status.js';

export interface ApiChecksDeps {
  readonly kubeVersion: () => Promise<string>;
  readonly cloudflareVerify: () => Promise<void>;
  /** ms epoch of the last Cloudflare call that got an answer. */
  readonly lastCloudflareAnswerAt: () => number;
  readonly report: (api: 'kubernetes' | 'cloudflare', check: ApiCheck) => void;
  readonly intervalMs: number;
}

export async function checkApis(d: ApiChecksDeps): Promise<void> {
  const at = new Date().toISOString();
  const probe = async (api: 'kubernetes' | 'cloudflare', fn: () => Promise<unknown>) => {
    try {
      await fn();
      d.report(api, { ok: true, checkedAt: at, error: undefined });
    } catch (err) {
      d.report(api, { ok: false, checkedAt: at, error: errorMessage(err) });
    }
  };
  const recentlyAnswered = Date.now() - d.lastCloudflareAnswerAt() < d.intervalMs;
  await Promise.all([
    probe('kubernetes', d.kubeVersion),
    recentlyAnswered ? Promise.resolve(d.report('cloudflare', { ok: true, checkedAt: at, error: undefined })) : probe('cloudflare', d.cloudflareVerify),
  ]);
}

export function startApiChecks(d: ApiChecksDeps): () => void {
  const tick = () => { void checkApis(d); };
  tick();
  const timer = setInterval(tick, d.intervalMs);
  return () => clearInterval(timer);
}
