/** The HTTP server: routes apart from listen(), so tests call them in-process. GET and HEAD only. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EpictetusError, errorMessage } from '../model/errors.js';
import type { Registry } from './prometheus.js';
import { healthReport, liveness, readiness, type HealthView } from './health.js';
import { renderStatusPage } from './status-page.js';

export interface ServerView extends HealthView {
  readonly metrics?: Registry;
}

interface Answer { readonly status: number; readonly type: string; readonly body: string }

const json = (status: number, body: unknown): Answer =>
  ({ status, type: 'application/json; charset=utf-8', body: JSON.stringify(body, null, 2) });
const probe = (r: { ok: boolean; body: unknown }): Answer => json(r.ok ? 200 : 503, r.body);

export function buildHandler(view: ServerView): (req: IncomingMessage, res: ServerResponse) => void {
  const routes: Record<string, () => Answer | Promise<Answer>> = {
    '/': () => {
      const report = healthReport(view);
      return {
        status: 200, type: 'text/html; charset=utf-8',
        body: renderStatusPage({
          status: view.controller(), health: String(report.body.status), leadership: view.leadership(),
          problems: report.body.problems as string[], probes: view.probes?.() ?? [],
        }),
      };
    },
    '/health': () => probe(healthReport(view)),
    '/health/ready': () => probe(readiness(view.controller(), view)),
    '/health/live': () => probe(liveness(view.controller(), view)),
    ...(view.metrics ? { '/metrics': async () => ({ status: 200, type: view.metrics?.contentType ?? 'text/plain', body: await view.metrics?.metrics() ?? '' }) } : {}),
  };
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const route = routes[path];
    const send = (a: Answer) => {
      res.writeHead(a.status, { 'content-type': a.type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(a.body), 'x-content-type-options': 'nosniff' });
      res.end(req.method === 'HEAD' ? undefined : a.body);
    };
    if (route === undefined) return send(json(404, { error: 'not found', paths: Object.keys(routes) }));
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return send(json(405, { error: 'method not allowed' }));
    }
    Promise.resolve().then(route).then(send, (err: unknown) => send(json(500, { error: errorMessage(err) })));
  };
}

/** Why the health server could not listen, with the setting that changes it. */
export function listenError(err: NodeJS.ErrnoException, port: number, host: string | undefined): EpictetusError {
  const where = host === undefined ? `port ${port} on all interfaces` : `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const change = 'set HEALTH_PORT to another port (HEALTH_PORT=0 picks a free one)';
  switch (err.code) {
    case 'EADDRINUSE':
      return new EpictetusError('EPI_PORT_IN_USE', `the health server cannot listen on ${where}: another process is using it; ${change}, or HEALTH_BIND_ADDRESS to another address (ENABLE_HEALTH_SERVER=false turns the server off)`, { cause: err });
    case 'EACCES':
      return new EpictetusError('EPI_PORT_DENIED', `the health server may not listen on ${where}: ports below 1024 need privileges (root or CAP_NET_BIND_SERVICE) this process does not have; set HEALTH_PORT to 1024 or above (HEALTH_PORT=0 picks a free one)`, { cause: err });
    case 'EADDRNOTAVAIL':
      return new EpictetusError('EPI_BIND_ADDRESS', `the health server cannot listen on ${where}: ${host ?? 'the address'} is not an address of this host; set HEALTH_BIND_ADDRESS to one of its addresses, or empty for all interfaces`, { cause: err });
    default:
      return new EpictetusError('EPI_LISTEN', `the health server cannot listen on ${where}: ${err.code ?? err.message}; check HEALTH_PORT and HEALTH_BIND_ADDRESS`, { cause: err });
  }
}

export async function listen(handler: ReturnType<typeof buildHandler>, port: number, host?: string): Promise<{ server: Server; port: number }> {
  const server = createServer({ requestTimeout: 10_000, headersTimeout: 5_000, connectionsCheckingInterval: 1_000, keepAliveTimeout: 5_000 }, handler);
  await new Promise<void>((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException) => reject(listenError(err, port, host));
    server.once('error', failed);
    server.listen(port, host, () => { server.off('error', failed); resolve(); });
  });
  return { server, port: (server.address() as AddressInfo).port };
}
