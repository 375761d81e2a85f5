/**
 * A proxy per replica in front of the Cloudflare simulator: it tags every request with the
 * replica that sent it, keeps the bodies of batch calls (which record ids each one deletes), and
 * can inject faults a simulator cannot: an answer held past the client's timeout (the write
 * committed, the client never hears it) and a kill of the sending replica in the middle of a batch.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxiedRequest {
  readonly seq: number;
  readonly tag: string;
  /** The replica's incarnation (restart count) that sent it. */
  readonly incarnation: number;
  readonly method: string;
  readonly path: string;
  /** When the request reached the proxy: the replica sent it at most a moment earlier. */
  readonly at: number;
  /** Filled in by the caller's hook at arrival: the Lease holder at that moment. */
  holder: string | undefined;
  status: number;
  answeredAt: number;
  /** Batch calls only: the body, the ids it deletes and updates, and what it creates ("name type content"). */
  body?: string;
  deletes?: readonly string[];
  patches?: readonly string[];
  posts?: readonly string[];
  /** Batch calls only: "+creates ~updates -deletes". */
  ops?: string;
  /** What the proxy did to it, if anything ("hold-answer", "kill-before", "kill-after"). */
  fault?: string;
}

/** What to do with one batch call, decided by the driver when it arrives. */
export type BatchFault =
  | { kind: 'hold-answer'; ms: number }
  | { kind: 'kill-before' }
  | { kind: 'kill-after' };

export interface ProxyHooks {
  /** Called synchronously when a request arrives (before anything is forwarded). */
  arrived(entry: ProxiedRequest): void;
  /** Asked once per batch call, after its body is read. */
  batchFault(entry: ProxiedRequest): BatchFault | undefined;
  /** Called when the answer is passed on to the replica (after any hold), or the simulator reset the call. */
  answered(entry: ProxiedRequest): void;
  /** Kill the replica behind this proxy now (SIGKILL). */
  kill(tag: string): void;
}

export interface ChaosProxy {
  readonly url: string;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function batchOf(body: string): { deletes: string[]; posts: string[]; patches: string[]; ops: string } {
  try {
    const parsed = JSON.parse(body) as { deletes?: unknown; posts?: unknown; patches?: unknown };
    const list = (v: unknown): Array<Record<string, unknown>> => (Array.isArray(v) ? v.filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null) : []);
    const ids = (v: unknown) => list(v).flatMap((d) => (typeof d.id === 'string' ? [d.id] : []));
    const deletes = ids(parsed.deletes);
    const patches = ids(parsed.patches);
    const posts = list(parsed.posts).map((p) => `${String(p.name).toLowerCase()} ${String(p.type)} ${String(p.content)}`);
    return { deletes, posts, patches, ops: `+${posts.length} ~${patches.length} -${deletes.length}` };
  } catch {
    return { deletes: [], posts: [], patches: [], ops: 'unreadable body' };
  }
}

export async function startProxy(
  target: string,
  tag: string,
  incarnation: () => number,
  log: ProxiedRequest[],
  nextSeq: () => number,
  hooks: ProxyHooks,
): Promise<ChaosProxy> {
  const base = new URL(target);
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const entry: ProxiedRequest = {
      seq: nextSeq(), tag, incarnation: incarnation(), method: req.method ?? 'GET', path: req.url ?? '/',
      at: Date.now(), holder: undefined, status: 0, answeredAt: 0,
    };
    hooks.arrived(entry);
    log.push(entry);
    const body = await readBody(req);
    const isBatch = entry.method === 'POST' && entry.path.includes('/dns_records/batch');
    let fault: BatchFault | undefined;
    if (isBatch) {
      entry.body = body.toString('utf8');
      const parsed = batchOf(entry.body);
      entry.deletes = parsed.deletes;
      entry.patches = parsed.patches;
      entry.posts = parsed.posts;
      entry.ops = parsed.ops;
      fault = hooks.batchFault(entry);
      if (fault) entry.fault = fault.kind;
    }
    // A request that reached us has left the replica: it goes on even if the replica dies now.
    if (fault?.kind === 'kill-before') hooks.kill(tag);
    const upstream = request({
      host: base.hostname, port: base.port, method: req.method, path: req.url,
      headers: { ...req.headers, 'content-length': String(body.length) },
    }, (up) => {
      const chunks: Buffer[] = [];
      up.on('data', (c: Buffer) => chunks.push(c));
      up.on('end', () => {
        entry.status = up.statusCode ?? 0;
        const answer = () => {
          entry.answeredAt = Date.now();
          hooks.answered(entry);
          if (res.destroyed) return; // the replica gave up waiting (its client timed out) or died
          const headers = { ...up.headers };
          delete headers['transfer-encoding'];
          res.writeHead(up.statusCode ?? 502, { ...headers, 'content-length': String(Buffer.concat(chunks).length) });
          res.end(Buffer.concat(chunks));
        };
        if (fault?.kind === 'kill-after') {
          entry.answeredAt = Date.now();
          hooks.answered(entry);
          hooks.kill(tag); // committed (or refused) upstream; the replica never hears which
          res.destroy();
        } else if (fault?.kind === 'hold-answer') {
          later(fault.ms, answer);
        } else answer();
      });
      up.on('error', () => res.destroy());
    });
    upstream.on('error', () => {
      entry.answeredAt = Date.now();
      hooks.answered(entry);
      res.destroy(); // the simulator reset the connection: so do we
    });
    upstream.end(body);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${base.pathname.replace(/\/$/, '')}`,
    close: () => new Promise<void>((resolve) => {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
