import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { faultAnswer, type Faults } from './faults.js';
import type { Api, ApiAnswer } from './routes.js';
import type { RequestLogEntry } from './types.js';

export interface HttpDeps {
  api: Api;
  faults: Faults;
  log: RequestLogEntry[];
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function serve(deps: HttpDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://sim.invalid');
  const method = (req.method ?? 'GET').toUpperCase();
  const entry = { method, path: url.pathname, query: url.search.slice(1) };
  const body = await readBody(req);
  if (deps.faults.latencyMs > 0) await delay(deps.faults.latencyMs);

  const fault = deps.faults.take(method, url.pathname + url.search);
  if (fault?.reset) {
    deps.log.push({ ...entry, status: 0, at: Date.now() });
    req.socket.destroy();
    return;
  }
  const answer: ApiAnswer = fault
    ? faultAnswer(fault)
    : deps.api.handle({ method, path: url.pathname, query: url.searchParams, headers: req.headers, body });
  deps.log.push({ ...entry, status: answer.status, at: Date.now(), ...(answer.ops ? { ops: answer.ops } : {}) });
  res.writeHead(answer.status, answer.headers);
  res.end(answer.body);
}

export function createHttpServer(deps: HttpDeps): Server {
  return createServer((req, res) => {
    serve(deps, req, res).catch(() => {
      // Only a client that went away mid-request ends up here; there is no one to answer.
      req.socket.destroy();
    });
  });
}
