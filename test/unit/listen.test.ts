/** listen() turns the errors of a port it cannot have into one clear EpictetusError naming the setting. */
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EpictetusError } from '../../src/model/errors.js';
import { listen } from '../../src/server/server.js';

const handler = () => undefined;
const opened: Server[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function occupy(host: string): Promise<number> {
  const s = createServer();
  opened.push(s);
  await new Promise<void>((resolve) => s.listen(0, host, resolve));
  return (s.address() as { port: number }).port;
}

async function failure(port: number, host?: string): Promise<EpictetusError> {
  const err = await listen(handler, port, host).then((l) => { opened.push(l.server); return undefined; }, (e: unknown) => e);
  expect(err).toBeInstanceOf(EpictetusError);
  return err as EpictetusError;
}

describe('listen', () => {
  it('a port in use: EPI_PORT_IN_USE, naming the address and the settings that change it', async () => {
    const port = await occupy('127.0.0.1');
    const err = await failure(port, '127.0.0.1');
    expect(err.code).toBe('EPI_PORT_IN_USE');
    expect(err.message).toContain(`127.0.0.1:${port}`);
    expect(err.message).toContain('another process is using it');
    for (const s of ['HEALTH_PORT', 'HEALTH_PORT=0', 'HEALTH_BIND_ADDRESS']) expect(err.message).toContain(s);
    expect(err.retryable).toBe(false);
  });

  it('shows an IPv6 address in brackets', async () => {
    const port = await occupy('::1');
    const err = await failure(port, '::1');
    expect(err.code).toBe('EPI_PORT_IN_USE');
    expect(err.message).toContain(`[::1]:${port}`);
  });

  it('an address this host does not have: EPI_BIND_ADDRESS (a failed bind; nothing is sent)', async () => {
    const err = await failure(0, '192.0.2.1');
    expect(err.code).toBe('EPI_BIND_ADDRESS');
    expect(err.message).toContain('192.0.2.1 is not an address of this host');
    expect(err.message).toContain('HEALTH_BIND_ADDRESS');
  });

  it('a free port still listens', async () => {
    const l = await listen(handler, 0, '127.0.0.1');
    opened.push(l.server);
    expect(l.port).toBeGreaterThan(0);
  });
});
