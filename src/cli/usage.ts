/** What each command accepts, and the one argument parser that answers --help and refuses the rest. */
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';

export const USAGE = `usage: epictetus [command] [options]
       epictetus --version   (or -V) the version and the commit it was built from
       epictetus --help      (or -h) this text

commands:
  run    keep Cloudflare DNS records in step with the cluster's nodes (default)
  plan   read the cluster and the zones once and show the changes run would make
  sim    start the Kubernetes and Cloudflare simulators and print how to point the service at them
  demo   start both simulators and the service, and play a scale-down story against them
  help   show this text, or a command's: epictetus help plan

Every command answers --help. Settings come from environment variables (and .env in the
current directory): see the README's settings table.
`;

export const COMMANDS = {
  run: {
    usage: `usage: epictetus run

Keeps Cloudflare DNS records in step with the cluster's nodes until SIGTERM or Ctrl-C.
Settings come from environment variables (and .env in the current directory).

exit 0: stopped by a signal; 1: a fatal error (logged, with its EPI_* code);
     2: invalid settings or arguments
`,
    options: {},
  },
  plan: {
    usage: `usage: epictetus plan [--json]

Reads the cluster and the zones once, with run's settings, and shows the changes run would
make and the records it would leave alone (another owner's, or not a cluster address).
Writes nothing.

  --json   the plan as one JSON object

exit 0: no change; 2: changes; 1: could not tell (an error, or bad arguments)
`,
    options: { json: { type: 'boolean', default: false } },
    // 2 means "changes" here: bad arguments are its 1, "could not tell".
    badUsageExit: 1,
  },
  sim: {
    usage: `usage: epictetus sim [--nodes N] [--zone NAME] [--hostnames LIST]

Starts a simulated Kubernetes API and a simulated Cloudflare API (with a DNS server on
127.0.0.1) and prints the variables that point the service at them. Ctrl-C stops them.

  --nodes N          simulated nodes, 0–10000 (default 3)
  --zone NAME        the simulated zone (default example.com)
  --hostnames LIST   comma-separated hostnames (default app.<zone>)

exit 0: stopped by Ctrl-C; 2: bad arguments
`,
    options: {
      nodes: { type: 'string', default: '3' },
      zone: { type: 'string', default: 'example.com' },
      hostnames: { type: 'string' },
    },
  },
  demo: {
    usage: `usage: epictetus demo

Starts both simulators and the service, plays a scale-down story, and shows after each step
what a DNS query answers.

exit 0: every step showed the expected answer; 1: a step did not; 2: bad arguments
`,
    options: {},
  },
  help: {
    usage: `usage: epictetus help [command]

Shows the commands, or one command's usage.
`,
    // Its one argument, the command, is read by main.
    options: {},
  },
} as const satisfies Record<string, { usage: string; options: ParseArgsOptionsConfig; badUsageExit?: number }>;

export type Command = keyof typeof COMMANDS;

export function isCommand(name: string): name is Command {
  return Object.hasOwn(COMMANDS, name);
}

/** Node's "Unknown option '--x'. To specify a positional argument…" cut to its first sentence. */
function shortReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const first = message.split(/\.\s/)[0] ?? message;
  return first.charAt(0).toLowerCase() + first.slice(1);
}

export type CommandOptions<C extends Command> =
  ReturnType<typeof parseArgs<{ args: string[]; options: (typeof COMMANDS)[C]['options']; strict: true; allowPositionals: false }>>['values'];

/**
 * Parses a command's arguments before its module is loaded. `--help`/`-h` anywhere before `--`
 * prints its usage (exit 0); an unknown option or a stray argument prints what is wrong and the
 * usage on stderr (exit 2, plan's 1). Returns the options' values, or the exit code to stop with.
 */
export function commandArgs<C extends Command>(command: C, argv: readonly string[]): CommandOptions<C> | number {
  const spec: { usage: string; options: ParseArgsOptionsConfig; badUsageExit?: number } = COMMANDS[command];
  const end = argv.indexOf('--');
  if ((end === -1 ? argv : argv.slice(0, end)).some((a) => a === '--help' || a === '-h')) {
    process.stdout.write(spec.usage);
    return 0;
  }
  try {
    return parseArgs({ args: [...argv], options: spec.options, strict: true, allowPositionals: false }).values as CommandOptions<C>;
  } catch (err) {
    process.stderr.write(`epictetus ${command}: ${shortReason(err)}\n\n${spec.usage}`);
    return spec.badUsageExit ?? 2;
  }
}
