/** The HTTP server: routes apart from listen(), so tests call them in-process. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { healthReport, liveness, readiness, type HealthView, type ProbeResult } from './health.js';

function send(res: ServerResponse, status: number, body: unknown, head: boolean): void {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(head ? undefined : text);
}

export function buildHandler(view: HealthView): (req: IncomingMessage, res: ServerResponse) => void {
  const routes: Record<string, () => ProbeResult> = {
    '/health': () => healthReport(view),
    '/health/ready': () => readiness(view.controller()),
    '/health/live': () => liveness(view.controller(), view),
  };
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const route = routes[path];
    if (route === undefined) return send(res, 404, { error: 'not found', paths: Object.keys(routes) }, false);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return send(res, 405, { error: 'method not allowed' }, false);
    }
    const r = route();
    send(res, r.ok ? 200 : 503, r.body, req.method === 'HEAD');
  };
}

export async function listen(handler: ReturnType<typeof buildHandler>, port: number, host?: string): Promise<{ server: Server; port: number }> {
  const server = createServer({ requestTimeout: 10_000, headersTimeout: 5_000 }, handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  return { server, port: (server.address() as AddressInfo).port };
}
