/**
 * A real kube-apiserver (with an embedded etcd) as a test fixture, like envtest for Go
 * controllers: test/kube-apiserver/ is a small Go program around Kubernetes' own
 * StartTestServer. It is built once with Go from the module proxy (many minutes the first
 * time) into .cache/kube-apiserver/<version>/ (git-ignored) and reused afterwards (a start
 * then takes seconds). Without Go, `buildKubeApiserver` says so and tests can skip.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const KUBE_APISERVER_DIR = fileURLToPath(new URL('../kube-apiserver/', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The Kubernetes release the Go program pins (k8s.io/kubernetes in its go.mod), e.g. "v1.33.13". */
export function pinnedVersion(): string {
  const gomod = readFileSync(join(KUBE_APISERVER_DIR, 'go.mod'), 'utf8');
  const m = /^\s*k8s\.io\/kubernetes (v\d+\.\d+\.\d+)\s*$/m.exec(gomod);
  if (!m?.[1]) throw new Error(`no k8s.io/kubernetes version in ${KUBE_APISERVER_DIR}go.mod`);
  return m[1];
}

/** Where the build goes: .cache/kube-apiserver/<version>/kube-apiserver-test. */
export function binaryPath(version = pinnedVersion()): string {
  return join(REPO_ROOT, '.cache', 'kube-apiserver', version, 'kube-apiserver-test');
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The `go` command, looked for as build.sh does: $KUBE_APISERVER_GO when set (a path; one
 * that is not executable means "no Go"), else `go` on PATH, $GOROOT/bin/go, /usr/local/go/bin/go.
 */
export function findGo(): string | undefined {
  const chosen = process.env.KUBE_APISERVER_GO;
  if (chosen !== undefined && chosen !== '') return executable(chosen) ? chosen : undefined;
  const onPath = (process.env.PATH ?? '').split(delimiter).filter((d) => d !== '').map((d) => join(d, 'go'));
  const goroot = process.env.GOROOT ? [join(process.env.GOROOT, 'bin', 'go')] : [];
  return [...onPath, ...goroot, '/usr/local/go/bin/go'].find(executable);
}

export type BuildResult =
  | { readonly ok: true; readonly binary: string; readonly version: string; readonly ms: number }
  /** Go is not installed: tests should skip, saying `reason`. */
  | { readonly ok: false; readonly reason: string };

export interface BuildOptions {
  /** Progress lines (default: to stderr). */
  readonly log?: (line: string) => void;
}

/**
 * Builds the binary unless an up-to-date one is cached (build.sh decides, under a lock, so
 * parallel runs build once; a cached build needs no Go). Resolves `ok: false` with a clear
 * reason when Go is missing; rejects, with the end of the build's output, when Go is there
 * but the build fails.
 */
export async function buildKubeApiserver(opts: BuildOptions = {}): Promise<BuildResult> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`[kube-apiserver] ${line}\n`));
  const version = pinnedVersion();
  const binary = binaryPath(version);
  const t0 = Date.now();
  const tail: string[] = [];
  let packages = 0;
  const code = await new Promise<number | null>((resolve) => {
    const proc = spawn('bash', [join(KUBE_APISERVER_DIR, 'build.sh'), binary], {
      env: { ...process.env, BUILD_VERBOSE: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const ticker = setInterval(() => log(`still building: ${Math.round((Date.now() - t0) / 1000)} s, ${packages} packages compiled`), 30_000);
    createInterface({ input: proc.stderr }).on('line', (line) => {
      tail.push(line);
      if (tail.length > 40) tail.shift();
      if (line.startsWith('build.sh:')) log(line);
      else if (!line.includes(' ') && !line.startsWith('#')) packages++; // `go build -v` names each package it compiles
      else log(line);
    });
    proc.on('error', (err) => { tail.push(String(err)); });
    proc.on('close', (c) => { clearInterval(ticker); resolve(c); });
  });
  if (code === 127 && findGo() === undefined) {
    const where = process.env.KUBE_APISERVER_GO ? `KUBE_APISERVER_GO=${process.env.KUBE_APISERVER_GO} is not executable` : 'no `go` on PATH, in $GOROOT/bin or /usr/local/go/bin';
    return { ok: false, reason: `Go is not installed (${where}) and no up-to-date build is cached: the real kube-apiserver cannot be built` };
  }
  if (code !== 0) throw new Error(`building the kube-apiserver failed (exit ${code}; see test/kube-apiserver/build.sh):\n${tail.join('\n')}`);
  return { ok: true, binary, version, ms: Date.now() - t0 };
}

export interface KubeApiserver {
  /** https://127.0.0.1:PORT (a TCP relay that keeps this address across restarts). */
  readonly url: string;
  /** CA data and a bearer token of a system:masters user. */
  readonly kubeconfigPath: string;
  /** The gitVersion on /version, e.g. "v1.33.13". */
  readonly version: string;
  /** The server's log (stderr), for failure messages. */
  readonly stderr: readonly string[];
  /** A new apiserver on the same etcd and address: connections cut, a fresh watch cache. */
  restart(): Promise<void>;
  /** Compacts etcd at its current revision; resolves that revision. */
  compact(): Promise<number>;
  stop(): Promise<void>;
}

interface ServerEvent { event: string; [k: string]: unknown }

/** Starts the built binary; resolves once it serves (default limit 120 s). */
export async function startKubeApiserver(binary: string, opts: { timeoutMs?: number } = {}): Promise<KubeApiserver> {
  const dir = mkdtempSync(join(tmpdir(), 'kube-apiserver-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  const proc: ChildProcess = spawn(binary, ['-kubeconfig', kubeconfigPath], { stdio: ['pipe', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  createInterface({ input: proc.stderr! }).on('line', (line) => {
    stderr.push(line);
    if (stderr.length > 2000) stderr.splice(0, 1000);
  });
  const waiters: Array<{ want: string; resolve: (e: ServerEvent) => void; reject: (err: Error) => void }> = [];
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => {
    for (const w of waiters.splice(0)) w.reject(new Error(`kube-apiserver exited (${code}) while waiting for "${w.want}":\n${stderr.slice(-30).join('\n')}`));
    resolve(code);
  }));
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    let event: ServerEvent;
    try {
      event = JSON.parse(line) as ServerEvent;
    } catch {
      return;
    }
    const i = waiters.findIndex((w) => w.want === event.event || event.event === 'error');
    if (i < 0) return;
    const [w] = waiters.splice(i, 1);
    if (event.event === 'error' && w?.want !== 'error') w?.reject(new Error(`kube-apiserver: ${String(event.message)}`));
    else w?.resolve(event);
  });
  const next = (want: string, timeoutMs: number): Promise<ServerEvent> => new Promise((resolve, reject) => {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      reject(new Error(`kube-apiserver is not running:\n${stderr.slice(-30).join('\n')}`));
      return;
    }
    const timer = setTimeout(() => {
      const i = waiters.indexOf(waiter);
      if (i >= 0) waiters.splice(i, 1);
      reject(new Error(`kube-apiserver: no "${want}" within ${timeoutMs} ms:\n${stderr.slice(-30).join('\n')}`));
    }, timeoutMs);
    const waiter = {
      want,
      resolve: (e: ServerEvent) => { clearTimeout(timer); resolve(e); },
      reject: (err: Error) => { clearTimeout(timer); reject(err); },
    };
    waiters.push(waiter);
  });
  const command = async (cmd: string, want: string): Promise<ServerEvent> => {
    const answer = next(want, 120_000);
    proc.stdin!.write(`${cmd}\n`);
    return answer;
  };
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  let ready: ServerEvent;
  try {
    ready = await next('ready', opts.timeoutMs ?? 120_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url: String(ready.url),
    kubeconfigPath,
    version: String(ready.version),
    stderr,
    async restart() {
      await command('restart', 'restarted');
    },
    async compact() {
      return Number((await command('compact', 'compacted')).revision);
    },
    stop,
  };
}
