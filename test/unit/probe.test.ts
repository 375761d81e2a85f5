/** Probes against real listeners on loopback addresses (127.0.0.0/8), and the prober's rounds and thresholds. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { createServer as createTcp, type Server as TcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ProbeSpec } from '../../src/model/types.js';
import { check } from '../../src/probe/check.js';
import { Prober } from '../../src/probe/prober.js';
import { initialVerdict, nextVerdict } from '../../src/probe/verdict.js';
import { host, node } from '../helpers/snapshots.js';
import { waitFor } from '../helpers/service.js';

const closers: Array<() => void> = [];
afterEach(() => { for (const c of closers.splice(0)) c(); });

async function listen<T extends Server | TcpServer>(server: T, address: string): Promise<number> {
  await new Promise<void>((r) => server.listen(0, address, () => r()));
  closers.push(() => { (server as Server).closeAllConnections?.(); server.close(); });
  return (server.address() as AddressInfo).port;
}

function httpAnswering(status: number, seen: string[] = []): Server {
  return createServer((req, res) => {
    seen.push(`${req.url} host=${req.headers.host}`);
    res.writeHead(status).end('x');
  });
}

const http = (port: number, path = '/healthz'): ProbeSpec => ({ kind: 'http', port, path, text: `http://:${port}${path}` });

describe('one probe', () => {
  it('http: 2xx/3xx pass, 5xx fails, with the Host header asked for', async () => {
    const seen: string[] = [];
    const ok = await listen(httpAnswering(200, seen), '127.0.0.21');
    const bad = await listen(httpAnswering(503), '127.0.0.22');
    expect(await check(http(ok), '127.0.0.21', { timeoutMs: 2_000 })).toMatchObject({ ok: true, detail: 'HTTP 200' });
    expect(await check(http(ok), '127.0.0.21', { timeoutMs: 2_000, host: 'app.example.com' })).toMatchObject({ ok: true });
    expect(seen).toEqual([`/healthz host=127.0.0.21:${ok}`, '/healthz host=app.example.com']);
    expect(await check(http(bad), '127.0.0.22', { timeoutMs: 2_000 })).toMatchObject({ ok: false, detail: 'HTTP 503' });
  });

  it('tcp: an open port passes, a closed one fails', async () => {
    const open = await listen(createTcp((s) => s.end()), '127.0.0.23');
    expect(await check({ kind: 'tcp', port: open, path: '', text: `tcp:${open}` }, '127.0.0.23', { timeoutMs: 2_000 })).toMatchObject({ ok: true, detail: 'connected' });
    const closed = await listen(createTcp(), '127.0.0.24');
    closers.pop()?.();
    expect(await check({ kind: 'tcp', port: closed, path: '', text: `tcp:${closed}` }, '127.0.0.24', { timeoutMs: 2_000 })).toMatchObject({ ok: false, detail: 'ECONNREFUSED' });
  });

  it('a port that answers something other than HTTP, or hangs up, fails', async () => {
    const garbage = await listen(createTcp((sock) => sock.end('SSH-2.0-OpenSSH_9.6\r\n')), '127.0.0.27');
    expect(await check(http(garbage), '127.0.0.27', { timeoutMs: 2_000 })).toMatchObject({ ok: false, detail: 'not an HTTP answer' });
    const hangup = await listen(createTcp((sock) => sock.end()), '127.0.0.28');
    expect(await check(http(hangup), '127.0.0.28', { timeoutMs: 2_000 })).toMatchObject({ ok: false, detail: 'closed without an answer' });
  });

  it('a listener that never answers fails at the timeout', async () => {
    const port = await listen(createServer(() => undefined), '127.0.0.25'); // accepts, never answers
    const r = await check(http(port), '127.0.0.25', { timeoutMs: 150 });
    expect(r).toMatchObject({ ok: false, detail: 'timed out after 150 ms' });
  });

  it('https: a self-signed certificate passes unless verification is asked for', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'epictetus-probe-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=ingress.example.com', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem')], { stdio: 'ignore' });
    const server = createHttps({ key: readFileSync(join(dir, 'k.pem')), cert: readFileSync(join(dir, 'c.pem')) }, (_req, res) => res.writeHead(204).end());
    const port = await listen(server, '127.0.0.26');
    const spec: ProbeSpec = { kind: 'https', port, path: '/', text: `https://:${port}/` };
    expect(await check(spec, '127.0.0.26', { timeoutMs: 2_000 })).toMatchObject({ ok: true, detail: 'HTTP 204' });
    expect((await check(spec, '127.0.0.26', { timeoutMs: 2_000, tlsVerify: true })).ok).toBe(false);
  });
});

describe('thresholds in a row', () => {
  const t = { failures: 3, successes: 2 };
  const run = (start: ReturnType<typeof initialVerdict>, results: boolean[]) =>
    results.reduce((v, ok) => nextVerdict(v, { ok, latencyMs: 1, detail: ok ? 'HTTP 200' : 'HTTP 503' }, 0, t), start).state;

  it.each<[string, boolean, boolean[], string]>([
    ['a known target survives two failures', true, [false, false], 'healthy'],
    ['and leaves after three in a row', true, [false, false, false], 'failing'],
    ['a success in between resets the count', true, [false, false, true, false, false], 'healthy'],
    ['a failing target needs two successes in a row to come back', true, [false, false, false, true], 'failing'],
    ['and comes back with them', true, [false, false, false, true, true], 'healthy'],
    ['a new target waits for two successes', false, [true], 'pending'],
    ['and serves after them', false, [true, true], 'healthy'],
  ])('%s', (_what, known, results, want) => {
    expect(run(initialVerdict(known), results)).toBe(want);
  });
});

describe('the prober', () => {
  it('is synced after its first round, probes each node for each probe asked, and stops for nodes that left', async () => {
    const calls: string[] = [];
    let changed = 0;
    const answers = new Map([['127.0.0.31', true], ['127.0.0.32', false]]);
    const prober = new Prober({
      intervalMs: 30, timeoutMs: 100, thresholds: { failures: 2, successes: 1 }, address: 'internal', random: () => 0.5,
      check: async (spec, address) => { calls.push(`${address} ${spec.text}`); return { ok: answers.get(address) ?? false, latencyMs: 1, detail: 'x' }; },
    }, { changed: () => changed++ });
    const spec: ProbeSpec = { kind: 'tcp', port: 80, path: '', text: 'tcp:80' };
    const nodes = [node('a', { internalIp: '127.0.0.31' }), node('b', { internalIp: '127.0.0.32' })];
    expect(prober.status().synced).toBe(false);
    prober.update(nodes, [host('x.example.com', { probe: spec }), host('y.example.com')]);
    await waitFor(() => prober.status().synced || undefined, 5_000, 'first round');
    expect(new Set(calls.slice(0, 2))).toEqual(new Set(['127.0.0.31 tcp:80', '127.0.0.32 tcp:80']));
    await waitFor(() => prober.verdicts().get('b tcp:80')?.state === 'failing' || undefined, 5_000, 'b failing');
    expect(prober.verdicts().get('a tcp:80')?.state).toBe('healthy');
    expect(changed).toBeGreaterThanOrEqual(2); // the first round, then b's verdict
    prober.update([nodes[0]!], [host('x.example.com', { probe: spec })]); // b left the cluster
    const before = calls.filter((c) => c.startsWith('127.0.0.32')).length;
    await new Promise((r) => setTimeout(r, 120));
    expect(calls.filter((c) => c.startsWith('127.0.0.32')).length).toBe(before);
    expect(prober.evidence().map((e) => `${e.node} ${e.state}`)).toEqual(['a healthy']);
    prober.stop();
  });

  it('with no hostname asking for a probe it has nothing to do and is synced at once', () => {
    const prober = new Prober({ intervalMs: 1_000, timeoutMs: 100, thresholds: { failures: 3, successes: 2 }, address: 'internal' });
    prober.update([node('a')], [host('x.example.com')]);
    expect(prober.status().synced).toBe(true);
    expect(prober.evidence()).toEqual([]);
  });
});
