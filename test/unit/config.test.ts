import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { environmentWithDotenv, loadConfig } from '../../src/config/config.js';
import { SETTINGS } from '../../src/config/settings.js';
import { fakeToken } from '../../src/sim/cloudflare/fake-token.js';

const TOKEN = fakeToken('config');
const base = {
  CLOUDFLARE_API_TOKEN: TOKEN,
  CLOUDFLARE_ZONE_ID: '0123456789abcdef0123456789abcdef',
  DNS_HOSTNAMES: 'app.example.com',
};

function problems(env: Record<string, string>): string {
  try { loadConfig(env); } catch (e) { return (e as Error).message; }
  throw new Error('expected a configuration error');
}

describe('config', () => {
  it('has the seed defaults', () => {
    const c = loadConfig(base);
    expect(c.syncIntervalMs).toBe(60_000);
    expect(c.log).toEqual({ level: 'info', format: 'console' });
    expect(c.health).toEqual({ enabled: true, port: 8080, checkIntervalMs: 30_000, livenessTimeoutMs: 300_000 });
    expect(c.retry).toEqual({ maxRetries: 3, baseDelayMs: 5000 });
    expect(c.kubeconfigPath).toBe('');
    expect(c.ownerId).toBe('default');
    expect(c.minRecordsPerHostname).toBe(1);
    expect(c.hostnames).toEqual([{ name: 'app.example.com', ttl: 1, proxied: false, controlPlaneOnly: false, nodeSelector: null, source: 'env', serveFrom: null, probe: null }]);
    expect(c.watchEndpointSlices).toBe(false);
    expect(c.probes).toEqual({ address: 'internal', intervalMs: 5_000, timeoutMs: 2_000, failures: 3, successes: 2, host: undefined, tlsVerify: false });
    expect(c.cloudflare).toMatchObject({ baseUrl: 'https://api.cloudflare.com/client/v4', zoneIds: [base.CLOUDFLARE_ZONE_ID], discoverZones: false });
    expect(c.recordTypes).toEqual(['A', 'AAAA']);
    expect(c.watchServices).toBe(true);
    expect(c.maxUnhealthyFraction).toBe(0.5);
    expect(c.policy).toEqual({
      caTaintMode: 'both', karpenterAware: true, removeOnNotReady: true, removeOnUnreachable: true, notReadyGraceMs: 30_000,
      unhealthyTaints: ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable', 'node.kubernetes.io/network-unavailable', 'node.kubernetes.io/out-of-service'],
      nodeSelector: null, honorExcludeLabel: true,
    });
  });

  it('discovers zones when no zone id is pinned, optionally restricted', () => {
    const { CLOUDFLARE_ZONE_ID: _, ...rest } = base;
    expect(loadConfig(rest).cloudflare).toMatchObject({ zoneIds: [], discoverZones: true });
    const ids = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA, bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
    expect(loadConfig({ ...rest, CLOUDFLARE_ZONE_IDS: ids }).cloudflare).toMatchObject({
      zoneIds: ['aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'], discoverZones: true,
    });
  });

  it.each([
    ['all', 5], ['none', 0], ['custom:example.com/broken, other', 2], ['CRITICAL', 4],
  ])('UNHEALTHY_NODE_TAINTS=%s gives %i taints', (raw, n) => {
    expect(loadConfig({ ...base, UNHEALTHY_NODE_TAINTS: raw }).policy.unhealthyTaints).toHaveLength(n);
  });

  it('parses the node policy settings', () => {
    const c = loadConfig({ ...base, CA_TAINT_MODE: 'ANY', KARPENTER_AWARE: 'false', NOT_READY_GRACE_SECONDS: '0', NODE_SELECTOR: 'pool=edge', DNS_RECORD_TYPES: 'aaaa' });
    expect(c.policy).toMatchObject({ caTaintMode: 'any', karpenterAware: false, notReadyGraceMs: 0, nodeSelector: { text: 'pool=edge' } });
    expect(c.recordTypes).toEqual(['AAAA']);
  });

  it('allows an empty DNS_HOSTNAMES while Services may claim hostnames, not otherwise', () => {
    expect(loadConfig({ ...base, DNS_HOSTNAMES: '' }).hostnames).toEqual([]);
    expect(problems({ ...base, DNS_HOSTNAMES: '', WATCH_SERVICES: 'false' })).toContain('nothing would ever be managed');
  });

  it('trims, lower-cases and de-duplicates hostnames', () => {
    const c = loadConfig({ ...base, DNS_HOSTNAMES: ' App.Example.com , www.example.com.,app.example.com,, ' });
    expect(c.hostnames.map((h) => h.name)).toEqual(['app.example.com', 'www.example.com']);
  });

  it.each([
    ['DEBUG', 'debug'], ['info', 'info'], ['Warning', 'warn'], ['WARN', 'warn'], ['error', 'error'],
  ])('LOG_LEVEL %s is %s', (raw, level) => {
    expect(loadConfig({ ...base, LOG_LEVEL: raw }).log.level).toBe(level);
  });

  it('makes proxied records automatic-TTL', () => {
    const c = loadConfig({ ...base, DNS_PROXIED: 'TRUE', DNS_TTL: '300' });
    expect(c.hostnames[0]).toMatchObject({ name: 'app.example.com', ttl: 1, proxied: true });
  });

  it('lists every bad variable at once, with its value and what it accepts, and masks the token', () => {
    const msg = problems({
      CLOUDFLARE_API_TOKEN: 'short secret value!', DNS_HOSTNAMES: 'ok.example.com,bad_name.example.com',
      DNS_TTL: '7', LOG_LEVEL: 'loud', MAX_RETRIES: '-1', HEALTH_PORT: '70000', DNS_PROXIED: 'maybe',
      CLOUDFLARE_ZONE_ID: 'nope', UNHEALTHY_NODE_TAINTS: 'some', NODE_SELECTOR: 'a in (', DNS_RECORD_TYPES: 'A,MX',
      MAX_UNHEALTHY_FRACTION: '2', CA_TAINT_MODE: 'either',
    });
    for (const v of ['CLOUDFLARE_API_TOKEN', 'CLOUDFLARE_ZONE_ID="nope"', 'DNS_HOSTNAMES="ok.example.com,bad_name.example.com"',
      'UNHEALTHY_NODE_TAINTS="some": unknown value; accepts critical, all, none, or custom:key1,key2', 'NODE_SELECTOR="a in (": unbalanced',
      'DNS_RECORD_TYPES="A,MX": "MX" is not A or AAAA', 'MAX_UNHEALTHY_FRACTION="2"', 'CA_TAINT_MODE="either"',
      'bad_name.example.com" has an invalid label', 'DNS_TTL="7"', '1 (automatic) or 60–86400', 'LOG_LEVEL="loud"', 'MAX_RETRIES="-1"',
      'HEALTH_PORT="70000"', 'DNS_PROXIED="maybe"']) {
      expect(msg).toContain(v);
    }
    expect(msg).not.toContain('short secret value!');
  });

  it('reads .env, with the real environment winning', () => {
    const dir = mkdtempSync(join(tmpdir(), 'epi-env-'));
    writeFileSync(join(dir, '.env'), 'DNS_HOSTNAMES=from-file.example.com\nOWNER_ID=file\n');
    const env = environmentWithDotenv({ ...base, OWNER_ID: 'real' }, dir);
    const c = loadConfig(env);
    expect(c.ownerId).toBe('real');
    expect(c.hostnames[0]?.name).toBe('app.example.com');
    expect(environmentWithDotenv({}, dir).DNS_HOSTNAMES).toBe('from-file.example.com');
  });

  it('documents every setting in .env.example and the README, with its default', async () => {
    const { readFileSync } = await import('node:fs');
    const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const s of SETTINGS) {
      expect(example).toContain(`${s.env}=${s.default ?? ''}\n`);
      expect(readme).toContain(`| \`${s.env}\` | ${s.default === undefined ? 'required' : s.default === '' ? 'empty' : `\`${s.default}\``} |`);
    }
  });
});
