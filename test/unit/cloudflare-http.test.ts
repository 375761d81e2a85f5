/** The Cloudflare transport over node:http: gzip answers, no redirects followed, a cut answer is a connection error. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { send, type HttpConfig } from '../../src/cloudflare/http.js';
import { EpictetusError } from '../../src/model/errors.js';

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<HttpConfig> {
  server = createServer(handler);
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  return { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/client/v4`, apiToken: () => 'tok-0123456789abcdefghij', timeoutMs: 5000, now: Date.now };
}

const ENVELOPE = { success: true, errors: [], messages: [], result: { id: 'abc', status: 'active' } };

describe('Cloudflare transport', () => {
  it('asks for gzip and reads a gzip-compressed answer; sends the token and the JSON body', async () => {
    const seen: Array<{ encoding: string | undefined; auth: string | undefined; body: string }> = [];
    const config = await serve((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => {
        seen.push({ encoding: req.headers['accept-encoding'], auth: req.headers.authorization, body });
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
        res.end(gzipSync(JSON.stringify(ENVELOPE)));
      });
    });
    const statuses: number[] = [];
    const env = await send(config, { method: 'POST', path: '/zones/z/dns_records/batch', body: { posts: [] }, what: 'batch' }, (s) => statuses.push(s));
    expect(env.result).toEqual(ENVELOPE.result);
    expect(statuses).toEqual([200]);
    expect(seen).toEqual([{ encoding: 'gzip', auth: 'Bearer tok-0123456789abcdefghij', body: '{"posts":[]}' }]);
  });

  it('does not follow a redirect (it could carry the token elsewhere)', async () => {
    let elsewhere = 0;
    const config = await serve((req, res) => {
      if (req.url?.startsWith('/elsewhere')) { elsewhere++; res.end('{}'); return; }
      res.writeHead(302, { location: '/elsewhere' });
      res.end();
    });
    const err = await send(config, { method: 'GET', path: '/user/tokens/verify', what: 'verify token' }, () => undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EpictetusError);
    expect((err as EpictetusError).status).toBe(302);
    expect(elsewhere).toBe(0);
  });

  it('an answer cut mid-body is a retryable connection error; a broken gzip body too', async () => {
    let n = 0;
    const config = await serve((_req, res) => {
      n++;
      if (n === 1) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
        res.write('{"success":tr');
        setTimeout(() => res.socket?.destroy(), 20);
      } else {
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
        res.end('not gzip at all');
      }
    });
    for (let i = 0; i < 2; i++) {
      const err = await send(config, { method: 'GET', path: '/zones', what: 'list zones' }, () => undefined).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EpictetusError);
      expect((err as EpictetusError).code).toBe('EPI_CF_CONNECTION');
      expect((err as EpictetusError).retryable).toBe(true);
    }
  });
});
