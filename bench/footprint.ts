/**
 * 5. Footprint: what production installs (the JavaScript the image ships: dist/ without source
 * maps, as the Dockerfile copies it), and a small cluster at rest — 100 realistic nodes, RSS and
 * CPU over 2 minutes in which nothing changes, and the API calls those 2 minutes cost.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { World } from '../src/cli/world.js';
import { isFirstListPage } from './lib/cloudflare-log.js';
import { cpuSeconds, peakRssBytes, rssBytes } from './lib/proc.js';
import { progress, sleep } from './lib/progress.js';
import { Service } from './lib/service.js';
import { mib, round } from './lib/stats.js';
import type { BenchOptions, BenchOutcome, Target } from './lib/types.js';
import { HOSTNAMES, startBenchWorld, stopBenchWorld } from './lib/world.js';
import { settle } from './reaction.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

/** The image's JavaScript: dist/ less source maps (and less the chaos build, which `npm run chaos` adds). */
export function shippedJs(): { bytes: number; files: number; largest: Array<[string, number]> } {
  const dist = join(ROOT, 'dist');
  const js = files(dist).filter((f) => !f.endsWith('.map') && !relative(dist, f).startsWith('chaos'));
  const sized = js.map((f): [string, number] => [relative(ROOT, f), statSync(f).size]).sort((a, b) => b[1] - a[1]);
  const pkg = statSync(join(ROOT, 'package.json')).size;
  return { bytes: sized.reduce((n, [, b]) => n + b, 0) + pkg, files: sized.length + 1, largest: sized.slice(0, 4) };
}

/** Requests each simulator served since the given counts: the API calls a quiet spell costs. */
export function requestsSince(world: World, kube0: number, cf0: number): { kubernetes: Record<string, number>; cloudflare: Record<string, number>; fullSyncs: number } {
  const count = (rs: ReadonlyArray<{ method: string; path: string }>) => {
    const out: Record<string, number> = {};
    for (const r of rs) {
      const key = `${r.method} ${r.path.replace(/[0-9a-f]{32}/g, ':id')}`;
      out[key] = (out[key] ?? 0) + 1;
    }
    return out;
  };
  const cf = world.cloudflare.requests.slice(cf0);
  return { kubernetes: count(world.kube.requests.slice(kube0)), cloudflare: count(cf), fullSyncs: cf.filter(isFirstListPage).length };
}

export async function footprint(opts: BenchOptions): Promise<BenchOutcome> {
  const nodes = 100;
  const idleS = opts.quick ? 10 : 120;
  const install = shippedJs();
  const dependencies = Object.keys((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> }).dependencies ?? {});

  const world = await startBenchWorld({ nodes, realistic: true });
  const service = new Service({ env: world.env });
  try {
    progress(`footprint: ${nodes} realistic nodes; starting the service`);
    const readyMs = await service.waitReady();
    await settle(world, nodes * HOSTNAMES.length, 1000);
    await sleep(2000);
    progress(`footprint: ${idleS} s at rest`);
    const cpu0 = cpuSeconds(service.pid);
    const kube0 = world.kube.requests.length;
    const cf0 = world.cloudflare.requests.length;
    const timeline: Array<[number, number]> = [];
    for (let s = 0; s < idleS; s += 10) {
      await sleep(Math.min(10, idleS - s) * 1000);
      timeline.push([Math.min(s + 10, idleS), mib(rssBytes(service.pid))]);
    }
    const idleCpu = cpuSeconds(service.pid) - cpu0;
    const rss = rssBytes(service.pid);
    const peak = peakRssBytes(service.pid);
    const calls = requestsSince(world, kube0, cf0);
    const cpuLimit = 0.2 * (idleS / 120);
    const targets: Target[] = [
      {
        target: 'the image ships <= 15 MB of JavaScript (dist/ without source maps, package.json; no node_modules)',
        met: install.bytes <= 15e6,
        why: `${round(install.bytes / 1e6, 2)} MB in ${install.files} files`,
      },
      {
        target: `RSS at rest <= 90 MB (${nodes} realistic nodes)`,
        met: rss <= 90e6,
        why: `${round(rss / 1e6, 1)} MB (${mib(rss)} MiB) after ${idleS} s at rest; peak ${round(peak / 1e6, 1)} MB`,
      },
      {
        target: `CPU at rest <= ${round(cpuLimit, 3)} s over ${idleS} s (0.2 s per 2 minutes)`,
        met: idleCpu <= cpuLimit,
        why: `${round(idleCpu, 3)} CPU-seconds, ${calls.fullSyncs} periodic full sync(s) in the window`,
      },
    ];
    return {
      params: { nodes, realistic: true, idleSeconds: idleS, dnsSyncIntervalS: 60, shipped: 'dist/**/*.js and dist/build-info.json as the Dockerfile copies them, plus package.json' },
      results: {
        install: { shippedJsBytes: install.bytes, files: install.files, largest: install.largest, productionDependenciesBundled: dependencies },
        readyMs: round(readyMs),
        idle: { rssMiB: mib(rss), rssMB: round(rss / 1e6, 1), peakRssMiB: mib(peak), cpuSeconds: round(idleCpu, 3), rssTimelineMiB: timeline, requests: calls },
      },
      targets,
    };
  } finally {
    await service.stop();
    await stopBenchWorld(world);
  }
}
