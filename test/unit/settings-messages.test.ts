/** Every setting, given a bad value, says what it accepts (its row's `accepts`), never zod's own wording. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { SETTINGS } from '../../src/config/settings.js';
import { fakeToken } from '../../src/sim/cloudflare/fake-token.js';

const TOKEN = fakeToken('messages');
const base: Record<string, string> = { CLOUDFLARE_API_TOKEN: TOKEN, DNS_HOSTNAMES: 'app.example.com' };

/** Bad values for each setting, one per way its parser can fail. */
const BAD: Record<string, readonly string[]> = {
  CLOUDFLARE_API_TOKEN: ['short', 'has spaces in it and is long enough'],
  CLOUDFLARE_API_TOKEN_FILE: ['/nonexistent/epictetus-token'],
  CLOUDFLARE_ZONE_ID: ['nope', '0123456789abcdef0123456789abcdeg'],
  CLOUDFLARE_ZONE_IDS: ['nope,0123456789abcdef0123456789abcdef'],
  DNS_HOSTNAMES: ['bad_name.example.com'],
  DNS_RECORD_TYPES: ['MX', ','],
  WATCH_SERVICES: ['maybe'],
  CA_TAINT_MODE: ['either'],
  KARPENTER_AWARE: ['maybe'],
  REMOVE_ON_NOT_READY: ['2'],
  REMOVE_ON_UNREACHABLE: ['nah'],
  NOT_READY_GRACE_SECONDS: ['-1', 'ten', '1.5', '86401'],
  UNHEALTHY_NODE_TAINTS: ['some', 'custom:', 'custom:bad key'],
  NODE_SELECTOR: ['a in ('],
  HONOR_EXCLUDE_LB_LABEL: ['maybe'],
  EXTERNAL_IP_LABEL: ['bad key!'],
  MAX_UNHEALTHY_FRACTION: ['2', 'half', '-0.5'],
  DNS_SYNC_INTERVAL: ['0', 'often'],
  DNS_TTL: ['30', '0', '86401', 'auto'],
  DNS_PROXIED: ['maybe'],
  OWNER_ID: ['-x', 'a'.repeat(64), 'with space'],
  OWNER_ID_ALIASES: ['ok,-bad', 'with space'],
  SERVICE_CLAIM_NAMESPACES: ['Default', 'ns_1'],
  SERVICE_CLAIM_DOMAINS: ['*.com', 'bad_domain.example.com', '**.example.com'],
  POLICY: ['create-only'],
  SERVE_FROM_ENDPOINTS_OF: ['ingress', 'a/b/c', 'Ingress/Web'],
  WATCH_ENDPOINT_SLICES: ['maybe'],
  HEALTH_PROBE: ['udp:53', 'tcp:0', 'http://host:80/'],
  PROBE_ADDRESS: ['both'],
  PROBE_INTERVAL_SECONDS: ['0.1', 'fast'],
  PROBE_TIMEOUT_SECONDS: ['0.01', '601'],
  PROBE_FAILURES: ['0', '101'],
  PROBE_SUCCESSES: ['0'],
  PROBE_HOST: ['not a host', 'x'],
  PROBE_TLS_VERIFY: ['maybe'],
  MIN_RECORDS_PER_HOSTNAME: ['1001', 'one'],
  LOG_LEVEL: ['loud'],
  LOG_FORMAT: ['xml'],
  HEALTH_CHECK_INTERVAL: ['0', '3601'],
  HEALTH_BIND_ADDRESS: ['localhost', '999.1.1.1'],
  ENABLE_HEALTH_SERVER: ['maybe'],
  HEALTH_PORT: ['70000', '-1', 'http'],
  LIVENESS_TIMEOUT: ['1'],
  LEADER_ELECTION: ['maybe'],
  LEASE_NAMESPACE: ['Bad_NS'],
  LEASE_NAME: ['Bad_Name'],
  RECORD_EVENTS: ['maybe'],
  HOLD_NODE_DELETION: ['maybe'],
  HOLD_MARGIN_SECONDS: ['3601'],
  HOLD_MAX_SECONDS: ['0'],
  DRY_RUN: ['maybe'],
  MAX_RETRIES: ['21', 'many'],
  RETRY_DELAY: ['301', '1e3', 'soon'],
  CLOUDFLARE_API_BASE_URL: ['ftp://example.com', 'not a url'],
};

/** Settings whose parser takes any text: no value is bad (a path is checked where it is used). */
const ANY_TEXT = ['K8S_CONFIG_PATH'];

/** zod's generic wording, which says less than the row's `accepts`. */
const ZOD_WORDING = /invalid input|invalid option|invalid (string|url|union|type|format)|too (small|big)|expected (number|string|one of|boolean|int)|must match pattern/i;

function problemLine(env: Record<string, string>, name: string): string {
  let message = '';
  try {
    loadConfig(env);
  } catch (err) {
    message = (err as Error).message;
  }
  const line = message.split('\n').find((l) => l.startsWith(`  ${name}=`));
  if (line === undefined) throw new Error(`no problem reported for ${name} in: ${message || '(no error)'}`);
  return line;
}

describe('settings messages', () => {
  it('the table has bad values for every setting, or knows it takes any text', () => {
    for (const s of SETTINGS) expect(BAD[s.env] !== undefined || ANY_TEXT.includes(s.env), `add bad values for ${s.env}`).toBe(true);
    for (const name of ANY_TEXT) {
      const row = SETTINGS.find((s) => s.env === name);
      expect(row?.parse.safeParse('any \u00e9 text ../x').success).toBe(true);
    }
  });

  it.each(SETTINGS.filter((s) => BAD[s.env] !== undefined).flatMap((s) => (BAD[s.env] ?? []).map((v) => [s.env, v, s.accepts] as const)))(
    '%s=%j says it accepts its row\'s text, in our words', (name, value, accepts) => {
      const env = name === 'CLOUDFLARE_API_TOKEN_FILE' ? { DNS_HOSTNAMES: 'app.example.com', [name]: value } : { ...base, [name]: value };
      const line = problemLine(env, name);
      expect(line).toMatch(/: (.+; )?accepts (only )?/);
      expect(line).toContain(accepts);
      expect(line).not.toMatch(ZOD_WORDING);
    },
  );

  it('keeps a parser\'s specific reason before what the setting accepts', () => {
    expect(problemLine({ ...base, CLOUDFLARE_ZONE_IDS: 'nope' }, 'CLOUDFLARE_ZONE_IDS'))
      .toBe('  CLOUDFLARE_ZONE_IDS="nope": "nope" is not a zone id; accepts a comma-separated list of zone ids (32 hexadecimal characters each), or empty');
    expect(problemLine({ ...base, DNS_TTL: '30' }, 'DNS_TTL')).toBe('  DNS_TTL="30": accepts only 1 (automatic) or 60–86400 seconds');
  });
});
