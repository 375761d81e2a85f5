/** One health probe of one address: a TCP connect, or an HTTP(S) GET answered 2xx/3xx. */
import { connect, isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { ProbeSpec } from '../model/types.js';

export interface ProbeResult {
  readonly ok: boolean;
  readonly latencyMs: number;
  /** What happened: `HTTP 200`, `connected`, `HTTP 503`, `ECONNREFUSED`, `timed out after 2000 ms`. */
  readonly detail: string;
}

export interface CheckOptions {
  readonly timeoutMs: number;
  /** Host header and TLS server name (SNI); default: the address. */
  readonly host?: string | undefined;
  /** Verify the server's certificate (https probes); off by default, as load balancers do. */
  readonly tlsVerify?: boolean;
}

const reason = (err: unknown): string => {
  const e = err as NodeJS.ErrnoException;
  return e.code ?? e.message ?? String(err);
};

const requests = new Map<string, Buffer>();

/** The probe's request, encoded once per target (a thousand nodes ask for the same few bytes every few seconds). */
function requestOf(spec: ProbeSpec, address: string, host: string | undefined): Buffer {
  const key = `${spec.text} ${address} ${host ?? ''}`;
  let req = requests.get(key);
  if (req === undefined) {
    const h = host ?? `${address.includes(':') ? `[${address}]` : address}:${spec.port}`;
    req = Buffer.from(`GET ${spec.path} HTTP/1.1\r\nHost: ${h}\r\nUser-Agent: epictetus-probe\r\nAccept: */*\r\nConnection: close\r\n\r\n`, 'latin1');
    if (requests.size > 10_000) requests.clear();
    requests.set(key, req);
  }
  return req;
}

/**
 * A probe is one connection and, for HTTP(S), one request whose status line is all that is read:
 * a few bytes written and read on a plain socket, far cheaper than a full HTTP client when a
 * thousand nodes are probed every few seconds.
 */
export function check(spec: ProbeSpec, address: string, opts: CheckOptions): Promise<ProbeResult> {
  const started = performance.now();
  const done = (ok: boolean, detail: string): ProbeResult => ({ ok, latencyMs: Math.round((performance.now() - started) * 10) / 10, detail });
  return new Promise((resolve) => {
    let settled = false;
    const servername = opts.host ?? (isIP(address) ? undefined : address);
    const socket = spec.kind === 'https'
      ? tlsConnect({ host: address, port: spec.port, rejectUnauthorized: opts.tlsVerify === true, ...(servername ? { servername } : {}) })
      : connect({ host: address, port: spec.port });
    const finish = (r: ProbeResult) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(r);
    };
    socket.setTimeout(opts.timeoutMs, () => finish(done(false, `timed out after ${opts.timeoutMs} ms`)));
    socket.once('error', (err) => finish(done(false, reason(err))));
    socket.once(spec.kind === 'https' ? 'secureConnect' : 'connect', () => {
      if (spec.kind === 'tcp') return finish(done(true, 'connected'));
      socket.write(requestOf(spec, address, opts.host));
    });
    let head = '';
    socket.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1', 0, Math.min(chunk.length, 64));
      const line = /^HTTP\/\d(?:\.\d)? (\d{3})/.exec(head);
      if (line) {
        const status = Number(line[1]);
        finish(done(status >= 200 && status < 400, `HTTP ${status}`));
      } else if (head.length >= 64 || head.includes('\n')) finish(done(false, 'not an HTTP answer'));
    });
    socket.once('end', () => finish(done(false, 'closed without an answer')));
  });
}
