import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { environmentWithDotenv, loadConfig } from '../../src/config/config.js';
import { SETTINGS } from '../../src/config/settings.js';

const TOKEN = 'tok_abcdefghijklmnopqrstuvwxyz0123456789';
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
    expect(c.hostnames).toEqual([{ name: 'app.example.com', ttl: 1, proxied: false }]);
    expect(c.cloudflare.baseUrl).toBe('https://api.cloudflare.com/client/v4');
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
    expect(c.hostnames[0]).toEqual({ name: 'app.example.com', ttl: 1, proxied: true });
  });

  it('lists every bad variable at once, with its value and what it accepts, and masks the token', () => {
    const msg = problems({
      CLOUDFLARE_API_TOKEN: 'short secret value!', DNS_HOSTNAMES: 'ok.example.com,bad_name.example.com',
      DNS_TTL: '7', LOG_LEVEL: 'loud', MAX_RETRIES: '-1', HEALTH_PORT: '70000', DNS_PROXIED: 'maybe',
    });
    for (const v of ['CLOUDFLARE_API_TOKEN', 'CLOUDFLARE_ZONE_ID=(not set): required', 'DNS_HOSTNAMES="ok.example.com,bad_name.example.com"',
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
