/** Environment -> frozen Config, with every problem reported at once. */
import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import type { z } from 'zod';
import { EpictetusError } from '../model/errors.js';
import type { HostnameSpec } from '../model/types.js';
import { SETTINGS, type Setting } from './settings.js';

type Parsed = { [S in (typeof SETTINGS)[number] as S['env']]: z.output<S['parse']> };

export interface Config {
  readonly cloudflare: { readonly apiToken: string; readonly zoneId: string; readonly baseUrl: string };
  readonly hostnames: readonly HostnameSpec[];
  readonly syncIntervalMs: number;
  readonly ownerId: string;
  readonly minRecordsPerHostname: number;
  readonly log: { readonly level: 'debug' | 'info' | 'warn' | 'error'; readonly format: 'console' | 'json' };
  readonly health: { readonly enabled: boolean; readonly port: number; readonly checkIntervalMs: number; readonly livenessTimeoutMs: number };
  readonly kubeconfigPath: string;
  readonly retry: { readonly maxRetries: number; readonly baseDelayMs: number };
}

export function maskSecret(value: string): string {
  return value.length <= 8 ? '****' : `${value.slice(0, 2)}****${value.slice(-2)}`;
}

function describeProblem(s: Setting, raw: string | undefined, why: string): string {
  const shown = raw === undefined ? '(not set)' : s.secret ? maskSecret(raw) : JSON.stringify(raw);
  return `  ${s.env}=${shown}: ${why}; accepts ${s.accepts}`;
}

/** Reads `.env` from `dir` if present; the real environment wins over it. */
export function environmentWithDotenv(env: NodeJS.ProcessEnv, dir: string): Record<string, string | undefined> {
  const file = `${dir}/.env`;
  const fromFile = existsSync(file) ? parseEnv(readFileSync(file, 'utf8')) : {};
  return { ...fromFile, ...env };
}

export function loadConfig(env: Record<string, string | undefined>): Config {
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  for (const s of SETTINGS as readonly Setting[]) {
    const raw = env[s.env];
    const given = raw === undefined || raw.trim() === '' ? s.default : raw;
    if (given === undefined) { problems.push(describeProblem(s, raw, 'required')); continue; }
    const r = s.parse.safeParse(given);
    if (r.success) values[s.env] = r.data;
    else {
      const custom = r.error.issues.filter((i) => i.code === 'custom').map((i) => i.message);
      problems.push(describeProblem(s, raw, custom.length > 0 ? custom.join('; ') : 'invalid'));
    }
  }
  if (problems.length > 0) {
    throw new EpictetusError('EPI_CONFIG_INVALID', `invalid configuration:\n${problems.join('\n')}`);
  }
  const v = values as Parsed;
  const level = v.LOG_LEVEL === 'WARNING' || v.LOG_LEVEL === 'WARN' ? 'warn' : (v.LOG_LEVEL.toLowerCase() as 'debug' | 'info' | 'error');
  return Object.freeze({
    cloudflare: Object.freeze({ apiToken: v.CLOUDFLARE_API_TOKEN, zoneId: v.CLOUDFLARE_ZONE_ID, baseUrl: v.CLOUDFLARE_API_BASE_URL }),
    hostnames: Object.freeze(v.DNS_HOSTNAMES.map((name) => Object.freeze({
      name, ttl: v.DNS_PROXIED ? 1 : v.DNS_TTL, proxied: v.DNS_PROXIED,
    }))),
    syncIntervalMs: v.DNS_SYNC_INTERVAL * 1000,
    ownerId: v.OWNER_ID,
    minRecordsPerHostname: v.MIN_RECORDS_PER_HOSTNAME,
    log: Object.freeze({ level, format: v.LOG_FORMAT }),
    health: Object.freeze({ enabled: v.ENABLE_HEALTH_SERVER, port: v.HEALTH_PORT, checkIntervalMs: v.HEALTH_CHECK_INTERVAL * 1000, livenessTimeoutMs: v.LIVENESS_TIMEOUT * 1000 }),
    kubeconfigPath: v.K8S_CONFIG_PATH.trim(),
    retry: Object.freeze({ maxRetries: v.MAX_RETRIES, baseDelayMs: Math.round(v.RETRY_DELAY * 1000) }),
  });
}
