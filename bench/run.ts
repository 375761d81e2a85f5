/**
 * `npm run bench [-- --quick] [-- --only reaction,api]`: every benchmark, one JSON document
 * on stdout, progress on stderr. See bench/README.md.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { apiEconomy } from './api-economy.js';
import { endpointDetection, healthCheckCost, probeDetection } from './health-checks.js';
import { footprint } from './footprint.js';
import { progress } from './lib/progress.js';
import type { BenchOptions, BenchOutcome, BenchReport } from './lib/types.js';
import { reactionLatency } from './reaction.js';
import { sideBySide } from './side-by-side.js';
import { memoryAndStorm } from './scale.js';

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

const load = (): number[] => os.loadavg().map((l) => Math.round(l * 100) / 100);

/** Runs one benchmark (which may report several parts) and adds its duration and the load around it. */
async function measure(name: string, fn: () => Promise<Record<string, BenchOutcome>>, parts: readonly string[]): Promise<Record<string, BenchReport>> {
  const start = load();
  const t0 = performance.now();
  progress(`${name}: start (load average ${start.join(' ')})`);
  const done = () => ({ durationS: Math.round((performance.now() - t0) / 100) / 10, loadavg: { start, end: load() } });
  try {
    const outcomes = await fn();
    const reports: Record<string, BenchReport> = {};
    for (const [part, outcome] of Object.entries(outcomes)) {
      for (const t of outcome.targets) progress(`${part}: ${t.met ? 'MET   ' : 'MISSED'} ${t.target}${t.why ? ` — ${t.why}` : ''}`);
      reports[part] = { ...outcome, ...done() };
    }
    return reports;
  } catch (err) {
    progress(`${name}: FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return Object.fromEntries(parts.map((p) => [p, { ...done(), error: String(err) }]));
  }
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const value = (name: string): string | undefined => {
    const i = argv.findIndex((a) => a === name || a.startsWith(`${name}=`));
    const a = argv[i];
    return a === undefined ? undefined : a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[i + 1];
  };
  const runSeconds = value('--run-seconds');
  const opts: BenchOptions = { quick: argv.includes('--quick'), ...(runSeconds ? { runSeconds: Number(runSeconds) } : {}) };
  const only = value('--only')?.split(',');
  const benches: Array<{ name: string; parts: string[]; run: () => Promise<Record<string, BenchOutcome>> }> = [
    { name: 'reactionLatency', parts: ['reactionLatency'], run: async () => ({ reactionLatency: await reactionLatency(opts) }) },
    { name: 'apiEconomy', parts: ['apiEconomy'], run: async () => ({ apiEconomy: await apiEconomy(opts) }) },
    // One cluster of realistic nodes serves both: memory and start-up, then the event storm.
    { name: 'memoryAndStartup+eventStorm', parts: ['memoryAndStartup', 'eventStorm'], run: () => memoryAndStorm(opts) },
    { name: 'probeDetection', parts: ['probeDetection'], run: async () => ({ probeDetection: await probeDetection(opts) }) },
    { name: 'endpointDetection', parts: ['endpointDetection'], run: async () => ({ endpointDetection: await endpointDetection(opts) }) },
    { name: 'healthCheckCost', parts: ['healthCheckCost'], run: async () => ({ healthCheckCost: await healthCheckCost(opts) }) },
    { name: 'footprint', parts: ['footprint'], run: async () => ({ footprint: await footprint(opts) }) },
    { name: 'sideBySide', parts: ['sideBySide'], run: async () => ({ sideBySide: await sideBySide(opts) }) },
  ];
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const loadStart = load();
  const benchmarks: Record<string, BenchReport> = {};
  for (const b of benches) {
    if (only && !b.parts.some((p) => only.includes(p))) continue;
    Object.assign(benchmarks, await measure(b.name, b.run, b.parts));
  }
  const cpus = os.cpus();
  const doc = {
    schema: 'epictetus-bench/1',
    mode: opts.quick ? 'quick' : 'full',
    ...(opts.quick ? { note: 'quick mode: sizes far below the targets\' scale; it proves the benchmarks run, its figures and verdicts mean little' } : {}),
    command: `npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`,
    startedAt,
    durationS: Math.round((performance.now() - t0) / 100) / 10,
    machine: {
      cpus: cpus.length,
      cpuModel: cpus[0]?.model ?? null,
      memoryMiB: Math.round(os.totalmem() / 1024 / 1024),
      platform: `${os.platform()} ${os.release()}`,
      loadavg: { start: loadStart, end: load() },
    },
    node: process.version,
    git: { commit: git(['rev-parse', 'HEAD']), dirty: (git(['status', '--porcelain']) ?? '') !== '' },
    benchmarks,
    summary: Object.fromEntries(Object.entries(benchmarks).map(([name, b]) => [name, b.error
      ? 'error'
      : `${(b.targets ?? []).filter((t) => t.met).length}/${(b.targets ?? []).length} targets met`])),
  };
  process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  return Object.values(benchmarks).some((b) => b.error !== undefined) ? 1 : 0;
}

process.exitCode = await main();
