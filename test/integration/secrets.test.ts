/** The API token appears in no output, at any level, on any path we can drive. */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWorld, type World } from '../../src/cli/world.js';
import { makeNode } from '../../src/sim/kube/index.js';
import { fakeToken } from '../helpers/cloudflare.js';
import { startService, waitFor, type ServiceProcess } from '../helpers/service.js';

const TOKEN = fakeToken('recognisable');
let world: World | undefined;
const services: ServiceProcess[] = [];

afterEach(async () => {
  for (const s of services.splice(0)) await s.stop('SIGKILL');
  await world?.stop();
  world = undefined;
});

function allOutput(s: ServiceProcess): string {
  return [...s.lines, ...s.stderr].join('\n');
}

describe('the API token', () => {
  it.each(['json', 'console'])('never appears in %s logs at DEBUG, through errors, retries and shutdown', async (format) => {
    world = await startWorld({ nodes: 2, token: TOKEN });
    const w = world;
    w.cloudflare.failNext({ status: 401, count: 1, code: 1000, message: 'Invalid API Token', pathIncludes: 'dns_records' });
    w.cloudflare.failNext({ status: 429, retryAfter: '0', count: 1 });
    w.cloudflare.failNext({ status: 500, count: 1 });
    w.cloudflare.failNext({ status: 502, html: true, count: 1 });
    w.cloudflare.failNext({ status: 0, reset: true, count: 1 });
    const s = startService({ ...w.env, LOG_FORMAT: format, LOG_LEVEL: 'DEBUG', MAX_RETRIES: '1' });
    services.push(s);
    await waitFor(() => w.cloudflare.records(w.zoneId).length === 2 || undefined, 20_000, 'records');
    w.kube.dropWatches();
    w.kube.patchNode('worker-1', { spec: { taints: [{ key: 'DeletionCandidateOfClusterAutoscaler', effect: 'PreferNoSchedule' }, { key: 'ToBeDeletedByClusterAutoscaler', effect: 'NoSchedule' }] } });
    await waitFor(() => w.cloudflare.records(w.zoneId).length === 1 || undefined, 20_000, 'removal');
    expect(await s.stop('SIGTERM')).toBe(0);
    const out = allOutput(s);
    expect(out.length).toBeGreaterThan(1000);
    expect(out).toContain('HTTP 401');
    expect(out).not.toContain(TOKEN);
    expect(out).not.toContain(TOKEN.slice(4, -4));
  });

  it('a refused token stops the service at start-up with one clear error', async () => {
    world = await startWorld({ nodes: 1, token: TOKEN });
    const s = startService({ ...world.env, CLOUDFLARE_API_TOKEN: fakeToken('wrong') });
    services.push(s);
    expect(await s.exit).toBe(1);
    const out = allOutput(s);
    expect(out).toContain('the Cloudflare API refused the token');
    expect(out).not.toContain('WRONG_fake_token_0000000');
    expect(world.cloudflare.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  });

  it('is read from CLOUDFLARE_API_TOKEN_FILE and re-read when the file changes', async () => {
    world = await startWorld({ nodes: 2, token: TOKEN });
    const w = world;
    const file = join(mkdtempSync(join(tmpdir(), 'epictetus-token-')), 'token');
    writeFileSync(file, `${TOKEN}\n`);
    const { CLOUDFLARE_API_TOKEN: _, ...env } = w.env;
    const s = startService({ ...env, CLOUDFLARE_API_TOKEN_FILE: file });
    services.push(s);
    await s.waitReady();
    const rotated = fakeToken('rotated-refused');
    writeFileSync(file, rotated);
    await s.waitForLog((l) => l.msg === 'Cloudflare API token reloaded from its file', 10_000);
    w.kube.createNode(makeNode('worker-9', { externalIP: '203.0.113.99' }));
    await s.waitForLog((l) => l.msg === 'reconcile failed; will retry' && String(l.err).includes('HTTP 401'), 10_000);
    writeFileSync(file, 'not a token!');
    await s.waitForLog((l) => typeof l.msg === 'string' && l.msg.includes('cannot be used; keeping the previous token'), 10_000);
    writeFileSync(file, TOKEN);
    await waitFor(() => w.cloudflare.records(w.zoneId).length === 3 || undefined, 20_000, 'recovery with the good token');
    expect(allOutput(s)).not.toContain(rotated);
    expect(allOutput(s)).not.toContain(TOKEN);
  });

  it('is masked in configuration errors', async () => {
    const s = startService({ CLOUDFLARE_API_TOKEN: TOKEN, DNS_HOSTNAMES: 'x', DNS_TTL: '5', LOG_LEVEL: 'DEBUG' });
    services.push(s);
    expect(await s.exit).toBe(2);
    expect(allOutput(s)).toContain('DNS_TTL="5"');
    expect(allOutput(s)).not.toContain(TOKEN);
  });
});
