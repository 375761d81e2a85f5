/** One health probe of one address: a TCP connect, or an HTTP(S) GET answered 2xx/3xx. */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
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

export function check(spec: ProbeSpec, address: string, opts: CheckOptions): Promise<ProbeResult> {
  const started = performance.now();
  const done = (ok: boolean, detail: string): ProbeResult => ({ ok, latencyMs: Math.round((performance.now() - started) * 10) / 10, detail });
  return new Promise((resolve) => {
    let settled = false;
    const finish = (r: ProbeResult, cleanup: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      cleanup();
      resolve(r);
    };
    let cleanup = () => undefined as void;
    const timer = setTimeout(() => finish(done(false, `timed out after ${opts.timeoutMs} ms`), cleanup), opts.timeoutMs);
    if (spec.kind === 'tcp') {
      const socket = connect({ host: address, port: spec.port });
      cleanup = () => socket.destroy();
      socket.once('connect', () => finish(done(true, 'connected'), cleanup));
      socket.once('error', (err) => finish(done(false, reason(err)), cleanup));
      return;
    }
    const host = opts.host ?? (address.includes(':') ? `[${address}]` : address);
    const req = (spec.kind === 'https' ? httpsRequest : httpRequest)({
      host: address, port: spec.port, path: spec.path, method: 'GET', agent: false,
      headers: { host: `${host}${opts.host ? '' : `:${spec.port}`}`, 'user-agent': 'epictetus-probe', connection: 'close' },
      ...(spec.kind === 'https' ? { servername: opts.host ?? (address.includes(':') ? undefined : address), rejectUnauthorized: opts.tlsVerify === true } : {}),
    }, (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      finish(done(status >= 200 && status < 400, `HTTP ${status}`), () => req.destroy());
    });
    cleanup = () => req.destroy();
    req.once('error', (err) => finish(done(false, reason(err)), cleanup));
    req.end();
  });
}
