/**
 * The real service (`node dist/main.js run`) as a separate process, measured from outside: its
 * logs go to a file (as a container runtime would keep them), its health and metrics are read
 * over HTTP, its memory and CPU from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Inspector } from './inspector.js';
import { waitFor } from './progress.js';

/** The service the README's `npm start` runs, built by `npm run build`. */
export const MAIN = fileURLToPath(new URL('../../../dist/main.js', import.meta.url));

export interface LogRecord {
  /** debug, info, warn, error or fatal. */
  readonly level?: string;
  /** ISO 8601, UTC. */
  readonly time?: string;
  readonly msg?: string;
  readonly [key: string]: unknown;
}

/** Reads a growing file line by line. */
class Tail {
  private offset = 0;
  private partial = '';
  readonly lines: string[] = [];

  constructor(private readonly path: string) {}

  poll(): void {
    const fd = openSync(this.path, 'r');
    try {
      const buf = Buffer.alloc(1 << 20);
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, this.offset);
        if (n <= 0) break;
        this.offset += n;
        const text = this.partial + buf.toString('utf8', 0, n);
        const parts = text.split('\n');
        this.partial = parts.pop() ?? '';
        for (const line of parts) if (line !== '') this.lines.push(line);
      }
    } finally {
      closeSync(fd);
    }
  }
}

export interface ServiceOptions {
  /** Environment on top of a bare one (PATH only): the simulators' variables, settings. */
  readonly env: Readonly<Record<string, string>>;
  /** Start with `--inspect-port=127.0.0.1:0`, so that `inspector()` can read the heap later. */
  readonly inspectable?: boolean;
  /** More Node.js options (e.g. --cpu-prof) for diagnosis. */
  readonly nodeArgs?: readonly string[];
  /** Leave the log files (`logDir`) in place when the service stops. */
  readonly keepLogs?: boolean;
}

export class Service {
  readonly proc: ChildProcess;
  /** performance.now() and Date.now() at spawn. */
  readonly spawnedAt: number;
  readonly spawnedWall: number;
  /** Where stdout.log and stderr.log are written. */
  readonly logDir: string;
  private readonly keepLogs: boolean;
  private readonly stdout: Tail;
  private readonly stderr: Tail;
  private readonly exit: Promise<number | null>;
  private port: number | undefined;
  private inspectorClient: Inspector | undefined;

  constructor(opts: ServiceOptions) {
    this.logDir = mkdtempSync(join(tmpdir(), 'epictetus-bench-'));
    this.keepLogs = opts.keepLogs ?? false;
    const out = openSync(join(this.logDir, 'stdout.log'), 'w');
    const err = openSync(join(this.logDir, 'stderr.log'), 'w');
    const args = [...(opts.inspectable ? ['--inspect-port=127.0.0.1:0'] : []), ...(opts.nodeArgs ?? []), MAIN, 'run'];
    this.spawnedAt = performance.now();
    this.spawnedWall = Date.now();
    this.proc = spawn(process.execPath, args, {
      env: { PATH: process.env.PATH ?? '', LOG_FORMAT: 'json', LOG_LEVEL: 'info', HEALTH_PORT: '0', ...opts.env },
      stdio: ['ignore', out, err],
      cwd: this.logDir, // no stray .env
    });
    closeSync(out);
    closeSync(err);
    this.stdout = new Tail(join(this.logDir, 'stdout.log'));
    this.stderr = new Tail(join(this.logDir, 'stderr.log'));
    this.exit = new Promise((resolve) => this.proc.once('exit', (code) => resolve(code)));
  }

  get pid(): number {
    if (this.proc.pid === undefined) throw new Error('the service did not start');
    return this.proc.pid;
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Every log line so far, parsed (lines that are not JSON are skipped). */
  logs(): LogRecord[] {
    this.stdout.poll();
    return this.stdout.lines.flatMap((l) => {
      try {
        return [JSON.parse(l) as LogRecord];
      } catch {
        return [];
      }
    });
  }

  /** The first log line with this message, if it has been written. */
  logLine(msg: string): LogRecord | undefined {
    return this.logs().find((l) => l.msg === msg);
  }

  private failIfExited(): void {
    if (!this.running) {
      this.stderr.poll();
      this.stdout.poll();
      const tail = [...this.stdout.lines.slice(-5), ...this.stderr.lines.slice(-10)].join('\n');
      throw new Error(`the service exited (code ${String(this.proc.exitCode)}, signal ${String(this.proc.signalCode)}):\n${tail}`);
    }
  }

  async healthPort(timeoutMs = 30_000): Promise<number> {
    this.port ??= await waitFor(() => {
      this.failIfExited();
      this.stdout.poll();
      for (const line of this.stdout.lines) {
        const m = /health server listening on port (\d+)/.exec(line);
        if (m) return Number(m[1]);
      }
      return undefined;
    }, timeoutMs, 'the health port', 10);
    return this.port;
  }

  async get(path: string): Promise<{ status: number; text: string }> {
    const port = await this.healthPort();
    const res = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: res.status, text: await res.text() };
  }

  /** Milliseconds from spawn until /health/ready answers 200. */
  async waitReady(timeoutMs = 120_000): Promise<number> {
    await this.healthPort(timeoutMs);
    return waitFor(async () => {
      this.failIfExited();
      const { status } = await this.get('/health/ready').catch(() => ({ status: 0 }));
      return status === 200 ? performance.now() - this.spawnedAt : undefined;
    }, timeoutMs, 'the service to be ready', 10);
  }

  /** Sum of each metric's samples (all label sets), or of those whose labels contain `labelFilter`. */
  async metric(name: string, labelFilter = ''): Promise<number> {
    const { text } = await this.get('/metrics');
    let sum = 0;
    for (const line of text.split('\n')) {
      if (line.startsWith('#')) continue;
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
      if (m && m[1] === name && (m[2] ?? '').includes(labelFilter)) sum += Number(m[3]);
    }
    return sum;
  }

  /** Activates the inspector (SIGUSR1) on first use and connects to it. */
  async inspector(): Promise<Inspector> {
    if (this.inspectorClient) return this.inspectorClient;
    this.proc.kill('SIGUSR1');
    const url = await waitFor(() => {
      this.failIfExited();
      this.stderr.poll();
      for (const line of this.stderr.lines) {
        const m = /Debugger listening on (ws:\/\/\S+)/.exec(line);
        if (m) return m[1];
      }
      return undefined;
    }, 10_000, 'the inspector', 10);
    this.inspectorClient = await Inspector.connect(url ?? '');
    return this.inspectorClient;
  }

  /** SIGTERM, as Kubernetes stops a pod; resolves with the exit code. */
  async stop(): Promise<number | null> {
    this.inspectorClient?.close();
    if (this.running) this.proc.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([this.exit, new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), 20_000); })]);
    clearTimeout(timer);
    if (code === 'timeout') {
      this.proc.kill('SIGKILL');
      return this.exit;
    }
    if (!this.keepLogs) rmSync(this.logDir, { recursive: true, force: true });
    return code;
  }
}
