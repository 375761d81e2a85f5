/** Values the deployment tests render the chart with, and how they build k8s/README.md's overlay. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ROOT } from './tools.js';
import { fakeToken } from '../../src/sim/cloudflare/fake-token.js';

/** A token CLOUDFLARE_API_TOKEN accepts, standing in for a real one. */
export const TOKEN = fakeToken('deploy');
export const WITH_TOKEN = { cloudflare: { apiToken: TOKEN } };
export const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;

/** Every optional feature of the chart on (the token from an existing Secret, mounted as a file). */
export const ALL_FEATURES: Record<string, unknown> = {
  fullnameOverride: 'edge-dns',
  image: { repository: 'registry.example.com/platform/epictetus', tag: '0.1.0', digest: DIGEST },
  cloudflare: { existingSecret: 'cf-token', existingSecretKey: 'token', mountAsFile: true },
  serviceAccount: { annotations: { 'iam.example.com/role': 'dns' } },
  podLabels: { team: 'platform' },
  podAnnotations: { 'example.com/owner': 'platform' },
  extraEnv: [{ name: 'OWNER_ID', valueFrom: { configMapKeyRef: { name: 'cluster-info', key: 'name' } } }, { name: 'NODE_OPTIONS', value: '--max-old-space-size=384' }],
  config: { OWNER_ID: null, DNS_HOSTNAMES: 'app.example.com', HOLD_NODE_DELETION: 'true' },
  metrics: { service: { annotations: { 'example.com/scrape': 'yes' } }, serviceMonitor: { enabled: true, interval: '1m', scrapeTimeout: '20s', labels: { release: 'kube-prometheus-stack' } } },
  priorityClassName: 'system-cluster-critical',
  nodeSelector: { 'kubernetes.io/os': 'linux' },
  tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'dns', effect: 'NoSchedule' }],
  imagePullSecrets: [{ name: 'registry' }],
};

export const KUBECTL = '/usr/bin/kubectl';
export const K8S_DIR = join(ROOT, 'k8s');

/** The overlay files k8s/README.md shows: yaml blocks whose first line is `# my-cluster/<file>`. */
export function readmeOverlayFiles(): Array<{ file: string; text: string }> {
  return [...readFileSync(join(K8S_DIR, 'README.md'), 'utf8').matchAll(/```yaml\n# my-cluster\/([\w.-]+)\n([\s\S]*?)```/g)]
    .map((m) => ({ file: m[1]!, text: m[2]! }));
}

/** `kubectl kustomize` of k8s/README.md's overlay, its base (../epictetus/k8s, a clone next to it) being this repository's k8s/. */
export function buildReadmeOverlay(): string {
  const dir = mkdtempSync(join(tmpdir(), 'epictetus-overlay-'));
  try {
    const overlay = join(dir, 'my-cluster');
    mkdirSync(overlay);
    for (const { file, text } of readmeOverlayFiles()) writeFileSync(join(overlay, file), text.replace('../epictetus/k8s', relative(overlay, K8S_DIR)));
    return execFileSync(KUBECTL, ['kustomize', overlay], { encoding: 'utf8', timeout: 60_000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
