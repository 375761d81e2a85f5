/** The health server's port taken or forbidden: the service says which and what to change, and exits 1. */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { startWorld, type World } from '../../src/cli/world.js';
import { bundleEntry } from '../helpers/bundle.js';
import { startService, type ServiceProcess } from '../helpers/service.js';

let world: World | undefined;
let service: ServiceProcess | undefined;
let blocker: Server | undefined;

afterEach(async () => {
  await service?.stop('SIGKILL');
  await world?.stop();
  await new Promise((r) => (blocker ? blocker.close(r) : r(undefined)));
  service = undefined;
  world = undefined;
  blocker = undefined;
});

/** Whether a port below 1024 is refused to an unprivileged process here (root runs the check as nobody). */
function privilegedPortsProtected(): boolean {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8')) > 80;
  } catch {
    return false;
  }
}

describe('the health port', () => {
  it('in use: EPI_PORT_IN_USE in the log, naming the address and HEALTH_PORT, and exit 1', async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker!.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    world = await startWorld({ nodes: 1 });
    service = startService({ ...world.env, HEALTH_PORT: String(port), HEALTH_BIND_ADDRESS: '127.0.0.1' });
    expect(await service.exit).toBe(1);
    const line = service.logs.find((l) => l.code === 'EPI_PORT_IN_USE');
    expect(line?.msg).toContain(`127.0.0.1:${port}`);
    expect(line?.msg).toContain('HEALTH_PORT=0 picks a free one');
    expect(service.logs.some((l) => l.code === 'EPI_UNEXPECTED')).toBe(false);
    expect(service.stderr).toEqual([]);
  });

  it.skipIf(!privilegedPortsProtected() || process.platform !== 'linux')('below 1024 without privilege: EPI_PORT_DENIED, saying why', async (ctx) => {
    // The listen() the service uses, bundled as the service is, in a process of its own, as nobody when these tests run as root.
    const bundled = await bundleEntry(fileURLToPath(new URL('../../src/server/server.ts', import.meta.url)));
    onTestFinished(() => rmSync(bundled.dir, { recursive: true, force: true }));
    const server = pathToFileURL(bundled.file).href;
    const script = `import { listen } from ${JSON.stringify(server)};
      listen(() => undefined, 80, '127.0.0.1').then(() => { console.log('listening'); process.exit(3); },
        (e) => { console.log(JSON.stringify({ code: e.code, message: e.message })); process.exit(0); });`;
    const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000, ...asNobody });
    // A checkout under a directory nobody may enter (mktemp -d makes it 0700) leaves nobody no Node.js to run.
    if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'EACCES') ctx.skip(`nobody cannot run ${process.execPath} (a parent directory is closed to it)`);
    expect(r.error).toBeUndefined();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const err = JSON.parse(r.stdout) as { code: string; message: string };
    expect(err.code).toBe('EPI_PORT_DENIED');
    expect(err.message).toContain('127.0.0.1:80');
    expect(err.message).toContain('ports below 1024 need privileges');
    expect(err.message).toContain('HEALTH_PORT to 1024 or above');
  });
});
