/**
 * A loopback proxy in front of the Cloudflare simulator that refuses some calls with a 400 whose
 * error message echoes the request's Authorization header — as a misconfigured proxy (or an API
 * gateway in debug mode) named in CLOUDFLARE_API_BASE_URL does. Everything else is forwarded.
 */
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

export const ECHO_TEXT = 'rejected by the proxy, request headers follow';

export async function echoingProxy(target: string, echoes: (method: string, path: string) => boolean): Promise<{ url: string; echoed: () => number; close: () => Promise<void> }> {
  const base = new URL(target);
  let echoed = 0;
  const server = createServer((req, res) => {
    if (echoes(req.method ?? 'GET', req.url ?? '/')) {
      echoed++;
      req.resume();
      const message = `${ECHO_TEXT}: authorization: ${req.headers.authorization ?? '(none)'}; user-agent: ${req.headers['user-agent'] ?? ''}`;
      const body = JSON.stringify({ success: false, errors: [{ code: 400, message }], messages: [], result: null });
      res.writeHead(400, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    const upstream = request({ host: base.hostname, port: base.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${base.pathname.replace(/\/$/, '')}`,
    echoed: () => echoed,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
