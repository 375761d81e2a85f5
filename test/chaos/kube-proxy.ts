/**
 * A proxy per replica in front of the Kubernetes simulator: what one replica sees of the API
 * server, so faults can hit one replica and not the other (the simulator's own faults hit both).
 * It streams watches line by line, and can: answer lists of a resource with an error (500, 403
 * as after an RBAC change), answer the next list of a resource with a collapsed item list (a
 * misbehaving aggregation layer or cache), end a replica's watches with a 410 Gone event (so it
 * re-lists), refuse its Lease calls with 403, and cut it off entirely (a partition).
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type KubeResource = 'nodes' | 'services' | 'leases' | 'events' | 'other';

export interface KubeCall {
  readonly tag: string;
  readonly incarnation: number;
  readonly method: string;
  readonly path: string;
  readonly resource: KubeResource;
  /** A watch (streaming) rather than a list or a single object. */
  readonly watch: boolean;
  readonly at: number;
  /** What the proxy did: 'pass', or the fault it applied. */
  action: string;
  status: number;
}

/** What to do with one call, decided by the driver when it arrives. */
export type KubeAction =
  | { kind: 'pass' }
  | { kind: 'fail'; status: number; reason: string; message: string }
  /** Forward, then keep only the first `keep` items of the list's answer. */
  | { kind: 'collapse'; keep: number }
  /** Reset the connection without an answer (a partition). */
  | { kind: 'reset' };

export interface KubeProxyHooks {
  decide(call: KubeCall): KubeAction;
  /** Told when a call was answered (or reset). */
  answered?(call: KubeCall): void;
}

export interface KubeProxy {
  readonly url: string;
  /** Ends this replica's open watches of `resource` (all when undefined) with an ERROR event, as a real server's 410 Gone. */
  expireWatches(resource?: KubeResource): number;
  /** Cuts every open connection of this replica (watches included). */
  cutAll(): void;
  close(): Promise<void>;
}

export function resourceOf(path: string): KubeResource {
  const p = path.split('?')[0] ?? '';
  if (/^\/api\/v1\/(namespaces\/[^/]+\/)?services(\/|$)/.test(p)) return 'services';
  if (/^\/api\/v1\/nodes(\/|$)/.test(p)) return 'nodes';
  if (p.includes('/leases')) return 'leases';
  if (p.includes('/events')) return 'events';
  return 'other';
}

function statusBody(code: number, reason: string, message: string): string {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

const EXPIRED_EVENT = `${JSON.stringify({
  type: 'ERROR',
  object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'too old resource version (chaos proxy)', reason: 'Expired', code: 410 },
})}\n`;

export async function startKubeProxy(target: string, tag: string, incarnation: () => number, log: KubeCall[] | undefined, hooks: KubeProxyHooks): Promise<KubeProxy> {
  const base = new URL(target);
  const sockets = new Set<Socket>();
  const watches = new Set<{ resource: KubeResource; expire: () => void }>();

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = req.url ?? '/';
    const query = new URLSearchParams(path.split('?')[1] ?? '');
    const call: KubeCall = {
      tag, incarnation: incarnation(), method: req.method ?? 'GET', path, resource: resourceOf(path),
      watch: query.get('watch') === 'true' || query.get('watch') === '1', at: Date.now(), action: 'pass', status: 0,
    };
    log?.push(call);
    const action = hooks.decide(call);
    call.action = action.kind === 'fail' ? `fail ${action.status}` : action.kind === 'collapse' ? `collapse to ${action.keep}` : action.kind;
    const done = (status: number) => {
      call.status = status;
      hooks.answered?.(call);
    };
    if (action.kind === 'reset') {
      req.resume();
      done(0);
      res.destroy();
      return;
    }
    if (action.kind === 'fail') {
      req.resume();
      const body = statusBody(action.status, action.reason, action.message);
      res.writeHead(action.status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
      res.end(body);
      done(action.status);
      return;
    }
    const upstream = request({ host: base.hostname, port: base.port, method: req.method, path, headers: req.headers }, (up) => {
      const status = up.statusCode ?? 502;
      const headers = { ...up.headers };
      if (call.watch && status === 200) {
        // Line by line, so an injected event never lands inside another.
        delete headers['content-length'];
        res.writeHead(status, headers);
        let buffered = '';
        const entry = {
          resource: call.resource,
          expire: () => {
            if (res.destroyed || res.writableEnded) return;
            res.end(EXPIRED_EVENT);
            up.destroy();
          },
        };
        watches.add(entry);
        up.setEncoding('utf8');
        up.on('data', (chunk: string) => {
          buffered += chunk;
          const cut = buffered.lastIndexOf('\n');
          if (cut < 0 || res.writableEnded) return;
          res.write(buffered.slice(0, cut + 1));
          buffered = buffered.slice(cut + 1);
        });
        const finish = () => {
          watches.delete(entry);
          if (!res.writableEnded && !res.destroyed) res.end(buffered);
        };
        up.on('end', finish);
        up.on('error', () => {
          watches.delete(entry);
          res.destroy();
        });
        res.on('close', () => {
          watches.delete(entry);
          up.destroy();
        });
        done(status);
        return;
      }
      const chunks: Buffer[] = [];
      up.on('data', (c: Buffer) => chunks.push(c));
      up.on('end', () => {
        let body = Buffer.concat(chunks);
        if (action.kind === 'collapse' && status === 200) {
          try {
            const list = JSON.parse(body.toString('utf8')) as { items?: unknown[]; metadata?: Record<string, unknown> };
            if (Array.isArray(list.items)) {
              list.items = list.items.slice(0, action.keep);
              if (list.metadata) delete list.metadata.continue;
              body = Buffer.from(JSON.stringify(list));
            }
          } catch {
            // not JSON: pass it on as it is
          }
        }
        delete headers['transfer-encoding'];
        res.writeHead(status, { ...headers, 'content-length': String(body.length) });
        res.end(body);
        done(status);
      });
      up.on('error', () => {
        done(0);
        res.destroy();
      });
    });
    upstream.on('error', () => {
      done(0);
      res.destroy();
    });
    req.pipe(upstream);
  };

  const server: Server = createServer(handle);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    expireWatches(resource) {
      let n = 0;
      for (const w of [...watches]) {
        if (resource !== undefined && w.resource !== resource) continue;
        w.expire();
        n++;
      }
      return n;
    },
    cutAll() {
      for (const s of sockets) s.destroy();
    },
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
