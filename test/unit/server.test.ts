import { request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControllerStatus } from '../../src/controller/status.js';
import { buildHandler, listen } from '../../src/server/server.js';

const status: ControllerStatus = {
  startedAt: '', synced: true, lastSuccessfulSync: 'x', lastReconcile: 'x', consecutiveFailures: 0, lastError: undefined,
  reconciles: { ok: 1, failed: 0, noop: 0, skipped: 0 }, verdicts: [{ name: 'n<1>', eligible: true, reasons: [] }], managedRecords: {},
  foreignRecords: [{ id: 'x', name: 'app.example.com', type: 'A', content: '<script>alert(1)</script>', owner: null, reason: 'not-a-cluster-ip' }],
  held: [], hostnames: [], conflicts: [], serviceProblems: [],
  waitingFor: [], refusedClaims: [], nodeAddresses: {}, excludedFor: {}, hostnameRecords: {}, refused: [], moves: [], skipped: [], zones: [], recentChanges: [], busySince: undefined, lastProgressAt: Date.now(),
};

let port = 0;
let close: () => void = () => undefined;
beforeAll(async () => {
  const handler = buildHandler({
    controller: () => status, watches: () => ({}), apis: () => ({ kubernetes: { ok: true, checkedAt: undefined, error: undefined }, cloudflare: { ok: true, checkedAt: undefined, error: undefined } }),
    leadership: () => ({ enabled: false, role: 'leader', leader: 'me', identity: 'me' }), livenessTimeoutMs: 300_000, syncIntervalMs: 60_000,
  });
  const l = await listen(handler, 0, '127.0.0.1');
  port = l.port;
  close = () => { l.server.closeAllConnections(); l.server.close(); };
});
afterAll(() => close());

function call(method: string, path: string, body?: string): Promise<{ status: number; text: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => { text += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the health server', () => {
  it.each(['/', '/health', '/health/ready', '/health/live'])('serves GET and HEAD %s', async (path) => {
    expect((await call('GET', path)).status).toBe(200);
    const head = await call('HEAD', path);
    expect([head.status, head.text]).toEqual([200, '']);
  });

  it.each(['POST', 'PUT', 'DELETE', 'PATCH'])('refuses %s, without reading a body', async (method) => {
    const r = await call(method, '/health', 'x'.repeat(1_000));
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe('GET, HEAD');
  });

  it('answers 404 for anything else, including lookalike and traversal paths', async () => {
    for (const p of ['/metrics', '/health/', '/../etc/passwd', '/health/live/x', '/HEALTH']) expect((await call('GET', p)).status).toBe(404);
  });

  it('escapes what it shows on the status page', async () => {
    const page = await call('GET', '/');
    expect(page.text).not.toContain('<script>alert(1)</script>');
    expect(page.text).toContain('&lt;script&gt;');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
  });

  it('drops a client that never finishes its headers', async () => {
    const socket = connect(port, '127.0.0.1');
    socket.write('GET /health HTTP/1.1\r\nHost: x\r\n');
    let answer = '';
    socket.on('data', (d: Buffer) => { answer += d.toString(); });
    const closed = await new Promise<boolean>((resolve) => {
      socket.on('close', () => resolve(true));
      setTimeout(() => resolve(false), 12_000);
    });
    expect(closed).toBe(true);
    expect(answer).toMatch(/^HTTP\/1.1 408/);
  }, 15_000);
});

describe('the probes at scale', () => {
  it('answer readiness and liveness without building the per-node and per-record status (probes come every few seconds)', async () => {
    const heavy = { ...status };
    for (const field of ['hostnameRecords', 'nodeAddresses'] as const) {
      Object.defineProperty(heavy, field, { enumerable: true, get: () => { throw new Error(`${field} built for a probe`); } });
    }
    const handler = buildHandler({
      controller: () => heavy, watches: () => ({}), apis: () => ({ kubernetes: { ok: true, checkedAt: undefined, error: undefined }, cloudflare: { ok: true, checkedAt: undefined, error: undefined } }),
      leadership: () => ({ enabled: false, role: 'leader', leader: 'me', identity: 'me' }), livenessTimeoutMs: 300_000, syncIntervalMs: 60_000,
    });
    const l = await listen(handler, 0, '127.0.0.1');
    try {
      for (const path of ['/health/ready', '/health/live']) {
        const code = await new Promise<number>((resolve, reject) => {
          request({ host: '127.0.0.1', port: l.port, path, agent: false }, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).on('error', reject).end();
        });
        expect([path, code]).toEqual([path, 200]);
      }
    } finally {
      l.server.closeAllConnections();
      l.server.close();
    }
  });
});
