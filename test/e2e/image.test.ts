/**
 * What the image runs, without a Docker engine: the Dockerfile's runtime stage holds dist/ (the
 * bundle, source maps removed) and package.json, nothing else. The same files, copied into an
 * empty folder with no node_modules anywhere on its resolution path, must answer --version and
 * run the service against both simulators; and they weigh what the README says.
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simNodeIp, startWorld, type World } from '../../src/cli/world.js';
import { ServiceProcess, waitFor } from '../helpers/service.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Every file under dir, relative to it. */
function files(dir: string, under = ''): string[] {
  return readdirSync(join(dir, under)).flatMap((f) => {
    const rel = join(under, f);
    return statSync(join(dir, rel)).isDirectory() ? files(dir, rel) : [rel];
  });
}

describe('the image\'s content: the bundle alone', () => {
  let app: string;
  let world: World | undefined;

  beforeAll(() => {
    app = mkdtempSync(join(tmpdir(), 'epictetus-image-'));
    // As the Dockerfile: COPY --from=build /app/dist ./dist (after `find dist -name '*.map' -delete`), COPY package.json ./
    cpSync(join(ROOT, 'dist'), join(app, 'dist'), { recursive: true, filter: (src) => !src.endsWith('.map') && !src.includes(`${join(ROOT, 'dist', 'chaos')}`) });
    cpSync(join(ROOT, 'package.json'), join(app, 'package.json'));
  });

  afterAll(async () => {
    await world?.stop();
    rmSync(app, { recursive: true, force: true });
  });

  it('has no node_modules on its resolution path', () => {
    for (let d = app; ; d = dirname(d)) {
      expect(existsSync(join(d, 'node_modules')), `${d}/node_modules`).toBe(false);
      if (dirname(d) === d) break;
    }
    expect(files(app).filter((f) => f.includes('node_modules'))).toEqual([]);
  });

  it('is JavaScript of at most 15 MB, with the entry point dist/main.js', () => {
    const js = files(app).filter((f) => f.endsWith('.js'));
    expect(js).toContain(join('dist', 'main.js'));
    const bytes = js.reduce((n, f) => n + statSync(join(app, f)).size, 0);
    expect(bytes).toBeLessThanOrEqual(15_000_000);
  });

  it('answers --version with the version and commit the build wrote', () => {
    const info = JSON.parse(readFileSync(join(app, 'dist', 'build-info.json'), 'utf8')) as { version: string; commit: string };
    const out = execFileSync(process.execPath, ['dist/main.js', '--version'], { cwd: app, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
    expect(out).toBe(`epictetus ${info.version} (commit ${info.commit})\n`);
  });

  it('runs the service against both simulators, in one process with 8 MB V8 semi-spaces and a heap limit twice what is live', async () => {
    world = await startWorld({ nodes: 2 });
    const w = world;
    const proc = spawn(process.execPath, ['dist/main.js', 'run'], {
      cwd: app, stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '', LOG_FORMAT: 'json', HEALTH_PORT: '0', LOG_LEVEL: 'debug', ...w.env },
    });
    const service = new ServiceProcess(proc);
    try {
      await service.waitReady(30_000);
      // --expose-gc too: the collection after the first full sync ran (src/util/gc.ts).
      await waitFor(() => service.logs.some((l) => l.msg === 'collected the garbage of a full sync') || undefined, 10_000, 'the collection after the first full sync');
      const records = () => w.cloudflare.records(w.zoneId).filter((r) => r.name === w.hostnames[0] && r.type === 'A').map((r) => r.content).sort();
      await waitFor(() => JSON.stringify(records()) === JSON.stringify([simNodeIp(1), simNodeIp(2)].sort()) || undefined, 15_000, 'both records');
      // Re-executed in place: the same process, now with the flag (src/main.ts).
      const cmdline = readFileSync(`/proc/${proc.pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
      expect(cmdline).toContain('--max-semi-space-size=8');
      expect(cmdline).toContain('--expose-gc');
      expect(cmdline).toContain('--heap-growing-percent=100');
      expect(cmdline.slice(-2)).toEqual([join(app, 'dist', 'main.js'), 'run']);
      expect(readFileSync(`/proc/${proc.pid}/environ`, 'utf8').split('\0')).toEqual(expect.arrayContaining(['MALLOC_ARENA_MAX=2', 'MALLOC_MMAP_THRESHOLD_=131072']));
      expect(await service.stop('SIGTERM')).toBe(0);
      expect(service.stderr).toEqual([]);
    } finally {
      await service.stop('SIGKILL');
    }
  });
});
