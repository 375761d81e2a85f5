/**
 * Where the Kubernetes connection comes from, resolved as kubectl resolves it, except that a
 * pod's own service account comes before KUBECONFIG and ~/.kube/config:
 *
 *   1. K8S_CONFIG_PATH (an explicit setting) wins;
 *   2. inside a cluster (KUBERNETES_SERVICE_HOST/_PORT set, the service-account token readable)
 *      the in-cluster config;
 *   3. KUBECONFIG, a `:`-separated list merged first-wins per name, as kubectl merges it;
 *   4. ~/.kube/config;
 *   5. else one EPI_KUBECONFIG error saying what was looked for and how to fix it.
 *
 * Only plain settings are read here. A user that needs an exec plugin or an auth-provider is
 * passed on as `plugin`, for @kubernetes/client-node to run when the first call is made.
 */
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYamlText } from 'yaml';
import { EpictetusError } from '../model/errors.js';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export type KubeAuth =
  | { readonly kind: 'none' }
  | { readonly kind: 'token'; readonly token: string }
  /** Re-read while running: the in-cluster service-account token rotates. */
  | { readonly kind: 'token-file'; readonly path: string }
  | { readonly kind: 'basic'; readonly username: string; readonly password: string }
  /** An exec plugin or an auth-provider: @kubernetes/client-node runs it (and is loaded only then). */
  | { readonly kind: 'plugin'; readonly user: string; readonly config: Readonly<Record<string, unknown>> };

export interface KubeTls {
  /** PEM; undefined means the system's roots. */
  readonly ca: Buffer | undefined;
  readonly cert: Buffer | undefined;
  readonly key: Buffer | undefined;
  readonly insecure: boolean;
  readonly serverName: string | undefined;
}

/** Everything needed to reach one API server, as plain data. */
export interface KubeTarget {
  /** e.g. https://10.96.0.1:443 or https://rancher.example/k8s/clusters/c-1 (no trailing slash). */
  readonly server: string;
  readonly tls: KubeTls;
  readonly auth: KubeAuth;
  readonly inCluster: boolean;
  /** The pod's namespace in a cluster, else the context's, else "default". */
  readonly namespace: string;
  /** One line for the start-up log: which source, context and server. */
  readonly description: string;
}

export interface ResolveOptions {
  /** Default: process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** Default: /var/run/secrets/kubernetes.io/serviceaccount. */
  readonly serviceAccountDir?: string;
  /** Default: $HOME, else the user's home directory. */
  readonly homeDir?: string;
}

const NO_TLS: KubeTls = { ca: undefined, cert: undefined, key: undefined, insecure: false, serverName: undefined };

const fail = (message: string): never => {
  throw new EpictetusError('EPI_KUBECONFIG', message);
};

function readable(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/** The connection settings, from the first source that applies (see the file comment). */
export function resolveKubeTarget(explicitPath: string, opts: ResolveOptions = {}): KubeTarget {
  const env = opts.env ?? process.env;
  if (explicitPath !== '') {
    if (!existsSync(explicitPath)) fail(`kubeconfig ${explicitPath} (K8S_CONFIG_PATH) does not exist: point K8S_CONFIG_PATH at a kubeconfig file, or leave it empty`);
    return fromKubeconfig([explicitPath], 'K8S_CONFIG_PATH');
  }
  const saDir = opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const port = env.KUBERNETES_SERVICE_PORT ?? '';
  const tokenPath = join(saDir, 'token');
  const inPod = host !== '' && port !== '';
  if (inPod && readable(tokenPath)) return inCluster(host, port, saDir);

  const looked: string[] = ['K8S_CONFIG_PATH is empty'];
  looked.push(inPod
    ? `KUBERNETES_SERVICE_HOST is set but ${tokenPath} is not readable (is automountServiceAccountToken off?)`
    : 'not inside a cluster (KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT unset)');
  const list = (env.KUBECONFIG ?? '').split(':').filter((p) => p !== '');
  if (list.length > 0) {
    const present = [...new Set(list)].filter((p) => existsSync(p));
    if (present.length > 0) return fromKubeconfig(present, 'KUBECONFIG');
    looked.push(`none of the KUBECONFIG files exist (${list.join(':')})`);
  } else {
    looked.push('KUBECONFIG is not set');
  }
  const home = opts.homeDir ?? (env.HOME || homedir());
  const fallback = join(home, '.kube', 'config');
  if (existsSync(fallback)) return fromKubeconfig([fallback], '~/.kube/config');
  looked.push(`${fallback} does not exist`);
  return fail(`no Kubernetes configuration found: ${looked.join('; ')}. Set K8S_CONFIG_PATH to a kubeconfig file, or run inside a cluster with a service account`);
}

function inCluster(host: string, port: string, dir: string): KubeTarget {
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const caPath = join(dir, 'ca.crt');
  // As client-go: a missing CA file is not fatal (the system's roots are used, and TLS says so).
  const ca = readable(caPath) ? readFileSync(caPath) : undefined;
  const nsPath = join(dir, 'namespace');
  const namespace = (readable(nsPath) ? readFileSync(nsPath, 'utf8').trim() : '') || 'default';
  return {
    server, tls: { ...NO_TLS, ca }, auth: { kind: 'token-file', path: join(dir, 'token') }, inCluster: true, namespace,
    description: `in-cluster service account (${dir}), namespace ${namespace}, server ${server}`,
  };
}

type Doc = Record<string, unknown>;
/** One named entry and the file it came from (relative paths are relative to that file's folder). */
interface Entry { readonly name: string; readonly value: Doc; readonly file: string }

const isDoc = (v: unknown): v is Doc => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseYaml(text: string): unknown {
  return parseYamlText(text);
}

function readKubeconfig(file: string): Doc {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return fail(`cannot read kubeconfig ${file}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    try {
      doc = parseYaml(text);
    } catch (err) {
      return fail(`kubeconfig ${file} is neither YAML nor JSON: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  if (doc === null || doc === undefined) return {};
  if (!isDoc(doc)) return fail(`kubeconfig ${file} is not a kubeconfig (expected a mapping with clusters, contexts and users)`);
  return doc;
}

function entries(doc: Doc, key: 'clusters' | 'contexts' | 'users', inner: 'cluster' | 'context' | 'user', file: string): Entry[] {
  const list = doc[key];
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) return fail(`kubeconfig ${file}: ${key} is not a list`);
  return list.map((item: unknown, i) => {
    if (!isDoc(item) || typeof item.name !== 'string' || item.name === '') return fail(`kubeconfig ${file}: ${key}[${i}] has no name`);
    const value = item[inner] ?? {};
    if (!isDoc(value)) return fail(`kubeconfig ${file}: ${key}[${i}] (${item.name}) has no ${inner} mapping`);
    return { name: item.name, value, file };
  });
}

/** kubectl's merge: the first file to define a name (or current-context) wins. */
function merge(files: readonly string[]) {
  const maps = { clusters: new Map<string, Entry>(), contexts: new Map<string, Entry>(), users: new Map<string, Entry>() };
  let current: { name: string; file: string } | undefined;
  for (const file of files) {
    const doc = readKubeconfig(file);
    const cc = doc['current-context'];
    if (current === undefined && typeof cc === 'string' && cc !== '') current = { name: cc, file };
    for (const e of entries(doc, 'clusters', 'cluster', file)) if (!maps.clusters.has(e.name)) maps.clusters.set(e.name, e);
    for (const e of entries(doc, 'contexts', 'context', file)) if (!maps.contexts.has(e.name)) maps.contexts.set(e.name, e);
    for (const e of entries(doc, 'users', 'user', file)) if (!maps.users.has(e.name)) maps.users.set(e.name, e);
  }
  return { ...maps, current };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const pathIn = (e: Entry, p: string): string => (isAbsolute(p) ? p : resolve(dirname(e.file), p));

function base64(e: Entry, what: string, key: string): Buffer | undefined {
  const data = str(e.value[key]);
  if (data === undefined) return undefined;
  if (!/^[A-Za-z0-9+/=\s]+$/.test(data)) fail(`kubeconfig ${e.file}: ${what} "${e.name}" has ${key} that is not base64`);
  return Buffer.from(data, 'base64');
}

function fileOrData(e: Entry, what: string, fileKey: string, dataKey: string): Buffer | undefined {
  const data = base64(e, what, dataKey);
  if (data !== undefined) return data;
  const file = str(e.value[fileKey]);
  if (file === undefined) return undefined;
  const path = pathIn(e, file);
  try {
    return readFileSync(path);
  } catch (err) {
    return fail(`kubeconfig ${e.file}: ${what} "${e.name}" names ${fileKey} ${path}, which cannot be read: ${(err as Error).message}`);
  }
}

function fromKubeconfig(files: readonly string[], source: string): KubeTarget {
  const where = files.join(':');
  const m = merge(files);
  if (m.current === undefined) {
    return fail(`kubeconfig ${where} sets no current-context: run \`kubectl config use-context NAME\` (contexts: ${[...m.contexts.keys()].join(', ') || 'none'})`);
  }
  const ctx = m.contexts.get(m.current.name);
  if (ctx === undefined) {
    return fail(`kubeconfig ${where}: current-context "${m.current.name}" is not among its contexts (${[...m.contexts.keys()].join(', ') || 'none'})`);
  }
  const clusterName = str(ctx.value.cluster);
  if (clusterName === undefined) return fail(`kubeconfig ${ctx.file}: context "${ctx.name}" names no cluster`);
  const cluster = m.clusters.get(clusterName);
  if (cluster === undefined) return fail(`kubeconfig ${where}: context "${ctx.name}" names cluster "${clusterName}", which is not defined`);
  const userName = str(ctx.value.user);
  const user = userName === undefined ? undefined : m.users.get(userName);
  if (userName !== undefined && user === undefined) return fail(`kubeconfig ${where}: context "${ctx.name}" names user "${userName}", which is not defined`);

  const server = serverUrl(cluster);
  if (cluster.value['proxy-url'] !== undefined) fail(`kubeconfig ${cluster.file}: cluster "${cluster.name}" sets proxy-url, which epictetus does not support`);
  const insecure = cluster.value['insecure-skip-tls-verify'] === true;
  const ca = fileOrData(cluster, 'cluster', 'certificate-authority', 'certificate-authority-data');
  if (insecure && ca !== undefined) {
    fail(`kubeconfig ${cluster.file}: cluster "${cluster.name}" sets both insecure-skip-tls-verify and a certificate authority; keep one (as kubectl requires)`);
  }
  const { tls, auth } = user === undefined ? { tls: { cert: undefined, key: undefined }, auth: { kind: 'none' } as const } : userSettings(user);
  const namespace = str(ctx.value.namespace) ?? 'default';
  return {
    server,
    tls: { ca, ...tls, insecure, serverName: str(cluster.value['tls-server-name']) },
    auth, inCluster: false, namespace,
    description: `kubeconfig ${where} (${source}), context ${ctx.name}, server ${server}`,
  };
}

function serverUrl(cluster: Entry): string {
  const raw = str(cluster.value.server);
  if (raw === undefined) return fail(`kubeconfig ${cluster.file}: cluster "${cluster.name}" has no server`);
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return fail(`kubeconfig ${cluster.file}: cluster "${cluster.name}" has server "${raw}", which is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return fail(`kubeconfig ${cluster.file}: cluster "${cluster.name}" has server "${raw}", which is not http(s)`);
  if (url.search !== '' || url.hash !== '') return fail(`kubeconfig ${cluster.file}: cluster "${cluster.name}" has server "${raw}" with a query or fragment`);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

const IMPERSONATION = ['as', 'as-uid', 'as-groups', 'as-user-extra'];

function userSettings(user: Entry): { tls: { cert: Buffer | undefined; key: Buffer | undefined }; auth: KubeAuth } {
  const u = user.value;
  const named = `user "${user.name}"`;
  const cert = fileOrData(user, 'user', 'client-certificate', 'client-certificate-data');
  const key = fileOrData(user, 'user', 'client-key', 'client-key-data');
  if ((cert === undefined) !== (key === undefined)) fail(`kubeconfig ${user.file}: ${named} has a client ${cert ? 'certificate but no key' : 'key but no certificate'}`);
  const impersonates = IMPERSONATION.find((k) => u[k] !== undefined);
  if (impersonates !== undefined) fail(`kubeconfig ${user.file}: ${named} impersonates (${impersonates}), which epictetus does not support`);
  const tls = { cert, key };
  if (u.exec !== undefined || u['auth-provider'] !== undefined) {
    if (u.exec !== undefined && !isDoc(u.exec)) fail(`kubeconfig ${user.file}: ${named} has an exec entry that is not a mapping`);
    return { tls, auth: { kind: 'plugin', user: user.name, config: u } };
  }
  const token = str(u.token);
  const tokenFile = str(u.tokenFile);
  const username = str(u.username);
  const password = typeof u.password === 'string' ? u.password : '';
  if (username !== undefined && (token !== undefined || tokenFile !== undefined)) {
    fail(`kubeconfig ${user.file}: ${named} sets both a token and a username/password; keep one`);
  }
  // As client-go: a token file, when set, is read (and re-read) in preference to a token.
  if (tokenFile !== undefined) {
    const path = pathIn(user, tokenFile);
    if (!readable(path)) fail(`kubeconfig ${user.file}: ${named} names tokenFile ${path}, which cannot be read`);
    return { tls, auth: { kind: 'token-file', path } };
  }
  if (token !== undefined) return { tls, auth: { kind: 'token', token } };
  if (username !== undefined) return { tls, auth: { kind: 'basic', username, password } };
  return { tls, auth: { kind: 'none' } };
}
