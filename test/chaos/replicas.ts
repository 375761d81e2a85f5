/** The service's replicas as separate processes: start, SIGKILL, SIGSTOP/SIGCONT, exits and RSS. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The project root, from the source tree (test/chaos) or the compiled one (dist/chaos/test/chaos). */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name === 'epictetus') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the epictetus project root');
    dir = up;
  }
}

/**
 * The service the replicas run: this tree's build, or another build named by EPICTETUS_CHAOS_MAIN
 * (a scratch copy with one fix reverted, an older commit) so the soak can be tried against it.
 */
export const MAIN = process.env.EPICTETUS_CHAOS_MAIN || join(projectRoot(), 'dist', 'main.js');

export interface Incarnation {
  readonly tag: string;
  readonly n: number;
  readonly pid: number;
  readonly startedAt: number;
  identity: string | undefined;
  /** The health server's port, once it said it listens. */
  healthPort: number | undefined;
  /** Past the token verification (the last step of start-up before the watches and the loop). */
  startedUp: boolean;
  exitedAt: number | undefined;
  exitCode: number | null | undefined;
  exitSignal: NodeJS.Signals | null | undefined;
  /** Why we ended it, if we did: an exit without one is a crash. */
  endedBy: 'sigkill' | 'sigterm' | undefined;
  paused: boolean;
  /** [ms epoch, RSS kB] every couple of seconds. */
  readonly rss: Array<[number, number]>;
  /** The last log lines (stdout JSON and stderr), for the trail. */
  readonly tail: string[];
  readonly counters: Record<string, number>;
  readonly exited: Promise<void>;
}

const TAIL = 80;
const COUNTED: Array<[string, RegExp]> = [
  ['becameLeader', /^became the leader/],
  ['stoppedLeading', /^stopped leading/],
  ['lostLeadershipMidReconcile', /^lost the leadership during a reconcile/],
  ['reconcileFailed', /^reconcile failed/],
  ['cloudflareRetries', /^Cloudflare call failed; retrying/],
  ['safetyFloor', /^SAFETY FLOOR/],
  ['massRemovalGuard', /^MASS-REMOVAL GUARD/],
  ['watchFailed', /^watch failed/],
  ['watchExpired', /^watch expired/],
  ['listFailed', /^list failed/],
];

export interface ReplicaEvents {
  log(tag: string, n: number, entry: Record<string, unknown>): void;
  exited(inc: Incarnation): void;
}

export class ReplicaSlot {
  readonly incarnations: Incarnation[] = [];
  private proc: ChildProcess | undefined;

  constructor(
    readonly tag: string,
    private readonly env: () => Record<string, string>,
    private readonly events: ReplicaEvents,
  ) {}

  get current(): Incarnation | undefined {
    const last = this.incarnations[this.incarnations.length - 1];
    return last && last.exitedAt === undefined ? last : undefined;
  }

  /** The incarnation number requests are tagged with (the newest started). */
  get incarnationNumber(): number {
    return this.incarnations.length;
  }

  get running(): boolean {
    return this.current !== undefined;
  }

  start(): Incarnation {
    if (this.current) throw new Error(`replica ${this.tag} is already running`);
    const proc = spawn(process.execPath, [MAIN, 'run'], {
      env: { PATH: process.env.PATH ?? '', ...this.env() },
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: mkdtempSync(join(tmpdir(), 'epictetus-chaos-')), // no stray .env
    });
    const n = this.incarnations.length + 1;
    let resolveExit: () => void = () => undefined;
    const inc: Incarnation = {
      tag: this.tag, n, pid: proc.pid ?? -1, startedAt: Date.now(), identity: undefined, healthPort: undefined, startedUp: false, exitedAt: undefined,
      exitCode: undefined, exitSignal: undefined, endedBy: undefined, paused: false, rss: [], tail: [], counters: {},
      exited: new Promise<void>((r) => { resolveExit = r; }),
    };
    this.incarnations.push(inc);
    this.proc = proc;
    const remember = (line: string) => {
      inc.tail.push(line.length > 600 ? `${line.slice(0, 600)}…` : line);
      if (inc.tail.length > TAIL) inc.tail.shift();
    };
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      remember(line);
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      const msg = typeof entry.msg === 'string' ? entry.msg : '';
      if (msg === 'starting epictetus' && typeof entry.identity === 'string') inc.identity = entry.identity;
      if (/^health server listening/.test(msg) && typeof entry.port === 'number') inc.healthPort = entry.port;
      if (/^(Cloudflare API token verified|could not verify the Cloudflare API token)/.test(msg)) inc.startedUp = true;
      for (const [name, re] of COUNTED) if (re.test(msg)) inc.counters[name] = (inc.counters[name] ?? 0) + 1;
      this.events.log(this.tag, n, entry);
    });
    createInterface({ input: proc.stderr! }).on('line', (line) => remember(`[stderr] ${line}`));
    proc.once('exit', (code, signal) => {
      inc.exitedAt = Date.now();
      inc.exitCode = code;
      inc.exitSignal = signal;
      inc.paused = false;
      this.events.exited(inc);
      resolveExit();
    });
    return inc;
  }

  kill(): Incarnation | undefined {
    const inc = this.current;
    if (!inc || !this.proc) return undefined;
    inc.endedBy = 'sigkill';
    this.proc.kill('SIGKILL');
    return inc;
  }

  pause(): boolean {
    const inc = this.current;
    if (!inc || !this.proc || inc.paused) return false;
    inc.paused = true;
    this.proc.kill('SIGSTOP');
    return true;
  }

  resume(): void {
    const inc = this.current;
    if (!inc || !this.proc || !inc.paused) return;
    inc.paused = false;
    this.proc.kill('SIGCONT');
  }

  /** SIGTERM (after SIGCONT), and wait up to `timeoutMs` for the exit; SIGKILL after that. */
  async stop(timeoutMs = 20_000): Promise<Incarnation | undefined> {
    const inc = this.current;
    if (!inc || !this.proc) return undefined;
    this.resume();
    inc.endedBy = 'sigterm';
    this.proc.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      inc.exited.then(() => false),
      new Promise<boolean>((r) => { timer = setTimeout(() => r(true), timeoutMs); }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      inc.tail.push(`[chaos] no exit ${timeoutMs} ms after SIGTERM: SIGKILL`);
      this.proc.kill('SIGKILL');
      await inc.exited;
    }
    return inc;
  }

  /** Samples the RSS of the running incarnation from /proc. */
  sampleRss(now: number): void {
    const inc = this.current;
    if (!inc) return;
    try {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${inc.pid}/status`, 'utf8'));
      if (m) inc.rss.push([now, Number(m[1])]);
    } catch {
      // it just exited
    }
  }
}
