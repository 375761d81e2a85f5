#!/usr/bin/env node
/**
 * The entry point: checks the Node.js version, picks the command, turns SIGTERM/SIGINT into an
 * AbortSignal. Only dynamic imports here: a static one would be loaded before the check, and
 * the dependencies crash on older Node.js with errors that do not say why.
 */
// Types only: erased from the output, so nothing is loaded before the check.
import type { Command, CommandOptions } from './cli/usage.js';

/** Keep in step with package.json `engines.node` (a test checks). */
const NODE_MAJOR_NEEDED = 24;

if (Number(process.versions.node.split('.')[0]) < NODE_MAJOR_NEEDED) {
  process.stderr.write(`epictetus: needs Node.js ${NODE_MAJOR_NEEDED} LTS or newer, but this is Node.js ${process.versions.node} (${process.execPath}); `
    + `\`npm start\` and \`npx epictetus\` use the Node.js ${NODE_MAJOR_NEEDED} that \`npm ci\` installed (the node@${NODE_MAJOR_NEEDED} devDependency)\n`);
  process.exit(1);
}

/**
 * V8 lets the young generation grow to 32 MB semi-spaces under a steady allocation rate (a list
 * of thousands of Nodes, heartbeats): ~100 MB of RSS that holds mostly garbage, while what the
 * service keeps is a few tens of MB. 8 MB semi-spaces took the start-up peak at 5,000 realistic
 * Nodes from 236 to 131 MiB with the same time to ready (bench/README.md). The flag only takes
 * effect at start, so `run` re-executes itself with it (same PID, same arguments, same
 * environment) unless it was given one already. The new image also gets MALLOC_ARENA_MAX=2
 * unless set: glibc otherwise keeps up to 8 malloc arenas per core for V8's and libuv's threads,
 * each holding freed memory (at 5,000 nodes under heartbeats, RSS after the second periodic full
 * sync 141 MiB with it, 155 MiB without, in one run each), and MALLOC_MMAP_THRESHOLD_=131072:
 * glibc otherwise raises that threshold after freeing one large block (a Cloudflare list page's
 * text), then serves large blocks from its main heap and keeps them when freed (at 5,000 nodes,
 * that heap grew from 8 to 18 MiB over 2 minutes of heartbeats, to 10 MiB with it), and
 * `--expose-gc`, for the collection after a large full sync (src/util/gc.ts), and
 * `--heap-growing-percent=100`: V8 starts marking the old generation once what is left below its
 * limit is no more than the young generation's capacity, and under a steady allocation rate
 * (thousands of heartbeats a second) it may grow the limit by the smallest step, 8 MB plus that
 * capacity, which leaves exactly that: at 8 MB semi-spaces it then ran one full collection after
 * another, ~4 a second, each freeing nothing, for tens of seconds (--trace-incremental-marking:
 * "size 15MB, limit 31MB, slack 16MB"). A limit of twice what is live leaves the margin.
 */
const SEMI_SPACE_FLAG = '--max-semi-space-size';
const SEMI_SPACE_MB = 8;
const HEAP_GROWING_FLAG = '--heap-growing-percent=100';

function reexecWithRuntimeFlags(argv: readonly string[]): void {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((a) => a.startsWith(SEMI_SPACE_FLAG));
  const script = process.argv[1];
  if (given || typeof process.execve !== 'function' || script === undefined) return;
  try {
    process.execve(process.execPath, [process.execPath, `${SEMI_SPACE_FLAG}=${SEMI_SPACE_MB}`, '--expose-gc', HEAP_GROWING_FLAG, ...process.execArgv, script, ...argv],
      { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072', ...process.env });
  } catch {
    // Not replaced (a platform without execve): carry on with V8's defaults.
  }
}

async function main(argv: string[]): Promise<number> {
  if ((argv[0] ?? 'run') === 'run' && !argv.includes('--help') && !argv.includes('-h')) reexecWithRuntimeFlags(argv);
  const { COMMANDS, USAGE, commandArgs, isCommand } = await import('./cli/usage.js');
  const [first = 'run', ...rest] = argv;
  if (first === '--version' || first === '-V') {
    process.stdout.write(`${(await import('./cli/version.js')).versionLine()}\n`);
    return 0;
  }
  if (first === '--help' || first === '-h') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!isCommand(first)) {
    process.stderr.write(`epictetus: unknown ${first.startsWith('-') ? 'option' : 'command'} "${first}"\n\n${USAGE}`);
    return 2;
  }
  const abort = new AbortController();
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => abort.abort(sig));
  /** Arguments are checked (and --help answered) before the command's module is loaded. */
  const withArgs = async <C extends Command>(command: C, go: (options: CommandOptions<C>) => Promise<number>) => {
    const options = commandArgs(command, rest);
    return typeof options === 'number' ? options : go(options);
  };
  switch (first) {
    case 'run':
      return withArgs('run', async () => (await import('./cli/run.js')).runCommand(process.env, process.cwd(), abort.signal));
    case 'plan':
      return withArgs('plan', async (options) => (await import('./cli/plan.js')).planCommand(options, process.env, process.cwd()));
    case 'sim':
      return withArgs('sim', async (options) => (await import('./cli/sim.js')).simCommand(options, abort.signal));
    case 'demo':
      return withArgs('demo', async () => (await import('./cli/demo.js')).demoCommand(abort.signal));
    case 'help': {
      const [topic, ...more] = rest;
      if (topic === undefined) process.stdout.write(USAGE);
      else if (topic === '--help' || topic === '-h') process.stdout.write(COMMANDS.help.usage);
      else if (isCommand(topic) && more.length === 0) process.stdout.write(COMMANDS[topic].usage);
      else {
        process.stderr.write(`epictetus help: no command "${rest.join(' ')}"\n\n${USAGE}`);
        return 2;
      }
      return 0;
    }
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`epictetus: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(70);
  },
);
