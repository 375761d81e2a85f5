import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeSim, type KubeSimOptions } from '../../src/sim/kube/index.js';

export interface SimHarness {
  sim: KubeSim;
  kubeconfig: string;
  stop(): Promise<void>;
}

/** A simulator with a kubeconfig file in a fresh temporary directory. */
export async function startSim(opts: KubeSimOptions = {}): Promise<SimHarness> {
  const sim = await KubeSim.start(opts);
  const dir = mkdtempSync(join(tmpdir(), 'kube-sim-'));
  const kubeconfig = join(dir, 'kubeconfig');
  sim.writeKubeconfig(kubeconfig);
  return {
    sim,
    kubeconfig,
    async stop() {
      await sim.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the machine's kubectl against a kubeconfig; the dispatcher may be slow the first time. */
export function kubectl(kubeconfig: string, args: string[], timeoutMs = 30_000): Promise<KubectlResult> {
  return new Promise((resolve) => {
    execFile('/usr/bin/kubectl', ['--kubeconfig', kubeconfig, ...args], { timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export async function waitFor<T>(check: () => T | undefined | false, timeoutMs = 5_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface RawEvent {
  type: string;
  object: Record<string, unknown> & { metadata?: Record<string, unknown> };
}

/** A watch read with plain node:http, to see exactly what the server streams and how it ends. */
export class RawWatch {
  readonly events: RawEvent[] = [];
  status = 0;
  headers: Record<string, string | string[] | undefined> = {};
  /** 'clean': the chunked body ended properly; 'cut': the connection died mid-stream. */
  ended: 'clean' | 'cut' | undefined;
  private readonly req;

  constructor(url: string, headers: Record<string, string> = {}) {
    this.req = request(url, { headers }, (res) => {
      this.status = res.statusCode ?? 0;
      this.headers = res.headers;
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          if (line.trim() !== '') this.events.push(JSON.parse(line) as RawEvent);
        }
      });
      res.on('error', () => undefined);
      res.on('close', () => {
        this.ended ??= res.complete ? 'clean' : 'cut';
      });
    });
    this.req.on('error', () => {
      this.ended ??= 'cut';
    });
    this.req.end();
  }

  ofType(type: string): RawEvent[] {
    return this.events.filter((e) => e.type === type);
  }

  waitForEvents(count: number, timeoutMs = 5_000): Promise<RawEvent[]> {
    return waitFor(() => this.events.length >= count && this.events, timeoutMs, `${count} watch events`);
  }

  waitForEnd(timeoutMs = 5_000): Promise<'clean' | 'cut'> {
    return waitFor(() => this.ended, timeoutMs, 'the watch to end');
  }

  close(): void {
    this.req.destroy();
  }
}

/** fetch() returning status and parsed JSON body. */
export async function call(
  url: string,
  init: { method?: string; body?: unknown; contentType?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.body !== undefined) headers['Content-Type'] = init.contentType ?? 'application/json';
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: res.headers };
}
