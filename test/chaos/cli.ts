/**
 * `npm run chaos -- --seconds N --seed S [--mode pair|single] [--nodes K] [--converge-timeout SECONDS]`
 *
 * `--mode single` runs one replica with LEADER_ELECTION=false (docker-compose's default) instead of
 * two with leader election; `--known-bugs` includes the faults that hit known product bugs (soak.ts);
 * EPICTETUS_CHAOS_MAIN=<path/to/main.js> runs another build of the service.
 *
 * Runs the chaos soak (soak.ts), prints one JSON summary on stdout and progress on stderr, and
 * exits 1 on any violation (after printing the seed and the event trail that led to it), 2 on a
 * usage error.
 */
import { CHURN, FAULTS, runSoak, type ActionKind, type SoakMode } from './soak.js';

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: npm run chaos -- --seconds N [--seed S] [--mode pair|single] [--nodes K] [--converge-timeout SECONDS] [--weights kind=w,…] [--known-bugs] [--no-trail-file]\n`);
  process.exit(2);
}

interface Args { seconds: number; seed: number; mode: SoakMode; knownBugs: boolean; nodes: number; convergeTimeoutMs: number; trailFile: boolean; weights: Partial<Record<ActionKind, number>> }

function parse(argv: readonly string[]): Args {
  const out: Args = { seconds: 60, seed: Math.floor(Math.random() * 2 ** 31), mode: 'pair', knownBugs: false, nodes: 10, convergeTimeoutMs: 180_000, trailFile: true, weights: {} };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v < 0) usage(`${arg} needs a non-negative number`);
      return v;
    };
    if (arg === '--seconds') out.seconds = value();
    else if (arg === '--seed') out.seed = Math.floor(value());
    else if (arg === '--mode') {
      const m = argv[++i];
      if (m !== 'pair' && m !== 'single') usage('--mode takes pair or single');
      out.mode = m;
    } else if (arg === '--nodes') out.nodes = Math.max(3, Math.floor(value()));
    else if (arg === '--converge-timeout') out.convergeTimeoutMs = value() * 1000;
    else if (arg === '--no-trail-file') out.trailFile = false;
    else if (arg === '--known-bugs') out.knownBugs = true;
    else if (arg === '--weights') {
      for (const pair of (argv[++i] ?? '').split(',')) {
        const [k, v] = pair.split('=');
        if (k === undefined || !(k in CHURN || k in FAULTS) || !Number.isFinite(Number(v))) usage(`--weights takes kind=number,… with kinds ${[...Object.keys(CHURN), ...Object.keys(FAULTS)].join(' ')}`);
        out.weights[k as ActionKind] = Number(v);
      }
    }
    else usage(`unknown argument ${arg}`);
  }
  return out;
}

const args = parse(process.argv.slice(2));
const report = await runSoak({
  seconds: args.seconds, seed: args.seed, mode: args.mode, knownBugs: args.knownBugs, nodes: args.nodes, convergeTimeoutMs: args.convergeTimeoutMs, weights: args.weights,
  ...(args.trailFile ? {} : { trailFile: false as const }),
  progress: (line) => process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}\n`),
});
const { trails, ...summary } = report;
if (!report.ok) {
  process.stderr.write(`\nCHAOS SOAK FAILED — seed ${report.seed} (rerun: npm run chaos -- --seconds ${report.seconds} --seed ${report.seed} --mode ${report.mode} --nodes ${report.nodes}${args.knownBugs ? ' --known-bugs' : ''})\n`);
  if (!report.converged) process.stderr.write(`the records did not converge within ${args.convergeTimeoutMs / 1000} s after the driver stopped\n`);
  report.violations.slice(0, trails.length).forEach((v, i) => {
    process.stderr.write(`\n=== violation ${i + 1}: [${v.invariant}] ${v.message}\n--- trail (seed ${report.seed}) ---\n${(trails[i] ?? []).join('\n')}\n`);
  });
  if (report.trailFile) process.stderr.write(`\nwhole trail: ${report.trailFile}\n`);
}
process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
process.exit(report.ok ? 0 : 1);
