/** Environment -> frozen Config, with every problem reported at once. */
import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import type { z } from 'zod';
import { EpictetusError } from '../model/errors.js';
import type { HostnameSpec, ProbeSpec, RecordType } from '../model/types.js';
import type { NodePolicy } from '../reconcile/policy.js';
import { apiToken, SETTINGS, type Setting } from './settings.js';

type Parsed = { [S in (typeof SETTINGS)[number] as S['env']]: z.output<S['parse']> };

export interface Config {
  readonly cloudflare: { readonly apiToken: string; readonly tokenFile: string | undefined; readonly zoneIds: readonly string[]; readonly discoverZones: boolean; readonly baseUrl: string };
  readonly hostnames: readonly HostnameSpec[];
  readonly defaults: { readonly ttl: number; readonly proxied: boolean; readonly probe: ProbeSpec | null; readonly endpointSlices: boolean };
  readonly watchEndpointSlices: boolean;
  readonly probes: {
    readonly address: 'internal' | 'external'; readonly intervalMs: number; readonly timeoutMs: number;
    readonly failures: number; readonly successes: number; readonly host: string | undefined; readonly tlsVerify: boolean;
  };
  readonly recordTypes: readonly RecordType[];
  readonly watchServices: boolean;
  readonly policy: NodePolicy;
  readonly maxUnhealthyFraction: number;
  readonly externalIpLabel: string;
  readonly syncIntervalMs: number;
  readonly ownerId: string;
  readonly ownerAliases: readonly string[];
  /** Who may claim hostnames through Service annotations; namespaces undefined: the one Epictetus runs in. */
  readonly claims: { readonly namespaces: readonly string[] | '*' | undefined; readonly domains: readonly string[] };
  readonly changePolicy: 'sync' | 'upsert-only';
  readonly minRecordsPerHostname: number;
  readonly log: { readonly level: 'debug' | 'info' | 'warn' | 'error'; readonly format: 'console' | 'json' };
  readonly health: { readonly enabled: boolean; readonly bindAddress: string | undefined; readonly port: number; readonly checkIntervalMs: number; readonly livenessTimeoutMs: number };
  readonly kubeconfigPath: string;
  /** undefined: decide from where it runs (on in a cluster). */
  readonly leaderElection: boolean | undefined;
  readonly lease: { readonly namespace: string; readonly name: string };
  readonly recordEvents: boolean;
  readonly dryRun: boolean;
  readonly hold: { readonly enabled: boolean; readonly marginMs: number; readonly maxMs: number };
  readonly retry: { readonly maxRetries: number; readonly baseDelayMs: number };
}

export function maskSecret(value: string): string {
  return value.length <= 8 ? '****' : `${value.slice(0, 2)}****${value.slice(-2)}`;
}

/** zod's own wording ("Invalid input", "Too small: expected number to be >=1") says less than the row's `accepts`. */
const ZOD_DEFAULT_CUSTOM_MESSAGE = 'Invalid input';

/** The specific reasons a parser gave (e.g. `"x" is not a zone id`), a few at most, each cut short. */
function specificReasons(issues: readonly z.core.$ZodIssue[]): string[] {
  const custom = issues.filter((i) => i.code === 'custom' && i.message !== ZOD_DEFAULT_CUSTOM_MESSAGE)
    .map((i) => (i.message.length > 160 ? `${i.message.slice(0, 160)}…` : i.message));
  return custom.length > 5 ? [...custom.slice(0, 5), `and ${custom.length - 5} more`] : custom;
}

function shownValue(s: Setting, raw: string | undefined): string {
  return raw === undefined ? '(not set)' : s.secret ? maskSecret(raw)
    : raw.length > 120 ? `${JSON.stringify(raw.slice(0, 120))}… (${raw.length} characters)` : JSON.stringify(raw);
}

/** `  NAME="value": reason; accepts …`, or `  NAME="value": accepts only …` when there is no better reason than the row's. */
function describeProblem(s: Setting, raw: string | undefined, reasons: readonly string[]): string {
  const why = reasons.length > 0 ? `${reasons.join('; ')}; accepts` : 'accepts only';
  return `  ${s.env}=${shownValue(s, raw)}: ${why} ${s.accepts}`;
}

function row(env: string): Setting {
  return (SETTINGS as readonly Setting[]).find((s) => s.env === env)!;
}

/** Reads `.env` from `dir` if present; the real environment wins over it. */
export function environmentWithDotenv(env: NodeJS.ProcessEnv, dir: string): Record<string, string | undefined> {
  const file = `${dir}/.env`;
  const fromFile = existsSync(file) ? parseEnv(readFileSync(file, 'utf8')) : {};
  return { ...fromFile, ...env };
}

/** Reads and checks the token file; throws with a message that never contains the file's content. */
export function readTokenFile(path: string): string {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (err) {
    throw new EpictetusError('EPI_TOKEN_FILE', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const r = apiToken.safeParse(raw);
  if (!r.success) throw new EpictetusError('EPI_TOKEN_FILE', `${path} does not hold a Cloudflare API token (20–200 letters, digits, _ and -)`);
  return r.data;
}

/** Exactly one of CLOUDFLARE_API_TOKEN and CLOUDFLARE_API_TOKEN_FILE. */
function tokenFrom(values: Record<string, unknown>, problems: string[]): string {
  const direct = String(values.CLOUDFLARE_API_TOKEN ?? '');
  const file = String(values.CLOUDFLARE_API_TOKEN_FILE ?? '').trim();
  if (direct !== '' && file !== '') {
    problems.push('  CLOUDFLARE_API_TOKEN and CLOUDFLARE_API_TOKEN_FILE are both set: set only one');
    return '';
  }
  if (file !== '') {
    try {
      return readTokenFile(file);
    } catch (err) {
      problems.push(describeProblem(row('CLOUDFLARE_API_TOKEN_FILE'), file, [(err as Error).message]));
      return '';
    }
  }
  if (direct === '' && !problems.some((p) => p.startsWith('  CLOUDFLARE_API_TOKEN='))) {
    problems.push(describeProblem(row('CLOUDFLARE_API_TOKEN'), undefined, ['required']));
  }
  return direct;
}

export function loadConfig(env: Record<string, string | undefined>): Config {
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  for (const s of SETTINGS as readonly Setting[]) {
    const raw = env[s.env];
    const given = raw === undefined || raw.trim() === '' ? s.default : raw;
    if (given === undefined) { problems.push(describeProblem(s, raw, ['required'])); continue; }
    const r = s.parse.safeParse(given);
    if (r.success) values[s.env] = r.data;
    else problems.push(describeProblem(s, raw, specificReasons(r.error.issues)));
  }
  const token = tokenFrom(values, problems);
  if (values.SERVE_FROM_ENDPOINTS_OF !== '' && values.WATCH_ENDPOINT_SLICES === false) {
    problems.push(`  WATCH_ENDPOINT_SLICES=false: SERVE_FROM_ENDPOINTS_OF=${JSON.stringify(values.SERVE_FROM_ENDPOINTS_OF)} needs the EndpointSlices watched; accepts true or empty with SERVE_FROM_ENDPOINTS_OF set`);
  }
  if (problems.length === 0 && (values.DNS_HOSTNAMES as string[]).length === 0 && values.WATCH_SERVICES === false) {
    problems.push('  DNS_HOSTNAMES="": no hostname given and WATCH_SERVICES=false, so nothing would ever be managed; accepts at least one DNS name, or WATCH_SERVICES=true');
  }
  if (problems.length > 0) {
    throw new EpictetusError('EPI_CONFIG_INVALID', `invalid configuration:\n${problems.join('\n')}`);
  }
  const v = values as Parsed;
  const watchSlices = v.WATCH_ENDPOINT_SLICES === '' ? v.SERVE_FROM_ENDPOINTS_OF !== '' : v.WATCH_ENDPOINT_SLICES;
  const level = v.LOG_LEVEL === 'WARNING' || v.LOG_LEVEL === 'WARN' ? 'warn' : (v.LOG_LEVEL.toLowerCase() as 'debug' | 'info' | 'error');
  return Object.freeze({
    cloudflare: Object.freeze({
      apiToken: token,
      tokenFile: v.CLOUDFLARE_API_TOKEN_FILE.trim() || undefined,
      zoneIds: Object.freeze(v.CLOUDFLARE_ZONE_ID !== '' ? [v.CLOUDFLARE_ZONE_ID] : v.CLOUDFLARE_ZONE_IDS),
      discoverZones: v.CLOUDFLARE_ZONE_ID === '',
      baseUrl: v.CLOUDFLARE_API_BASE_URL,
    }),
    hostnames: Object.freeze(v.DNS_HOSTNAMES.map((name) => Object.freeze({
      name, ttl: v.DNS_PROXIED ? 1 : v.DNS_TTL, proxied: v.DNS_PROXIED, controlPlaneOnly: false, nodeSelector: null, source: 'env',
      serveFrom: v.SERVE_FROM_ENDPOINTS_OF || null, probe: v.HEALTH_PROBE,
    }))),
    defaults: Object.freeze({ ttl: v.DNS_PROXIED ? 1 : v.DNS_TTL, proxied: v.DNS_PROXIED, probe: v.HEALTH_PROBE, endpointSlices: watchSlices }),
    watchEndpointSlices: watchSlices,
    probes: Object.freeze({
      address: v.PROBE_ADDRESS, intervalMs: Math.round(v.PROBE_INTERVAL_SECONDS * 1000), timeoutMs: Math.round(v.PROBE_TIMEOUT_SECONDS * 1000),
      failures: v.PROBE_FAILURES, successes: v.PROBE_SUCCESSES, host: v.PROBE_HOST || undefined, tlsVerify: v.PROBE_TLS_VERIFY,
    }),
    recordTypes: Object.freeze(v.DNS_RECORD_TYPES),
    watchServices: v.WATCH_SERVICES,
    policy: Object.freeze({
      caTaintMode: v.CA_TAINT_MODE, karpenterAware: v.KARPENTER_AWARE,
      removeOnNotReady: v.REMOVE_ON_NOT_READY, removeOnUnreachable: v.REMOVE_ON_UNREACHABLE,
      notReadyGraceMs: v.NOT_READY_GRACE_SECONDS * 1000, unhealthyTaints: Object.freeze(v.UNHEALTHY_NODE_TAINTS),
      nodeSelector: v.NODE_SELECTOR, honorExcludeLabel: v.HONOR_EXCLUDE_LB_LABEL,
    }),
    maxUnhealthyFraction: v.MAX_UNHEALTHY_FRACTION,
    externalIpLabel: v.EXTERNAL_IP_LABEL,
    syncIntervalMs: v.DNS_SYNC_INTERVAL * 1000,
    ownerId: v.OWNER_ID,
    ownerAliases: Object.freeze(v.OWNER_ID_ALIASES.filter((a) => a !== v.OWNER_ID)),
    claims: Object.freeze({
      namespaces: v.SERVICE_CLAIM_NAMESPACES === '*' ? '*' as const : v.SERVICE_CLAIM_NAMESPACES.length > 0 ? Object.freeze(v.SERVICE_CLAIM_NAMESPACES) : undefined,
      domains: Object.freeze(v.SERVICE_CLAIM_DOMAINS),
    }),
    changePolicy: v.POLICY,
    minRecordsPerHostname: v.MIN_RECORDS_PER_HOSTNAME,
    log: Object.freeze({ level, format: v.LOG_FORMAT }),
    health: Object.freeze({ enabled: v.ENABLE_HEALTH_SERVER, port: v.HEALTH_PORT, bindAddress: v.HEALTH_BIND_ADDRESS || undefined, checkIntervalMs: v.HEALTH_CHECK_INTERVAL * 1000, livenessTimeoutMs: v.LIVENESS_TIMEOUT * 1000 }),
    kubeconfigPath: v.K8S_CONFIG_PATH.trim(),
    leaderElection: v.LEADER_ELECTION === '' ? undefined : v.LEADER_ELECTION,
    lease: Object.freeze({ namespace: v.LEASE_NAMESPACE, name: v.LEASE_NAME }),
    recordEvents: v.RECORD_EVENTS,
    dryRun: v.DRY_RUN,
    hold: Object.freeze({ enabled: v.HOLD_NODE_DELETION, marginMs: v.HOLD_MARGIN_SECONDS * 1000, maxMs: v.HOLD_MAX_SECONDS * 1000 }),
    retry: Object.freeze({ maxRetries: v.MAX_RETRIES, baseDelayMs: Math.round(v.RETRY_DELAY * 1000) }),
  });
}
