/** The namespace this process runs in: the service account's, or `default` outside a cluster. */
import { existsSync, readFileSync } from 'node:fs';

const SA_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export function podNamespace(): string {
  return existsSync(SA_NAMESPACE_FILE) ? readFileSync(SA_NAMESPACE_FILE, 'utf8').trim() : 'default';
}
