/** An HTTP proxy in front of a simulator that notes which client (tag) sent each request. */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TaggedRequest { readonly tag: string; readonly method: string; readonly path: string; readonly at: number; status: number }

export async function tagProxy(target: string, tag: string, log: TaggedRequest[]): Promise<{ url: string; close: () => Promise<void>; server: Server }> {
  const base = new URL(target);
  const server = createServer((req, res) => {
    const entry: TaggedRequest = { tag, method: req.method ?? 'GET', path: req.url ?? '/', at: Date.now(), status: 0 };
    log.push(entry);
    const upstream = request({ host: base.hostname, port: base.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      entry.status = up.statusCode ?? 0;
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://127.0.0.1:${port}${base.pathname.replace(/\/$/, '')}`,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
