/** The real service as a separate process, as a user runs it, with its logs and probes at hand. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/**
 * The built service. EPICTETUS_TEST_MAIN points the tests at another build (say, an older commit's
 * dist/main.js, to show that a regression test fails there); unset for every ordinary run.
 */
export const MAIN = process.env.EPICTETUS_TEST_MAIN ?? fileURLToPath(new URL('../../dist/main.js', import.meta.url));

export interface LogLine { level: string; time: string; msg: string; [k: string]: unknown }

export class ServiceProcess {
  readonly lines: string[] = [];
  readonly stderr: string[] = [];
  readonly exit: Promise<number | null>;
  private healthPort: number | undefined;

  constructor(readonly proc: ChildProcess) {
    createInterface({ input: proc.stdout! }).on('line', (l) => {
      this.lines.push(l);
      const m = /health server listening on port (\d+)/.exec(l);
      if (m) this.healthPort = Number(m[1]);
    });
    createInterface({ input: proc.stderr! }).on('line', (l) => this.stderr.push(l));
    this.exit = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
  }

  get logs(): LogLine[] {
    return this.lines.flatMap((l) => {
      try { return [JSON.parse(l) as LogLine]; } catch { return []; }
    });
  }

  async waitForLog(pred: (l: LogLine) => boolean, timeoutMs = 15_000): Promise<LogLine> {
    return waitFor(() => this.logs.find(pred), timeoutMs, 'log line');
  }

  async get(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const port = await waitFor(() => this.healthPort, 15_000, 'health port');
    const res = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  /** Any route as text (the status page is HTML, /metrics is Prometheus text). */
  async text(path: string): Promise<{ status: number; body: string }> {
    const port = await waitFor(() => this.healthPort, 15_000, 'health port');
    const res = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: res.status, body: await res.text() };
  }

  async waitReady(timeoutMs = 20_000): Promise<void> {
    await waitFor(async () => (await this.get('/health/ready').catch(() => ({ status: 0 }))).status === 200 || undefined, timeoutMs, 'ready');
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
    return this.exit;
  }
}

export function startService(env: Record<string, string>, args: string[] = ['run']): ServiceProcess {
  const proc = spawn(process.execPath, [MAIN, ...args], {
    env: { PATH: process.env.PATH ?? '', LOG_FORMAT: 'json', LOG_LEVEL: 'DEBUG', HEALTH_PORT: '0', RETRY_DELAY: '0.05', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: mkdtempSync(join(tmpdir(), 'epictetus-cwd-')), // no stray .env
  });
  return new ServiceProcess(proc);
}

/** Polls until `fn` returns something other than undefined (or false). */
export async function waitFor<T>(fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}
