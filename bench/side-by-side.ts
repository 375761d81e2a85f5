/**
 * 6. Side by side with external-dns v0.22 (node source, Cloudflare provider), each against its
 * own pair of simulators with the same 100 realistic nodes and the same three hostnames: RSS and
 * CPU at rest, API calls per idle sync, CPU per heartbeat event, and the time from a Node's
 * deletion to the deletion of its records. The binary is built from the Go module proxy by
 * bench/external-dns/build.sh into .cache/ (git-ignored); without it this benchmark says why
 * and reports Epictetus alone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { World } from '../src/cli/world.js';
import { kindOf } from './lib/cloudflare-log.js';
import { heartbeats } from './lib/heartbeat.js';
import { cpuSeconds, rssBytes } from './lib/proc.js';
import { progress, sleep, waitFor } from './lib/progress.js';
import { Service } from './lib/service.js';
import { mib, round, summarize, type Summary } from './lib/stats.js';
import type { BenchOptions, BenchOutcome, Target } from './lib/types.js';
import { HOSTNAMES, nodeIp, nodeName, startBenchWorld, stopBenchWorld } from './lib/world.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const EXTERNAL_DNS_VERSION = 'v0.22.0';
export const EXTERNAL_DNS = join(ROOT, '.cache', 'external-dns', EXTERNAL_DNS_VERSION, 'external-dns');

/** What either controller looks like to the benchmark: a process to measure, stopped at the end. */
interface Controller {
  readonly name: string;
  readonly pid: number;
  stop(): Promise<void>;
}

function epictetus(world: World): Controller & { ready: () => Promise<number> } {
  const s = new Service({ env: world.env });
  return { name: 'epictetus', pid: s.pid, stop: async () => { await s.stop(); }, ready: () => s.waitReady() };
}

/**
 * external-dns as its documentation runs it for Cloudflare, reacting to events (--events), its
 * Cloudflare client pointed at the simulator through CLOUDFLARE_BASE_URL (cloudflare-go v7's
 * DefaultClientOptions read it) and its Kubernetes client at the simulator's kubeconfig. One
 * name template per hostname: the node source merges every node's addresses under each name.
 */
function externalDns(world: World): Controller & { log: () => string } {
  const dir = mkdtempSync(join(tmpdir(), 'epictetus-bench-edns-'));
  const out = openSync(join(dir, 'log'), 'w');
  const proc: ChildProcess = spawn(EXTERNAL_DNS, [
    '--source=node', '--provider=cloudflare', `--kubeconfig=${world.kubeconfigPath}`,
    `--fqdn-template=${HOSTNAMES.join(',')}`, '--domain-filter=example.com', `--zone-id-filter=${world.zoneId}`,
    '--txt-owner-id=external-dns', '--policy=sync', '--events', '--metrics-address=127.0.0.1:0', '--log-level=info',
  ], {
    env: { PATH: process.env.PATH ?? '', HOME: dir, CF_API_TOKEN: world.token, CLOUDFLARE_BASE_URL: `${world.env.CLOUDFLARE_API_BASE_URL}/` },
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  if (proc.pid === undefined) throw new Error('external-dns did not start');
  return {
    name: 'external-dns', pid: proc.pid,
    log: () => readFileSync(join(dir, 'log'), 'utf8'),
    stop: async () => {
      proc.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000)]);
      proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A-record contents on every hostname. */
function aRecords(world: World): string[] {
  return world.cloudflare.records(world.zoneId).filter((r) => r.type === 'A').map((r) => `${r.name} ${r.content}`);
}

interface Figures {
  readonly rssAtRestMiB: number;
  readonly cpuAtRestS: number;
  readonly restS: number;
  readonly idleSyncs: number;
  readonly cloudflareCallsPerIdleSync: number | null;
  readonly kubernetesCallsAtRest: number;
  readonly heartbeatEvents: number;
  readonly cpuPer1000EventsS: number;
  readonly deletionToRecordsGoneMs: Summary;
}

async function measure(make: (w: World) => Controller & { ready?: () => Promise<number>; log?: () => string }, opts: BenchOptions): Promise<Figures> {
  const nodes = 100;
  const restS = opts.quick ? 20 : 120;
  const beatS = opts.quick ? 10 : 30;
  const deletions = opts.quick ? 2 : 5;
  const world = await startBenchWorld({ nodes, realistic: true });
  const c = make(world);
  try {
    progress(`side by side: ${c.name} with ${nodes} realistic nodes`);
    if (c.ready) await c.ready();
    await waitFor(() => aRecords(world).length === nodes * HOSTNAMES.length || undefined, 120_000,
      `${c.name}: ${nodes * HOSTNAMES.length} A records${c.log ? ` (log: ${c.log().slice(-500)})` : ''}`, 100);
    await waitFor(() => {
      const last = world.cloudflare.requests.at(-1);
      return last === undefined || Date.now() - last.at >= 2000;
    }, 60_000, 'the Cloudflare API to be quiet', 100);

    // At rest: nothing changes.
    const cpu0 = cpuSeconds(c.pid);
    const cf0 = world.cloudflare.requests.length;
    const kube0 = world.kube.requests.length;
    await sleep(restS * 1000);
    const cpuAtRest = cpuSeconds(c.pid) - cpu0;
    const rss = rssBytes(c.pid);
    const idle = world.cloudflare.requests.slice(cf0);
    // A sync is one listing of the zone's records (page 1 or the only page).
    const syncs = idle.filter((r) => kindOf(r) === 'list-records' && (new URLSearchParams(r.query).get('page') ?? '1') === '1').length;

    // Heartbeats: every node every second.
    const cpu1 = cpuSeconds(c.pid);
    const run = await heartbeats(world.kube, nodes, nodes, beatS * 1000);
    await sleep(2000);
    const beatCpu = cpuSeconds(c.pid) - cpu1;

    // Deletions: a Node object goes; how long until its A records are gone from every hostname.
    const samples: number[] = [];
    for (let k = 0; k < deletions; k++) {
      const i = k + 1;
      const t0 = performance.now();
      world.kube.deleteNode(nodeName(i));
      await waitFor(() => !aRecords(world).some((r) => r.endsWith(` ${nodeIp(i)}`)) || undefined, 120_000, `${c.name}: records of ${nodeName(i)} deleted`, 5);
      samples.push(performance.now() - t0);
      await sleep(opts.quick ? 1000 : 6000); // past external-dns's minimum interval between event-driven syncs
    }
    return {
      rssAtRestMiB: mib(rss), cpuAtRestS: round(cpuAtRest, 3), restS, idleSyncs: syncs,
      cloudflareCallsPerIdleSync: syncs > 0 ? round(idle.length / syncs, 2) : null,
      kubernetesCallsAtRest: world.kube.requests.length - kube0,
      heartbeatEvents: run.events, cpuPer1000EventsS: round(beatCpu / (run.events / 1000), 3),
      deletionToRecordsGoneMs: summarize(samples),
    };
  } finally {
    await c.stop();
    await stopBenchWorld(world);
  }
}

export async function sideBySide(opts: BenchOptions): Promise<BenchOutcome> {
  const ours = await measure(epictetus, opts);
  if (!existsSync(EXTERNAL_DNS)) {
    return {
      params: { externalDns: EXTERNAL_DNS_VERSION },
      results: { epictetus: { ...ours }, externalDns: null, why: `no external-dns binary at ${EXTERNAL_DNS}: run bash bench/external-dns/build.sh (Go and the Go module proxy; see bench/README.md)` },
      targets: [],
    };
  }
  const theirs = await measure(externalDns, opts);
  const ratio = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? null : round(a / b, 2));
  const ratios = {
    rssAtRest: ratio(ours.rssAtRestMiB, theirs.rssAtRestMiB),
    cpuAtRest: ratio(ours.cpuAtRestS, theirs.cpuAtRestS),
    cloudflareCallsPerIdleSync: ratio(ours.cloudflareCallsPerIdleSync, theirs.cloudflareCallsPerIdleSync),
    cpuPerEvent: ratio(ours.cpuPer1000EventsS, theirs.cpuPer1000EventsS),
    deletionToRecordsGoneP50: ratio(ours.deletionToRecordsGoneMs.p50, theirs.deletionToRecordsGoneMs.p50),
  };
  const targets: Target[] = [];
  return {
    params: {
      nodes: 100, realistic: true, hostnames: HOSTNAMES.length, externalDns: EXTERNAL_DNS_VERSION,
      externalDnsArgs: '--source=node --provider=cloudflare --fqdn-template=<3 hostnames> --domain-filter --zone-id-filter --txt-owner-id --policy=sync --events (defaults otherwise: --interval=1m, --min-event-sync-interval=5s, TXT registry, 100 records per page)',
      epictetusSettings: 'defaults (DNS_SYNC_INTERVAL=60)',
      ratios: 'epictetus / external-dns',
    },
    results: { epictetus: { ...ours }, externalDns: { ...theirs }, ratios },
    targets,
  };
}
