import { writeFileSync } from 'node:fs';

export const CONTEXT_NAME = 'epictetus-sim';

/**
 * A kubeconfig for the simulator. It is JSON, which is valid YAML, so kubectl and
 * @kubernetes/client-node read it without a YAML writer here.
 */
export function kubeconfig(server: string, token?: string): object {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    // client-node 2.x refuses plain http:// servers unless the cluster skips TLS verification.
    clusters: [{ name: CONTEXT_NAME, cluster: { server, 'insecure-skip-tls-verify': true } }],
    users: [{ name: CONTEXT_NAME, user: token === undefined ? {} : { token } }],
    contexts: [{ name: CONTEXT_NAME, context: { cluster: CONTEXT_NAME, user: CONTEXT_NAME, namespace: 'default' } }],
    'current-context': CONTEXT_NAME,
  };
}

export function writeKubeconfig(path: string, server: string, token?: string): void {
  writeFileSync(path, `${JSON.stringify(kubeconfig(server, token), null, 2)}\n`, { mode: 0o600 });
}
