/** Where the connection comes from: K8S_CONFIG_PATH, in-cluster, KUBECONFIG (merged), ~/.kube/config; clear errors. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadKubeConfig } from '../../src/kube/api.js';
import { resolveKubeTarget, type KubeTarget } from '../../src/kube/kubeconfig.js';
import { EpictetusError } from '../../src/model/errors.js';

let dir: string;
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'epictetus-kubeconfig-')); });
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const b64 = (s: string) => Buffer.from(s).toString('base64');

function file(rel: string, content: string | object): string {
  const path = join(dir, rel);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

function kubeconfig(opts: { current?: string; clusters?: object[]; users?: object[]; contexts?: object[] } = {}): object {
  return {
    apiVersion: 'v1', kind: 'Config',
    ...(opts.current !== undefined ? { 'current-context': opts.current } : { 'current-context': 'dev' }),
    clusters: opts.clusters ?? [{ name: 'c', cluster: { server: 'https://127.0.0.1:6443', 'certificate-authority-data': b64('CA-PEM') } }],
    users: opts.users ?? [{ name: 'u', user: { token: 'tok-123' } }],
    contexts: opts.contexts ?? [{ name: 'dev', context: { cluster: 'c', user: 'u' } }],
  };
}

/** A service-account folder as the kubelet mounts it. */
function serviceAccount(token = 'sa-token'): string {
  file('sa/token', token);
  file('sa/ca.crt', 'CLUSTER-CA');
  file('sa/namespace', 'dns\n');
  return join(dir, 'sa');
}

const IN_CLUSTER_ENV = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };

function error(fn: () => unknown): EpictetusError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(EpictetusError);
    expect((err as EpictetusError).code).toBe('EPI_KUBECONFIG');
    expect((err as EpictetusError).message).not.toContain('\n');
    return err as EpictetusError;
  }
  throw new Error('expected EPI_KUBECONFIG');
}

const resolve = (path: string, env: NodeJS.ProcessEnv, extra: { sa?: string; home?: string } = {}): KubeTarget =>
  resolveKubeTarget(path, { env, serviceAccountDir: extra.sa ?? join(dir, 'no-sa'), homeDir: extra.home ?? join(dir, 'home') });

describe('which configuration is used', () => {
  it('K8S_CONFIG_PATH wins over a cluster, KUBECONFIG and ~/.kube/config', () => {
    const explicit = file('explicit.json', kubeconfig());
    file('home/.kube/config', kubeconfig({ current: 'x' }));
    const t = resolve(explicit, { ...IN_CLUSTER_ENV, KUBECONFIG: file('other.json', kubeconfig()) }, { sa: serviceAccount(), home: join(dir, 'home') });
    expect(t.inCluster).toBe(false);
    expect(t.description).toBe(`kubeconfig ${explicit} (K8S_CONFIG_PATH), context dev, server https://127.0.0.1:6443`);
    expect(loadKubeConfig(explicit, { env: {} }).describe()).toBe(t.description);
  });

  it('inside a cluster uses the service account before KUBECONFIG and ~/.kube/config', () => {
    const sa = serviceAccount();
    const t = resolve('', { ...IN_CLUSTER_ENV, KUBECONFIG: file('k.json', kubeconfig()) }, { sa });
    expect(t).toMatchObject({ server: 'https://10.96.0.1:443', inCluster: true, namespace: 'dns', auth: { kind: 'token-file', path: join(sa, 'token') } });
    expect(t.tls.ca?.toString()).toBe('CLUSTER-CA');
    expect(t.description).toBe(`in-cluster service account (${sa}), namespace dns, server https://10.96.0.1:443`);
    expect(resolve('', { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' }, { sa }).server).toBe('https://[fd00::1]:6443');
  });

  it('is not in a cluster when the token cannot be read, and says so when nothing else is found', () => {
    const sa = join(dir, 'empty-sa');
    mkdirSync(sa);
    const err = error(() => resolve('', IN_CLUSTER_ENV, { sa }));
    expect(err.message).toBe(`no Kubernetes configuration found: K8S_CONFIG_PATH is empty; KUBERNETES_SERVICE_HOST is set but ${join(sa, 'token')} is not readable (is automountServiceAccountToken off?); KUBECONFIG is not set; ${join(dir, 'home', '.kube', 'config')} does not exist. Set K8S_CONFIG_PATH to a kubeconfig file, or run inside a cluster with a service account`);
  });

  it('outside a cluster with nothing configured fails with one line that says what was looked for', () => {
    const err = error(() => resolve('', { KUBECONFIG: `${join(dir, 'a')}:${join(dir, 'b')}` }));
    expect(err.message).toContain('not inside a cluster (KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT unset)');
    expect(err.message).toContain(`none of the KUBECONFIG files exist (${join(dir, 'a')}:${join(dir, 'b')})`);
    expect(err.message).toContain('Set K8S_CONFIG_PATH to a kubeconfig file');
  });

  it('falls back to ~/.kube/config', () => {
    const path = file('home/.kube/config', kubeconfig());
    expect(resolve('', {}, { home: join(dir, 'home') }).description).toBe(`kubeconfig ${path} (~/.kube/config), context dev, server https://127.0.0.1:6443`);
  });

  it('merges the KUBECONFIG list first-wins per name, skipping files that do not exist', () => {
    const first = file('one/config.json', {
      'current-context': 'second-ctx',
      clusters: [{ name: 'shared', cluster: { server: 'https://first.example:6443', 'certificate-authority': 'ca.pem' } }],
    });
    file('one/ca.pem', 'FIRST-CA');
    const second = file('two/config.json', {
      'current-context': 'ignored',
      clusters: [{ name: 'shared', cluster: { server: 'https://second.example:6443' } }],
      contexts: [{ name: 'second-ctx', context: { cluster: 'shared', user: 'me', namespace: 'apps' } }],
      users: [{ name: 'me', user: { tokenFile: 'token' } }],
    });
    file('two/token', 'file-token');
    const t = resolve('', { KUBECONFIG: `${join(dir, 'missing')}:${first}::${second}` });
    expect(t.server).toBe('https://first.example:6443');
    expect(t.tls.ca?.toString()).toBe('FIRST-CA'); // relative to the file that defined the cluster
    expect(t.auth).toEqual({ kind: 'token-file', path: join(dir, 'two', 'token') }); // relative to its own file
    expect(t.namespace).toBe('apps');
    expect(t.description).toBe(`kubeconfig ${first}:${second} (KUBECONFIG), context second-ctx, server https://first.example:6443`);
  });
});

describe('a kubeconfig file', () => {
  it('is read as YAML, as kubectl writes it', () => {
    const path = file('config.yaml', `apiVersion: v1
kind: Config
current-context: kind-dev
clusters:
- name: kind-dev
  cluster:
    server: https://127.0.0.1:39821/
    certificate-authority-data: ${b64('CA')}
    tls-server-name: kube.test
contexts:
- context: {cluster: kind-dev, user: kind-dev}
  name: kind-dev
users:
- name: kind-dev
  user:
    client-certificate-data: ${b64('CERT')}
    client-key-data: ${b64('KEY')}
`);
    const t = resolve(path, {});
    expect(t.server).toBe('https://127.0.0.1:39821');
    expect(t.tls).toEqual({ ca: Buffer.from('CA'), cert: Buffer.from('CERT'), key: Buffer.from('KEY'), insecure: false, serverName: 'kube.test' });
    expect(t.auth).toEqual({ kind: 'none' });
  });

  it('reads each kind of user', () => {
    const user = (u: object) => resolve(file(`u-${Math.random()}.json`, kubeconfig({ users: [{ name: 'u', user: u }] })), {});
    expect(user({ token: 't' }).auth).toEqual({ kind: 'token', token: 't' });
    expect(user({ username: 'admin', password: 'pw' }).auth).toEqual({ kind: 'basic', username: 'admin', password: 'pw' });
    file('cert.pem', 'CERT');
    file('key.pem', 'KEY');
    expect(user({ 'client-certificate': 'cert.pem', 'client-key': join(dir, 'key.pem') }).tls).toMatchObject({ cert: Buffer.from('CERT'), key: Buffer.from('KEY') });
    const exec = { apiVersion: 'client.authentication.k8s.io/v1', command: 'aws', args: ['eks', 'get-token'] };
    expect(user({ exec }).auth).toEqual({ kind: 'plugin', user: 'u', config: { exec } });
    expect(user({ 'auth-provider': { name: 'oidc', config: {} } }).auth).toMatchObject({ kind: 'plugin', user: 'u' });
    expect(resolve(file('server-only.json', kubeconfig({ clusters: [{ name: 'c', cluster: { server: 'kube.example:6443', 'insecure-skip-tls-verify': true } }] })), {}))
      .toMatchObject({ server: 'https://kube.example:6443', tls: { insecure: true, ca: undefined } });
  });

  it('that is bad or incomplete is EPI_KUBECONFIG naming the file and the problem', () => {
    const bad = (name: string, content: string | object) => error(() => resolve(file(name, content), {})).message;
    const p = (name: string) => join(dir, name);
    expect(bad('a.yaml', 'clusters: [unclosed')).toMatch(new RegExp(`^kubeconfig ${p('a.yaml')} is neither YAML nor JSON: `));
    expect(bad('b.json', kubeconfig({ current: '' }))).toBe(`kubeconfig ${p('b.json')} sets no current-context: run \`kubectl config use-context NAME\` (contexts: dev)`);
    expect(bad('c.json', kubeconfig({ current: 'prod' }))).toBe(`kubeconfig ${p('c.json')}: current-context "prod" is not among its contexts (dev)`);
    expect(bad('d.json', kubeconfig({ clusters: [] }))).toBe(`kubeconfig ${p('d.json')}: context "dev" names cluster "c", which is not defined`);
    expect(bad('e.json', kubeconfig({ users: [] }))).toBe(`kubeconfig ${p('e.json')}: context "dev" names user "u", which is not defined`);
    expect(bad('f.json', kubeconfig({ clusters: [{ name: 'c', cluster: {} }] }))).toBe(`kubeconfig ${p('f.json')}: cluster "c" has no server`);
    expect(bad('g.json', kubeconfig({ clusters: [{ name: 'c', cluster: { server: 'https://x', 'certificate-authority': 'nope.pem' } }] })))
      .toMatch(new RegExp(`^kubeconfig ${p('g.json')}: cluster "c" names certificate-authority ${p('nope.pem')}, which cannot be read: ENOENT`));
    expect(bad('h.json', kubeconfig({ users: [{ name: 'u', user: { 'client-certificate-data': b64('C') } }] }))).toBe(`kubeconfig ${p('h.json')}: user "u" has a client certificate but no key`);
    expect(bad('i.json', kubeconfig({ users: [{ name: 'u', user: { token: 't', username: 'a' } }] }))).toBe(`kubeconfig ${p('i.json')}: user "u" sets both a token and a username/password; keep one`);
    expect(bad('j.json', kubeconfig({ clusters: [{ name: 'c', cluster: { server: 'https://x', 'insecure-skip-tls-verify': true, 'certificate-authority-data': b64('CA') } }] })))
      .toContain('sets both insecure-skip-tls-verify and a certificate authority');
    expect(bad('k.json', kubeconfig({ clusters: [{ name: 'c', cluster: { server: 'https://x', 'certificate-authority-data': 'not base64!' } }] })))
      .toBe(`kubeconfig ${p('k.json')}: cluster "c" has certificate-authority-data that is not base64`);
    expect(bad('l.json', kubeconfig({ users: [{ name: 'u', user: { tokenFile: 'missing-token' } }] }))).toBe(`kubeconfig ${p('l.json')}: user "u" names tokenFile ${p('missing-token')}, which cannot be read`);
    expect(bad('m.json', { clusters: 'x' })).toBe(`kubeconfig ${p('m.json')}: clusters is not a list`);
    expect(bad('n.json', '[1, 2]')).toBe(`kubeconfig ${p('n.json')} is not a kubeconfig (expected a mapping with clusters, contexts and users)`);
    expect(bad('o.json', kubeconfig({ users: [{ name: 'u', user: { token: 't', as: 'admin' } }] }))).toContain('user "u" impersonates (as)');
    expect(bad('q.json', kubeconfig({ clusters: [{ name: 'c', cluster: { server: 'ftp://x' } }] }))).toBe(`kubeconfig ${p('q.json')}: cluster "c" has server "ftp://x", which is not http(s)`);
    expect(error(() => resolve(p('absent.json'), {})).message).toBe(`kubeconfig ${p('absent.json')} (K8S_CONFIG_PATH) does not exist: point K8S_CONFIG_PATH at a kubeconfig file, or leave it empty`);
  });

  it('that cannot be read says why', () => {
    const path = join(dir, 'a-folder');
    mkdirSync(path);
    expect(error(() => resolve(path, {})).message).toBe(`cannot read kubeconfig ${path}: EISDIR: illegal operation on a directory, read`);
  });
});
