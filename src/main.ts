#!/usr/bin/env node
/** The only wiring point: picks the command, turns SIGTERM/SIGINT into an AbortSignal. */
import { runCommand } from './cli/run.js';

const USAGE = `usage: epictetus [command]

commands:
  run    keep Cloudflare DNS records in step with the cluster's nodes (default)
  plan   read the cluster and the zones once and show the changes run would make
         (--json for a machine-readable plan); exit 0: no change, 2: changes, 1: error
  sim    start the Kubernetes and Cloudflare simulators and print how to point the service at them
  demo   start both simulators and the service, and play a scale-down story against them
  help   show this text
`;

async function main(argv: string[]): Promise<number> {
  const [command = 'run', ...rest] = argv;
  const abort = new AbortController();
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => abort.abort(sig));
  switch (command) {
    case 'run':
      return runCommand(process.env, process.cwd(), abort.signal);
    case 'plan':
      return (await import('./cli/plan.js')).planCommand(rest, process.env, process.cwd());
    case 'sim':
      return (await import('./cli/sim.js')).simCommand(rest, abort.signal);
    case 'demo':
      return (await import('./cli/demo.js')).demoCommand(rest, abort.signal);
    case 'help': case '--help': case '-h':
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(`epictetus: unknown command "${command}"\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`epictetus: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(70);
  },
);
