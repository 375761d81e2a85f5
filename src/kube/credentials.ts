/**
 * What each request presents: a bearer token (fixed, or read from a file that rotates), basic
 * auth, or whatever an exec plugin / auth-provider yields (through @kubernetes/client-node,
 * imported only for such users).
 */
import { readFileSync } from 'node:fs';
import { EpictetusError, errorMessage } from '../model/errors.js';
import type { KubeAuth } from './kubeconfig.js';

export interface Presented {
  readonly authorization?: string | undefined;
  /** A client certificate an exec plugin handed out (PEM). */
  readonly cert?: string | Buffer | undefined;
  readonly key?: string | Buffer | undefined;
}

export interface Credentials {
  current(): Promise<Presented>;
  /** After a 401: re-reads what can change; true when the next request presents something new. */
  refresh(): Promise<boolean>;
}

/** The service-account token is re-read at least this often (kubelet rotates it). */
export const TOKEN_FILE_REREAD_MS = 60_000;

export function credentialsFor(auth: KubeAuth, server: string, now: () => number = () => performance.now()): Credentials {
  switch (auth.kind) {
    case 'none':
      return { current: async () => ({}), refresh: async () => false };
    case 'token':
      return { current: async () => ({ authorization: `Bearer ${auth.token}` }), refresh: async () => false };
    case 'basic': {
      const authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
      return { current: async () => ({ authorization }), refresh: async () => false };
    }
    case 'token-file':
      return tokenFile(auth.path, now);
    case 'plugin':
      return pluginCredentials(auth.user, auth.config, server);
  }
}

function tokenFile(path: string, now: () => number): Credentials {
  let token: string | undefined;
  let readAt = -Infinity;
  const read = (): void => {
    try {
      const text = readFileSync(path, 'utf8').trim();
      if (text === '') throw new Error('the file is empty');
      token = text;
    } catch (err) {
      // A rotation caught half-way keeps the token that worked; with none yet, say why.
      if (token === undefined) throw new EpictetusError('EPI_KUBE_AUTH', `cannot read the Kubernetes token file ${path}: ${errorMessage(err)}`, { retryable: true, cause: err });
    }
    readAt = now();
  };
  return {
    async current() {
      if (now() - readAt >= TOKEN_FILE_REREAD_MS) read();
      return { authorization: `Bearer ${token}` };
    },
    async refresh() {
      const before = token;
      read();
      return token !== before;
    },
  };
}

interface PluginConfig {
  applyToHTTPSOptions(opts: { headers?: Record<string, unknown>; cert?: unknown; key?: unknown }): Promise<void>;
}

/**
 * exec plugins and auth-providers run through client-node's KubeConfig, loaded on first use:
 * a kubeconfig without them never loads it (it weighs ~80 MB of RSS).
 */
function pluginCredentials(user: string, config: Readonly<Record<string, unknown>>, server: string): Credentials {
  let loading: Promise<PluginConfig> | undefined;
  const load = async (): Promise<PluginConfig> => {
    const k8s = await import('@kubernetes/client-node');
    const kc = new k8s.KubeConfig();
    kc.loadFromOptions({
      // Only its credentials are used (our own client makes the calls, with our TLS settings);
      // skipTLSVerify just keeps it from refusing an http:// server while it builds an agent.
      clusters: [{ name: 'epictetus', server, skipTLSVerify: true }],
      users: [{ name: user, exec: config.exec, authProvider: config['auth-provider'] }],
      contexts: [{ name: 'epictetus', cluster: 'epictetus', user }],
      currentContext: 'epictetus',
    });
    return kc;
  };
  return {
    async current() {
      loading ??= load();
      const opts: { headers?: Record<string, unknown>; cert?: unknown; key?: unknown } = {};
      try {
        await (await loading).applyToHTTPSOptions(opts);
      } catch (err) {
        loading = undefined;
        throw new EpictetusError('EPI_KUBE_AUTH', `the kubeconfig user "${user}" could not get credentials from its ${config.exec !== undefined ? 'exec plugin' : 'auth-provider'}: ${errorMessage(err)}`, { retryable: true, cause: err });
      }
      const authorization = opts.headers?.Authorization ?? opts.headers?.authorization;
      const pem = (v: unknown) => (typeof v === 'string' || Buffer.isBuffer(v) ? v : undefined);
      return { authorization: typeof authorization === 'string' ? authorization : undefined, cert: pem(opts.cert), key: pem(opts.key) };
    },
    async refresh() {
      // A fresh KubeConfig has empty plugin caches: the next request runs the plugin again.
      loading = undefined;
      return true;
    },
  };
}
